/* A TCP proxy the pg tests put between the pool and the server, to make
 * the network misbehave on cue: pass, refuse, black hole, freeze, or cut
 * a reply in the middle. One thread; loopback only. */
#ifndef PRD_TEST_FAULTPROXY_H
#define PRD_TEST_FAULTPROXY_H

#include <stddef.h>

enum fp_mode {
    FP_PASS = 0,      /* forward both ways */
    FP_REFUSE = 1,    /* new connections: accepted and closed at once */
    FP_BLACKHOLE = 2, /* new connections: accepted, never answered */
    FP_FREEZE = 3,    /* nothing moves on any connection (bytes wait) */
    FP_CUT_MID = 4    /* the next server reply is cut after half of it,
                         and that connection closed */
};

struct fproxy;
/* Listen on 127.0.0.1 (a free port) and forward to host:port. */
struct fproxy *fproxy_start(const char *host, int port);
int fproxy_port(const struct fproxy *p);
void fproxy_set_mode(struct fproxy *p, enum fp_mode mode);
/* Close every proxied connection now. */
void fproxy_cut_all(struct fproxy *p);
/* Connections accepted so far. */
int fproxy_accepted(struct fproxy *p);
void fproxy_stop(struct fproxy *p);

/* A conninfo through the proxy for the pg-temp server over TCP (with its
 * password), written into out. */
void fproxy_conninfo(const struct fproxy *p, char *out, size_t cap);
/* The pg-temp server's TCP port (PRD_PG_TCP_CONNINFO). */
int fproxy_server_port(void);

#endif
