/*
 * login-server: the whole flow in one small program, on libmicrohttpd.
 *
 *   POST /register  user=&password=   Argon2id hash (owasp preset), kept in memory
 *   POST /login     user=&password=   login guard (per-IP attempts, per-account
 *                                     failures, backoff), verify or dummy-verify for
 *                                     unknown users, rehash on login, session cookie
 *   GET  /me                          the session's user (idle + absolute timeouts)
 *   POST /logout                      revokes the session
 *
 * Every request is logged as one JSON line on stderr; passwords never
 * appear (they are PRD_F_SECRET, and redaction would catch them anyway).
 * Usage: login-server [PORT]   (loopback only; 0 picks a free port, printed)
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prodready.h"

#define MAX_USERS 1024
#define FORM_MAX 4096

struct user {
    char name[64];
    char hash[PRD_PASSWORD_HASH_SIZE];
};

static struct {
    pthread_mutex_t mu;
    struct user users[MAX_USERS];
    size_t n;
    prd_password_policy *pol;
    prd_login_guard *guard;
    prd_token_store *store;
    prd_token_sessions *sessions;
    prd_logger *log;
} app = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Collected request body. */
struct body {
    char data[FORM_MAX + 1];
    size_t len;
    int too_big;
};

static struct user *find_user(const char *name)
{
    for (size_t i = 0; i < app.n; i++)
        if (strcmp(app.users[i].name, name) == 0)
            return &app.users[i];
    return NULL;
}

/* Decode one application/x-www-form-urlencoded field into out. */
static int form_field(const char *body, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || p[nl] != '=')
            continue;
        const char *v = p + nl + 1;
        size_t k = 0;
        while (*v && *v != '&' && k + 1 < cap) {
            if (*v == '+') {
                out[k++] = ' ';
                v++;
            } else if (*v == '%' && v[1] && v[2]) {
                char hx[3] = {v[1], v[2], 0};
                out[k++] = (char)strtol(hx, NULL, 16);
                v += 3;
            } else {
                out[k++] = *v++;
            }
        }
        out[k] = '\0';
        return 1;
    }
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text,
                             const char *cookie, const prd_rl_decision *limited)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    if (limited) {
        char ra[32];
        prd_limiter_retry_after_header(limited, ra, sizeof ra);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *client_ip(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    (void)ci;
    return "127.0.0.1"; /* loopback only in this example; use the socket address in real life */
}

static enum MHD_Result do_register(struct MHD_Connection *c, const char *form)
{
    char user[64], pw[1024];
    if (!form_field(form, "user", user, sizeof user) || !form_field(form, "password", pw, sizeof pw) ||
        !*user || strlen(pw) < 8)
        return reply(c, 400, "need user and a password of 8+ characters\n", NULL, NULL);
    char hash[PRD_PASSWORD_HASH_SIZE];
    prd_status st = prd_password_hash(app.pol, pw, strlen(pw), hash, sizeof hash);
    prd_memzero(pw, sizeof pw);
    if (st != PRD_OK) {
        PRD_LOG_ERROR(app.log, "hash failed", PRD_F_STATUS("status", st));
        return reply(c, st == PRD_EBUSY ? 503 : 500, "try again\n", NULL, NULL);
    }
    pthread_mutex_lock(&app.mu);
    int exists = find_user(user) != NULL, full = app.n == MAX_USERS;
    if (!exists && !full) {
        snprintf(app.users[app.n].name, sizeof app.users[app.n].name, "%s", user);
        memcpy(app.users[app.n].hash, hash, sizeof hash);
        app.n++;
    }
    pthread_mutex_unlock(&app.mu);
    PRD_LOG_INFO(app.log, "register", PRD_F_STR("user", user), PRD_F_BOOL("created", !exists && !full));
    return exists ? reply(c, 409, "taken\n", NULL, NULL) : reply(c, 201, "created\n", NULL, NULL);
}

static enum MHD_Result do_login(struct MHD_Connection *c, const char *form)
{
    char user[64], pw[1024];
    if (!form_field(form, "user", user, sizeof user) || !form_field(form, "password", pw, sizeof pw))
        return reply(c, 400, "need user and password\n", NULL, NULL);
    const char *ip = client_ip(c);
    prd_login_attempt att;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    prd_status gst = prd_login_guard_check(app.guard, user, strlen(user), ip, strlen(ip), &att, &d);
    if (gst != PRD_OK) {
        prd_memzero(pw, sizeof pw);
        if (gst != PRD_ELIMITED)
            return reply(c, 503, "try again\n", NULL, NULL);
        PRD_LOG_WARN(app.log, "login throttled", PRD_F_STR("user", user),
                     PRD_F_INT("retry_after_ms", d.retry_after_ms));
        return reply(c, 429, "too many attempts\n", NULL, &d);
    }
    char stored[PRD_PASSWORD_HASH_SIZE] = "";
    pthread_mutex_lock(&app.mu);
    struct user *u = find_user(user);
    if (u)
        memcpy(stored, u->hash, sizeof stored);
    pthread_mutex_unlock(&app.mu);
    prd_status st;
    char fresh[PRD_PASSWORD_HASH_SIZE];
    int upgraded = 0;
    if (u)
        st = prd_password_verify_and_upgrade(app.pol, pw, strlen(pw), stored, fresh, sizeof fresh, &upgraded);
    else
        st = prd_password_verify_dummy(app.pol, pw, strlen(pw)); /* same time: no user enumeration */
    PRD_LOG_INFO(app.log, "login", PRD_F_STR("user", user), PRD_F_SECRET("password", pw),
                 PRD_F_STATUS("status", st));
    prd_memzero(pw, sizeof pw);
    if (st != PRD_OK) {
        /* A failure to record is logged; the answer stays the same. */
        prd_status gs = prd_status_is_client_error(st) ? prd_login_guard_failure(app.guard, &att)
                                                       : prd_login_guard_abandon(app.guard, &att);
        if (gs != PRD_OK)
            PRD_LOG_WARN(app.log, "login guard", PRD_F_STATUS("status", gs));
        return reply(c, st == PRD_EBUSY ? 503 : 401, "invalid user or password\n", NULL, NULL);
    }
    prd_status gs = prd_login_guard_success(app.guard, &att);
    if (gs != PRD_OK)
        PRD_LOG_WARN(app.log, "login guard", PRD_F_STATUS("status", gs));
    if (upgraded) {
        pthread_mutex_lock(&app.mu);
        u = find_user(user);
        if (u && strcmp(u->hash, stored) == 0) /* compare-and-swap */
            memcpy(u->hash, fresh, sizeof fresh);
        pthread_mutex_unlock(&app.mu);
    }
    char token[PRD_OPAQUE_TOKEN_SIZE], cookie[PRD_OPAQUE_TOKEN_SIZE + 64];
    if (prd_token_session_create(app.sessions, user, token, sizeof token) != PRD_OK)
        return reply(c, 503, "try again\n", NULL, NULL);
    snprintf(cookie, sizeof cookie, "session=%s; HttpOnly; Secure; SameSite=Strict; Path=/", token);
    return reply(c, 200, "welcome\n", cookie, NULL);
}

static const char *session_cookie(struct MHD_Connection *c)
{
    return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "session");
}

static enum MHD_Result do_me(struct MHD_Connection *c)
{
    const char *tok = session_cookie(c);
    char subject[PRD_SESSION_SUBJECT_SIZE];
    prd_status st = tok ? prd_token_session_validate(app.sessions, tok, strlen(tok), subject, sizeof subject)
                        : PRD_EBADTOKEN;
    if (st == PRD_EEXPIRED)
        return reply(c, 401, "session expired, log in again\n", NULL, NULL);
    if (st != PRD_OK)
        return reply(c, 401, "not logged in\n", NULL, NULL);
    char text[PRD_SESSION_SUBJECT_MAX + 2];
    snprintf(text, sizeof text, "%s\n", subject);
    return reply(c, 200, text, NULL, NULL);
}

static enum MHD_Result do_logout(struct MHD_Connection *c)
{
    const char *tok = session_cookie(c);
    prd_status st = tok ? prd_token_session_revoke(app.sessions, tok, strlen(tok)) : PRD_OK;
    if (st != PRD_OK && st != PRD_EBADTOKEN) /* a bad cookie has nothing to revoke */
        PRD_LOG_WARN(app.log, "logout", PRD_F_STATUS("status", st));
    return reply(c, 200, "bye\n", "session=; Max-Age=0; Path=/", NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
    (void)cls;
    (void)version;
    struct body *b = *state;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return MHD_NO;
        *state = b;
        return MHD_YES;
    }
    if (*size) {
        if (b->len + *size > FORM_MAX)
            b->too_big = 1;
        else {
            memcpy(b->data + b->len, data, *size);
            b->len += *size;
        }
        *size = 0;
        return MHD_YES;
    }
    b->data[b->len] = '\0';
    int post = strcmp(method, "POST") == 0;
    if (b->too_big)
        return reply(c, 413, "too large\n", NULL, NULL);
    if (post && strcmp(url, "/register") == 0)
        return do_register(c, b->data);
    if (post && strcmp(url, "/login") == 0)
        return do_login(c, b->data);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/me") == 0)
        return do_me(c);
    if (post && strcmp(url, "/logout") == 0)
        return do_logout(c);
    return reply(c, 404, "not found\n", NULL, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    if (*state) {
        prd_memzero(*state, sizeof(struct body)); /* bodies held passwords */
        free(*state);
    }
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 8080;
    if (prd_init() != PRD_OK || prd_logger_new(&app.log) != PRD_OK ||
        prd_password_policy_new(NULL, &app.pol) != PRD_OK ||
        prd_login_guard_new(10000, &app.guard) != PRD_OK ||
        prd_token_store_new_memory(10000, &app.store) != PRD_OK ||
        prd_token_sessions_new(app.store, "sess", &app.sessions) != PRD_OK) {
        fprintf(stderr, "login-server: cannot initialise\n");
        return 1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                            0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &addr,
                                            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                            MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "login-server: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on http://127.0.0.1:%u\n", info ? info->port : port);
    fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    prd_token_sessions_free(app.sessions);
    prd_token_store_free(app.store);
    prd_login_guard_free(app.guard);
    prd_password_policy_free(app.pol);
    prd_logger_free(app.log);
    return 0;
}
