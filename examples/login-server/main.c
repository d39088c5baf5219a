/*
 * login-server: the production-ready login service on PostgreSQL, the
 * reference for services and framework authors (docs/operations.md).
 *
 * Configuration, all from the environment:
 *   PRD_DB               libpq conninfo; empty or unset: libpq's PG* variables
 *   PRD_LISTEN           HOST:PORT (default 127.0.0.1:8080; port 0 picks one)
 *   PRD_TOKEN_KEY        a PASERK (k4.local or k4.secret) the service must load
 *   PRD_TOKEN_KEY_FILE   the same, read from a file (first line)
 *   PRD_TRUSTED_PROXIES  comma-separated addresses whose X-Forwarded-For is believed
 *   PRD_LOGIN_LIMIT      login attempts per client address per minute (default 30)
 *   PRD_IDLE_TIMEOUT     seconds a connection may stay silent (default 15)
 *   PRD_PASSWORD_BUDGET_KIB, PRD_PASSWORD_WAIT_MS
 *                        Argon2 memory for hashes at once (default 8 x 19 MiB)
 *                        and how long a login waits for room (default 2000)
 * The first line on standard output is "listening on http://HOST:PORT";
 * everything else (one JSON line per request) goes to standard error.
 * SIGTERM or SIGINT: stop accepting, finish what is in flight, close the pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "app.h"

struct app app;
extern atomic_int in_flight;

static int die(const char *what, prd_status st, const prd_pg_error *err)
{
    fprintf(stderr, "login-server: %s: %s%s%s\n", what, prd_status_str(st),
            err && prd_pg_error_message(err)[0] ? ": " : "", err ? prd_pg_error_message(err) : "");
    return 1;
}

static int load_key(void)
{
    const char *k = getenv("PRD_TOKEN_KEY");
    char line[512] = "";
    const char *file = getenv("PRD_TOKEN_KEY_FILE");
    if ((!k || !*k) && file && *file) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(line, sizeof line, f)) {
            fprintf(stderr, "login-server: PRD_TOKEN_KEY_FILE: cannot read %s\n", file);
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        k = line;
    }
    prd_status st = prd_keyring_new(&app.ring);
    if (st == PRD_OK && k && *k) {
        prd_token_key *key = NULL;
        st = prd_token_key_from_paserk(k, &key);
        if (st == PRD_OK)
            st = prd_keyring_add(app.ring, key, 1);
        prd_token_key_free(key);
        if (st != PRD_OK)
            fprintf(stderr, "login-server: PRD_TOKEN_KEY: not a PASERK key (%s)\n",
                    prd_status_str(st));
    }
    prd_memzero(line, sizeof line);
    return st == PRD_OK ? 0 : -1;
}

static int load_proxies(void)
{
    const char *v = getenv("PRD_TRUSTED_PROXIES");
    if (!v || !*v)
        return 0;
    char list[2048];
    if (strlen(v) >= sizeof list)
        return -1;
    snprintf(list, sizeof list, "%s", v);
    char *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (app.n_proxies == MAX_PROXIES)
            return -1;
        struct in_addr a4;
        unsigned char *a = app.proxies[app.n_proxies];
        if (inet_pton(AF_INET, t, &a4) == 1) {
            memset(a, 0, 10);
            a[10] = a[11] = 0xff;
            memcpy(a + 12, &a4, 4);
        } else if (inet_pton(AF_INET6, t, a) != 1) {
            fprintf(stderr, "login-server: PRD_TRUSTED_PROXIES: not an address: %s\n", t);
            return -1;
        }
        app.n_proxies++;
    }
    return 0;
}

/* HOST:PORT or [V6]:PORT. */
static int parse_listen(const char *v, char *host, size_t size, int *port)
{
    const char *colon = strrchr(v, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - v);
    if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') {
        v++;
        hl -= 2;
    }
    if (hl == 0 || hl >= size)
        return -1;
    memcpy(host, v, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static prd_status setup(const char *conninfo, long login_limit, prd_pg_error *err)
{
    prd_status st = prd_logger_new(&app.log);
    if (st == PRD_OK)
        st = prd_logger_set_fd(app.log, 2);
    if (st != PRD_OK)
        return st;
    prd_pg_config *cfg = NULL;
    st = prd_pg_config_new(conninfo, &cfg);
    if (st == PRD_OK) {
        /* every wait bounded: a silent database costs a request seconds, not forever */
        if (st == PRD_OK) st = prd_pg_config_set_max_size(cfg, 16);
        if (st == PRD_OK) st = prd_pg_config_set_min_size(cfg, 1);
        if (st == PRD_OK) st = prd_pg_config_set_acquire_timeout_ms(cfg, 2000);
        if (st == PRD_OK) st = prd_pg_config_set_connect_timeout_ms(cfg, 3000);
        if (st == PRD_OK) st = prd_pg_config_set_statement_timeout_ms(cfg, 5000);
        if (st == PRD_OK) st = prd_pg_config_set_query_timeout_ms(cfg, 6000);
        if (st == PRD_OK) st = prd_pg_config_set_application_name(cfg, "login-server");
        if (st == PRD_OK) st = prd_pg_config_set_name(cfg, "main");
        if (st == PRD_OK) st = prd_pg_config_set_logger(cfg, app.log);
        if (st == PRD_OK)
            st = prd_pg_pool_new(cfg, &app.pool, err);
    }
    prd_pg_config_free(cfg);
    if (st != PRD_OK)
        return st;
    if ((st = users_migrate(err)) != PRD_OK)
        return st;
    /* Argon2id at OWASP's parameters; a full budget answers 503 within 2 s */
    const char *bk = getenv("PRD_PASSWORD_BUDGET_KIB"), *bw = getenv("PRD_PASSWORD_WAIT_MS");
    long budget = bk && *bk ? strtol(bk, NULL, 10) : 8 * 19456;
    long wait = bw && *bw ? strtol(bw, NULL, 10) : 2000;
    if (budget < 1 || wait < 0 || wait > 60000)
        return PRD_EINVAL;
    if ((st = prd_password_policy_new("owasp", &app.pw)) != PRD_OK ||
        (st = prd_password_policy_set_budget(app.pw, (uint64_t)budget, (uint32_t)wait)) != PRD_OK)
        return st;
    if ((st = prd_token_store_new_pg(app.pool, &app.store)) != PRD_OK ||
        (st = prd_token_sessions_new(app.store, "sess", &app.sessions)) != PRD_OK)
        return st;
    if ((st = prd_login_guard_new(100000, &app.guard)) != PRD_OK ||
        (st = prd_login_guard_set_logger(app.guard, app.log)) != PRD_OK ||
        (st = prd_login_guard_set_pg(app.guard, app.pool)) != PRD_OK)
        return st;
    prd_limiter_config *lc = NULL;
    st = prd_limiter_config_new(&lc);
    if (st == PRD_OK)
        st = prd_limiter_config_add_rule(lc, "login-ip", (uint64_t)login_limit, 60000, PRD_RL_EXACT);
    if (st == PRD_OK)
        st = prd_limiter_config_set_max_keys(lc, 16);
    if (st == PRD_OK)
        st = prd_limiter_new(lc, &app.ip_rules);
    if (st == PRD_OK)
        st = prd_limiter_config_set_max_keys(lc, 100000);
    if (st == PRD_OK)
        st = prd_rl_pg_new(lc, app.pool, &app.ip_limit);
    prd_limiter_config_free(lc);
    return st;
}

static void teardown(void)
{
    prd_rl_pg_free(app.ip_limit);
    prd_limiter_free(app.ip_rules);
    prd_login_guard_free(app.guard);
    prd_token_sessions_free(app.sessions);
    prd_token_store_free(app.store);
    prd_password_policy_free(app.pw);
    if (app.pool && prd_pg_pool_close(app.pool, 5000) != PRD_OK)
        fprintf(stderr, "login-server: connections still in use at close\n");
    prd_pg_pool_free(app.pool);
    prd_keyring_free(app.ring);
    prd_logger_free(app.log);
}

int main(void)
{
    /* SIGTERM and SIGINT go to sigwait below, not to a server thread */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *listen = getenv("PRD_LISTEN");
    char host[64];
    int port = 0;
    if (parse_listen(listen && *listen ? listen : "127.0.0.1:8080", host, sizeof host, &port)) {
        fprintf(stderr, "login-server: PRD_LISTEN: want HOST:PORT, got %s\n", listen);
        return 2;
    }
    const char *ll = getenv("PRD_LOGIN_LIMIT");
    long login_limit = ll && *ll ? strtol(ll, NULL, 10) : 30;
    if (login_limit < 1 || login_limit > 1000000) {
        fprintf(stderr, "login-server: PRD_LOGIN_LIMIT: want 1 .. 1000000\n");
        return 2;
    }
    const char *it = getenv("PRD_IDLE_TIMEOUT");
    long idle_s = it && *it ? strtol(it, NULL, 10) : 15;
    if (idle_s < 1 || idle_s > 3600) {
        fprintf(stderr, "login-server: PRD_IDLE_TIMEOUT: want 1 .. 3600 seconds\n");
        return 2;
    }
    if (load_proxies() || load_key())
        return 2;
    const char *db = getenv("PRD_DB");
    prd_pg_error *err = NULL;
    if (prd_pg_error_new(&err) != PRD_OK)
        return 1;
    prd_status st = setup(db ? db : "", login_limit, err);
    if (st != PRD_OK) {
        int rc = die("start", st, err);
        prd_pg_error_free(err);
        teardown();
        return rc;
    }
    prd_pg_error_free(err);
    int bound = 0;
    struct MHD_Daemon *d = http_start(host, port, (unsigned)idle_s, &bound);
    if (!d) {
        fprintf(stderr, "login-server: cannot listen on %s:%d\n", host, port);
        teardown();
        return 1;
    }
    printf(strchr(host, ':') ? "listening on http://[%s]:%d\n" : "listening on http://%s:%d\n",
           host, bound);
    fflush(stdout);
    PRD_LOG_INFO(app.log, "started", PRD_F_STR("listen", host), PRD_F_INT("port", bound));

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    atomic_store(&app.stopping, 1);
    PRD_LOG_INFO(app.log, "stopping", PRD_F_INT("signal", sig));
    MHD_quiesce_daemon(d); /* no new connections; those open finish */
    for (int i = 0; i < 1000 && atomic_load(&in_flight) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    PRD_LOG_INFO(app.log, "stopped");
    teardown();
    return 0;
}
