#include "faultproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_PAIRS 64

struct pair {
    int client, server; /* server -1: a black-holed connection */
};

struct fproxy {
    int listen_fd, target_port;
    struct sockaddr_in target;
    pthread_t thread;
    pthread_mutex_t mu;
    struct pair pairs[MAX_PAIRS];
    int n;
    _Atomic int mode, stop, cut_all, accepted;
};

static void pair_close(struct fproxy *p, int i)
{
    close(p->pairs[i].client);
    if (p->pairs[i].server >= 0)
        close(p->pairs[i].server);
    p->pairs[i] = p->pairs[--p->n];
}

static void accept_one(struct fproxy *p)
{
    int c = accept(p->listen_fd, NULL, NULL);
    if (c < 0)
        return;
    atomic_fetch_add(&p->accepted, 1);
    int mode = atomic_load(&p->mode);
    if (mode == FP_REFUSE || p->n == MAX_PAIRS) {
        close(c);
        return;
    }
    int s = -1;
    if (mode != FP_BLACKHOLE) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&p->target, sizeof p->target) != 0) {
            close(s);
            close(c);
            return;
        }
    }
    p->pairs[p->n++] = (struct pair){c, s};
}

/* Move what is readable on from to to; 0 when from closed. Never waits
 * for bytes: the one proxy thread serves every pair, and a read that
 * blocked on one socket would freeze all the others. */
static int pump(int from, int to, int cut_half)
{
    char buf[65536];
    ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 1;
    if (n <= 0)
        return 0;
    ssize_t want = cut_half ? (n > 1 ? n / 2 : 1) : n, off = 0;
    while (off < want) {
        ssize_t w = write(to, buf + off, (size_t)(want - off));
        if (w <= 0)
            return 0;
        off += w;
    }
    return !cut_half;
}

static void *run(void *arg)
{
    struct fproxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd fds[1 + 2 * MAX_PAIRS];
        int map[1 + 2 * MAX_PAIRS];
        int nf = 0;
        pthread_mutex_lock(&p->mu);
        if (atomic_exchange(&p->cut_all, 0))
            while (p->n)
                pair_close(p, p->n - 1);
        int mode = atomic_load(&p->mode);
        fds[nf].fd = p->listen_fd;
        fds[nf].events = POLLIN;
        map[nf++] = -1;
        for (int i = 0; i < p->n; i++) {
            /* frozen: watch nothing, so bytes wait in the kernel */
            short ev = mode == FP_FREEZE ? 0 : POLLIN;
            fds[nf].fd = p->pairs[i].client;
            fds[nf].events = ev;
            map[nf++] = 2 * i;
            if (p->pairs[i].server >= 0) {
                fds[nf].fd = p->pairs[i].server;
                fds[nf].events = ev;
                map[nf++] = 2 * i + 1;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (poll(fds, (nfds_t)nf, 5) <= 0)
            continue;
        pthread_mutex_lock(&p->mu);
        if (fds[0].revents & POLLIN)
            accept_one(p);
        /* Pairs that ended are closed after every event was served: closing
         * one moves the last pair into its slot, so closing at once made a
         * later event of the closed pair act on the moved one. */
        char dead[MAX_PAIRS] = {0};
        for (int k = nf - 1; k >= 1; k--) {
            if (!fds[k].revents)
                continue;
            int i = map[k] / 2, from_server = map[k] % 2;
            if (i >= p->n || dead[i])
                continue;
            struct pair *pr = &p->pairs[i];
            int ok;
            if (pr->server < 0) { /* black hole: swallow */
                char sink[4096];
                ssize_t r = recv(pr->client, sink, sizeof sink, MSG_DONTWAIT);
                ok = r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
            } else if (from_server) {
                int cut = atomic_load(&p->mode) == FP_CUT_MID;
                ok = pump(pr->server, pr->client, cut);
                if (cut)
                    atomic_store(&p->mode, FP_PASS);
            } else {
                ok = pump(pr->client, pr->server, 0);
            }
            if (!ok)
                dead[i] = 1;
        }
        /* Highest first: what moves into a closed slot is a live pair. */
        for (int i = p->n - 1; i >= 0; i--)
            if (i < MAX_PAIRS && dead[i])
                pair_close(p, i);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

struct fproxy *fproxy_start(const char *host, int port)
{
    struct fproxy *p = calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->target.sin_family = AF_INET;
    p->target.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &p->target.sin_addr);
    p->target_port = port;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->listen_fd, 64) != 0)
        abort();
    pthread_create(&p->thread, NULL, run, p);
    return p;
}

int fproxy_port(const struct fproxy *p)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

void fproxy_set_mode(struct fproxy *p, enum fp_mode mode)
{
    atomic_store(&p->mode, (int)mode);
}

void fproxy_cut_all(struct fproxy *p)
{
    atomic_store(&p->cut_all, 1);
    while (atomic_load(&p->cut_all))
        usleep(1000);
}

int fproxy_accepted(struct fproxy *p)
{
    return atomic_load(&p->accepted);
}

void fproxy_stop(struct fproxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    while (p->n)
        pair_close(p, p->n - 1);
    close(p->listen_fd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int fproxy_server_port(void)
{
    const char *ci = getenv("PRD_PG_TCP_CONNINFO");
    if (!ci)
        return -1;
    PQconninfoOption *o = PQconninfoParse(ci, NULL);
    int port = -1;
    for (PQconninfoOption *k = o; k && k->keyword; k++)
        if (!strcmp(k->keyword, "port") && k->val)
            port = atoi(k->val);
    PQconninfoFree(o);
    return port;
}

void fproxy_conninfo(const struct fproxy *p, char *out, size_t cap)
{
    const char *pw = getenv("PRD_PG_PASSWORD");
    snprintf(out, cap, "host=127.0.0.1 port=%d user=postgres dbname=postgres password=%s",
             fproxy_port(p), pw ? pw : "");
}
