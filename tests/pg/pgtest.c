#include "pgtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "support/testutil.h"

/*
 * Without a server the whole suite is skipped, loudly, before any case
 * runs: exit 77 makes meson report it as SKIP (not OK with most of its
 * cases silently skipped), with the reason on stderr. Under scripts/test
 * (PRD_TEST_REQUIRE=1) or in CI a missing server is a failure.
 */
__attribute__((constructor)) static void pgt_require_server(void)
{
    const char *ci = getenv("PRD_PG_CONNINFO");
    if (ci && *ci)
        return;
    const char *req = getenv("PRD_TEST_REQUIRE");
    if ((req && strcmp(req, "1") == 0) || getenv("CI")) {
        fprintf(stderr, "FAILED: PRD_PG_CONNINFO is not set and this suite needs PostgreSQL: "
                        "run it under scripts/pg-temp\n");
        exit(1);
    }
    fprintf(stderr, "SKIPPED: every case of this suite needs PostgreSQL and PRD_PG_CONNINFO is "
                    "not set (run: scripts/pg-temp -- meson test -C build)\n");
    exit(77);
}

const char *pgt_conninfo(void)
{
    const char *ci = getenv("PRD_PG_CONNINFO");
    if (!ci || !*ci)
        fail_msg("PRD_PG_CONNINFO is not set: run under scripts/pg-temp");
    return ci;
}

prd_pg_config *pgt_config(void)
{
    prd_pg_config *cfg = NULL;
    assert_ok(prd_pg_config_new(pgt_conninfo(), &cfg));
    assert_ok(prd_pg_config_set_max_size(cfg, 4));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 5000));
    /* One name per suite: the suites run in parallel against one server,
     * and a test that terminates "its" sessions by name must not reach
     * another suite's. */
    extern char *program_invocation_short_name;
    char name[64];
    snprintf(name, sizeof name, "prd_%s", program_invocation_short_name);
    assert_ok(prd_pg_config_set_application_name(cfg, name));
    return cfg;
}

prd_pg_pool *pgt_pool(prd_pg_config *cfg)
{
    prd_pg_pool *pool = NULL;
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    prd_status st = prd_pg_pool_new(cfg, &pool, err);
    if (st != PRD_OK)
        fail_msg("pool: %s: %s", prd_status_name(st), prd_pg_error_message(err));
    prd_pg_error_free(err);
    return pool;
}

static PGconn *direct(void)
{
    PGconn *c = PQconnectdb(pgt_conninfo());
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("direct connection: %s", PQerrorMessage(c));
    return c;
}

void pgt_exec(const char *sql)
{
    PGconn *c = direct();
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

long pgt_scalar(const char *sql)
{
    PGconn *c = direct();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

void pgt_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

static void capture(void *ud, const char *line, size_t len)
{
    struct pgt_log *cap = ud;
    pthread_mutex_lock(&cap->lock);
    char *t = realloc(cap->text, cap->len + len + 2);
    if (t) {
        memcpy(t + cap->len, line, len);
        t[cap->len + len] = '\n';
        t[cap->len + len + 1] = '\0';
        cap->text = t;
        cap->len += len + 1;
    }
    pthread_mutex_unlock(&cap->lock);
}

prd_logger *pgt_log_new(struct pgt_log *cap)
{
    memset(cap, 0, sizeof *cap);
    pthread_mutex_init(&cap->lock, NULL);
    prd_logger *lg;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_callback(lg, capture, cap));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    return lg;
}

void pgt_log_free(prd_logger *lg, struct pgt_log *cap)
{
    prd_logger_free(lg);
    free(cap->text);
    pthread_mutex_destroy(&cap->lock);
}

int pgt_log_has(struct pgt_log *cap, const char *s)
{
    pthread_mutex_lock(&cap->lock);
    int has = cap->text && strstr(cap->text, s) != NULL;
    pthread_mutex_unlock(&cap->lock);
    return has;
}
