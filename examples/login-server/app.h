/*
 * login-server: the state every part of the service shares, and the
 * functions each file gives the others. One job per file:
 *   main.c    configuration from the environment, start, SIGTERM
 *   http.c    libmicrohttpd glue: bodies and their limits, answers,
 *             client addresses, request ids, one log line per request
 *   json.c    strict JSON request bodies
 *   users.c   the application's schema and its queries
 *   routes.c  signup, login, sessions, password reset
 *   ops.c     /healthz, /readyz, /metrics
 */
#ifndef LOGIN_SERVER_APP_H
#define LOGIN_SERVER_APP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "prodready.h"

#define BODY_MAX (16 * 1024)      /* request bodies, NIST-sized passwords fit */
#define PASSWORD_MIN 8            /* characters (NIST SP 800-63B) */
#define PASSWORD_MAX 1024
#define EMAIL_MAX 254             /* RFC 5321's path limit */
#define USER_ID_SIZE 37           /* a UUID's text and the NUL */
#define MAX_PROXIES 16

struct app {
    prd_logger *log;
    prd_pg_pool *pool;
    prd_password_policy *pw;
    prd_token_store *store;
    prd_token_sessions *sessions;
    prd_login_guard *guard;
    prd_rl_pg *ip_limit;   /* per-address limit on /login, shared by every instance */
    prd_limiter *ip_rules; /* the same rules in process: writes their headers */
    prd_keyring *ring;     /* PRD_TOKEN_KEY: signs nothing the client keeps; see main.c */
    unsigned char proxies[MAX_PROXIES][16]; /* trusted proxies, IPv4 mapped into IPv6 */
    size_t n_proxies;
    atomic_int stopping;
};
extern struct app app;

/* A request being answered. */
struct req {
    char id[33];             /* X-Request-Id: 16 random bytes in hex */
    const char *method;
    const char *route;       /* the route's pattern, or "other" */
    char client[64];         /* the client address (after trusted proxies) */
    char user_id[USER_ID_SIZE];
    char *body;
    size_t body_len;
    int too_big;
    int64_t start_ns;
    /* the answer */
    int status;
    char *resp;              /* malloc'd body */
    size_t resp_len;
    const char *content_type;
    char headers[8][2][320]; /* extra headers: name, value */
    int n_headers;
    char error_detail[256];  /* 5xx: what went wrong, for the log only */
};

/* Answers (http.c). */
void reply_json(struct req *r, int status, json_t *body); /* takes body */
void reply_problem(struct req *r, int status, const char *title, const char *detail);
void reply_empty(struct req *r, int status);
void reply_internal(struct req *r, const char *what, prd_status st);
void add_header(struct req *r, const char *name, const char *value);
const char *request_cookie(struct req *r, const char *name);

/* Strict JSON bodies (json.c): NULL (and a 400 answered) when the body
 * is not one JSON object of strings with the keys wanted. */
json_t *body_object(struct req *r);
const char *body_string(struct req *r, json_t *obj, const char *key, size_t *len);
/* body_object and body_string for one or two fields (k2 may be NULL). */
json_t *body_fields(struct req *r, const char *k1, const char **v1, size_t *l1, const char *k2,
                    const char **v2, size_t *l2);
int valid_email(const char *s, size_t len);
size_t utf8_chars(const char *s, size_t len);

/* Schema and queries (users.c). */
prd_status users_migrate(prd_pg_error *err);
/* PRD_OK with the row, PRD_ENOTFOUND, or the pool's errors. */
prd_status user_by_email(const char *email, char id[USER_ID_SIZE], char hash[PRD_PASSWORD_HASH_SIZE]);
prd_status user_by_id(const char *id, char *email, size_t email_size);
/* PRD_OK (created), PRD_ECONFLICT (the address is taken: a notice is in
 * the outbox instead), or the pool's errors. */
prd_status user_create(const char *email, const char *hash);
prd_status user_set_hash(const char *id, const char *hash, const char *old_hash);
prd_status outbox_put(const char *email, const char *kind, const char *token);

/* Routes (routes.c, ops.c). */
void route_signup(struct req *r);
void route_login(struct req *r);
void route_me(struct req *r);
void route_logout(struct req *r);
void route_logout_all(struct req *r);
void route_reset_request(struct req *r);
void route_reset_confirm(struct req *r);
void route_healthz(struct req *r);
void route_readyz(struct req *r);
void route_metrics(struct req *r);

/* Request metrics (ops.c). */
void metrics_observe(const char *route, int status, int64_t ns);

/* The HTTP server (http.c). */
struct MHD_Daemon;
struct MHD_Daemon *http_start(const char *host, int port, unsigned idle_s, int *bound_port);

#endif
