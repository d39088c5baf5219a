/* One pooled connection: connecting with our own deadline, running
 * parameterized statements through a per-connection prepared-statement
 * cache, and classifying failures (broken, failover, retryable). */
#include "internal/common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/fork.h"
#include "internal/pg.h"

/* ---- connecting ---- */

/* libpq prints notices (and errors that arrive while idle, such as the
 * FATAL of a terminated backend) on stderr by default; the library never
 * prints, so they go to the pool's logger. */
static void notice_to_log(void *arg, const char *message)
{
    prd_pg_pool *pool = arg;
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    PRD_LOG_INFO(pool->cfg->logger, "pg notice", PRD_F_STRN("message", message, n));
}

PGconn *prd__pg_connect_start(prd_pg_pool *pool)
{
    const char *keys[PRD__PG_START_PARAMS], *vals[PRD__PG_START_PARAMS];
    char options[PRD_PG_CONNINFO_MAX + 256];
    prd__pg_config_start_params(pool->cfg, keys, vals, options, sizeof options);
    /* Non-blocking connect so the connect timeout is ours, in ms, over all
     * hosts of a multi-host conninfo (libpq's connect_timeout is per host,
     * in whole seconds). libpq copies the parameters. */
    return PQconnectStartParams(keys, vals, 1);
}

prd_status prd__pg_connect_end(prd_pg_pool *pool, PGconn *c, prd_status st, prd_pg_error *err)
{
    const prd_pg_config *cfg = pool->cfg;
    if (st != PRD_OK) {
        if (st == PRD_ETIMEOUT)
            prd__pg_error_set(err, st, "08001", "could not connect before the deadline "
                              "(connect_timeout %u ms)", cfg->connect_timeout_ms);
        else
            prd__pg_error_from_conn(err, c, st, "08001");
        prd__pg_error_scrub(err, cfg->password);
        PQfinish(c);
        return st;
    }
    PQsetNoticeProcessor(c, notice_to_log, pool);
    /* Every wait from here on is ours (pg/wait.c): sends never block. */
    if (PQsetnonblocking(c, 1) != 0) {
        prd__pg_error_set(err, PRD_EDB, "08001", "could not make the connection nonblocking");
        PQfinish(c);
        return PRD_EDB;
    }
    return PRD_OK;
}

prd_status prd__pg_connect(prd_pg_pool *pool, PGconn **out, prd_pg_error *err,
                           int64_t deadline_ns)
{
    *out = NULL;
    PGconn *c = prd__pg_connect_start(pool);
    if (!c)
        return PRD_ENOMEM;
    int64_t deadline = prd__pg_min_deadline(
        prd__pg_real_ns() + (int64_t)pool->cfg->connect_timeout_ms * 1000000, deadline_ns);
    PostgresPollingStatusType ps = PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED
                                                                 : PGRES_POLLING_WRITING;
    prd_status st = PRD_OK;
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED) {
            st = PRD_EDB;
            break;
        }
        int64_t left = deadline - prd__pg_real_ns();
        if (left <= 0) {
            st = PRD_ETIMEOUT;
            break;
        }
        struct pollfd pfd = {.fd = PQsocket(c),
                             .events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int ms = (int)((left + 999999) / 1000000);
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno != EINTR) {
            st = PRD_EIO;
            break;
        }
        if (r == 0)
            continue; /* the deadline check above ends it */
        ps = PQconnectPoll(c);
    }
    st = prd__pg_connect_end(pool, c, st, err);
    if (st == PRD_OK)
        *out = c;
    return st;
}

/* Notices to the log, and a FATAL or PANIC (a terminated backend, a
 * server shutting down) remembered: COMMIT is then not sent into a
 * session known to be over. */
static void notice_received(void *arg, const PGresult *res)
{
    prd_pg_conn *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (!strcmp(sev, "FATAL") || !strcmp(sev, "PANIC")))
        c->server_gone = 1;
    const char *msg = PQresultErrorMessage(res);
    notice_to_log(c->pool, msg ? msg : "");
}

void prd__pg_watch_notices(prd_pg_conn *c)
{
    c->server_gone = 0;
    if (c->pg)
        PQsetNoticeReceiver(c->pg, notice_received, c);
}

void prd__pg_conn_close(prd_pg_conn *c)
{
    if (!c->pg)
        return;
    if (c->fork_epoch != prd__fork_epoch()) {
        /* A forked child shares the parent's socket: PQfinish would send
         * Terminate on it and end the parent's session. Point the fd at
         * /dev/null first, so libpq's goodbye goes nowhere. */
        int fd = PQsocket(c->pg);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0 && devnull >= 0)
            dup2(devnull, fd);
        if (devnull >= 0)
            close(devnull);
    }
    PQfinish(c->pg);
    c->pg = NULL;
    prd__pg_stmt_cache_clear(c);
}

int prd__pg_ping(prd_pg_conn *c, int64_t deadline_ns)
{
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || c->server_gone ||
        prd__pg_input_waiting_dead(c)) {
        c->broken = 1;
        return -1;
    }
    prd_status st;
    PGresult *r = prd__pg_exec(c, "", deadline_ns, &st);
    int ok = r && PQresultStatus(r) == PGRES_EMPTY_QUERY;
    PQclear(r);
    if (!ok)
        return -1;
    if (c->pool->cfg->wants_primary) {
        /* Servers since 14 report in_hot_standby; after a demotion the
         * connection is to a standby now. */
        const char *hs = PQparameterStatus(c->pg, "in_hot_standby");
        if (hs && !strcmp(hs, "on")) {
            prd__pg_report(c, PRD__PG_SAW_FAILOVER, "server is a standby");
            return -1;
        }
    }
    return 0;
}

/* ---- failures ---- */

void prd__pg_report(prd_pg_conn *c, int what, const char *why)
{
    c->saw |= what;
    if (why)
        c->saw_why = why;
    /* at once: other threads must not take a doomed generation's idle
     * connections meanwhile */
    if (c->pool && c->pool->on_report)
        c->pool->on_report(c->pool, c);
}

static int starts(const char *s, const char *p)
{
    return s && !strncmp(s, p, strlen(p));
}

/* 1 when a reported server parameter is "on", 0 when off, -1 unknown. */
static int param_on(const PGconn *pg, const char *name)
{
    const char *v = pg ? PQparameterStatus(pg, name) : NULL;
    return v ? !strcmp(v, "on") : -1;
}

/* 25006 (read-only transaction) means a demoted server only when the
 * server or session is read-only, not when the application asked for a
 * READ ONLY transaction and then wrote. Servers since 14 report both
 * parameters; with older ones, a read-only transaction of tx_run is
 * taken to be the application's. */
static int server_read_only(const prd_pg_conn *c)
{
    int hs = param_on(c->pg, "in_hot_standby");
    int ro = param_on(c->pg, "default_transaction_read_only");
    if (hs == 1 || ro == 1)
        return 1;
    return hs == -1 && ro == -1 && !c->tx_read_only;
}

void prd__pg_note_failure(prd_pg_conn *c, const char *sqlstate)
{
    int lost = !c->pg || PQstatus(c->pg) == CONNECTION_BAD;
    /* 57P01 is also what pg_terminate_backend sends one session: that
     * connection is broken and the others are checked before reuse
     * (suspect), so one kill costs one connection, and a real shutdown
     * still empties the pool as each check fails. */
    int failover = sqlstate && ((!strcmp(sqlstate, "25006") && server_read_only(c)) ||
                                !strcmp(sqlstate, "57P02") || !strcmp(sqlstate, "57P03"));
    if (lost || starts(sqlstate, "08") || (sqlstate && !strcmp(sqlstate, "57P01"))) {
        c->broken = 1;
        prd__pg_report(c, PRD__PG_SAW_BROKEN, NULL);
    }
    if (failover) {
        c->doomed = 1;
        prd__pg_report(c, PRD__PG_SAW_FAILOVER,
                       !strcmp(sqlstate, "25006") ? "server is read-only"
                                                  : "server is shutting down");
    }
    if (c->in_tx && (lost || failover || starts(sqlstate, "08") ||
                     (sqlstate && (!strcmp(sqlstate, "40001") || !strcmp(sqlstate, "40P01"))))) {
        c->retryable = 1;
        const char *code = sqlstate && *sqlstate ? sqlstate : "08006";
        memcpy(c->retry_sqlstate, code, 5);
        c->retry_sqlstate[5] = '\0';
    }
}

/* ---- prepared statement cache ---- */

static uint64_t hash_sql(const char *s, size_t n)
{
    /* Eight bytes a step, multiply and fold: the SQL comes from the
     * program, not from users, and a hit is confirmed with strcmp, so the
     * hash need only spread the program's statements. Every query hashes
     * its text; byte at a time (FNV-1a) that was about 1 us for the rate
     * limiter's 700-byte statement, 3% of a check's client CPU at 8
     * threads. */
    uint64_t h = 1469598103934665603ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

void prd__pg_stmt_cache_clear(prd_pg_conn *c)
{
    for (uint32_t i = 0; i < c->n_stmts; i++)
        prd__free(c->stmts[i].sql);
    c->n_stmts = 0;
}

static struct prd__pg_stmt *stmt_find(prd_pg_conn *c, uint64_t h, const char *sql)
{
    for (uint32_t i = 0; i < c->n_stmts; i++)
        if (c->stmts[i].hash == h && !strcmp(c->stmts[i].sql, sql))
            return &c->stmts[i];
    return NULL;
}

static void stmt_forget(prd_pg_conn *c, struct prd__pg_stmt *s)
{
    prd__free(s->sql);
    *s = c->stmts[--c->n_stmts];
}

static void stmt_name(uint32_t id, char *out)
{
    /* "prd_" + decimal id */
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    memcpy(out, "prd_", 4);
    for (int i = 0; i < n; i++)
        out[4 + i] = tmp[n - 1 - i];
    out[4 + n] = '\0';
}

/* Make room for one more entry, deallocating the least recently used
 * statement on the server when it is safe to run a command. */
static prd_status stmt_make_room(prd_pg_conn *c)
{
    uint32_t cap = c->pool->cfg->stmt_cache_size;
    if (!c->stmts) {
        c->stmts = prd__calloc(cap, sizeof *c->stmts);
        if (!c->stmts)
            return PRD_ENOMEM;
    }
    if (c->n_stmts < cap)
        return PRD_OK;
    uint32_t lru = 0;
    for (uint32_t i = 1; i < c->n_stmts; i++)
        if (c->stmts[i].last_use < c->stmts[lru].last_use)
            lru = i;
    if (PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
        char sql[40] = "DEALLOCATE ";
        stmt_name(c->stmts[lru].id, sql + strlen(sql));
        prd_status st;
        PQclear(prd__pg_exec(c, sql, prd__pg_stmt_deadline(c), &st));
    }
    stmt_forget(c, &c->stmts[lru]);
    return PRD_OK;
}

int prd__pg_stmt_for_pipeline(prd_pg_conn *c, const char *sql, size_t len, char name[24],
                              uint32_t *evict)
{
    *evict = 0;
    uint32_t cap = c->pool->cfg->stmt_cache_size;
    if (cap == 0)
        return -1;
    uint64_t h = hash_sql(sql, len);
    struct prd__pg_stmt *s = stmt_find(c, h, sql);
    if (s) {
        s->last_use = ++c->use_tick;
        stmt_name(s->id, name);
        return 1;
    }
    if (!c->stmts && !(c->stmts = prd__calloc(cap, sizeof *c->stmts)))
        return -2;
    char *copy = prd__strndup(sql, len);
    if (!copy)
        return -2;
    if (c->n_stmts == cap) { /* the caller sends the DEALLOCATE */
        uint32_t lru = 0;
        for (uint32_t i = 1; i < c->n_stmts; i++)
            if (c->stmts[i].last_use < c->stmts[lru].last_use)
                lru = i;
        *evict = c->stmts[lru].id;
        stmt_forget(c, &c->stmts[lru]);
    }
    /* In the cache from now: a statement pipelined behind this one uses
     * the name (if the Parse fails, they fail with it). */
    uint32_t id = ++c->next_stmt_id;
    c->stmts[c->n_stmts++] =
        (struct prd__pg_stmt){.hash = h, .sql = copy, .last_use = ++c->use_tick, .id = id};
    stmt_name(id, name);
    prd__pg_local_add(&c->stats, PRD_PG_M_PREPARES, 1);
    return 0;
}

void prd__pg_stmt_forget_sql(prd_pg_conn *c, const char *sql, size_t len)
{
    struct prd__pg_stmt *s = stmt_find(c, hash_sql(sql, len), sql);
    if (s)
        stmt_forget(c, s);
}

void prd__pg_stmt_name(uint32_t id, char name[24])
{
    stmt_name(id, name);
}

/* ---- running a statement ---- */

struct stmt_args {
    int n;
    const Oid *oids;
    const char *const *vals;
    const int *lens;
    const int *fmts;
    int result_format;
};

/* Read one command's results in pipeline mode: the first is kept. */
static PGresult *read_one(prd_pg_conn *c, int64_t deadline, prd_status *st)
{
    PGconn *pg = c->pg;
    PGresult *first = NULL, *r;
    if (*st == PRD_ETIMEOUT)
        return NULL;
    for (int guard = 0; guard < 1000000 && (r = prd__pg_get_result(c, deadline, st)) != NULL;
         guard++) {
        if (!first)
            first = r;
        else
            PQclear(r);
        if (PQstatus(pg) == CONNECTION_BAD && PQisBusy(pg))
            break;
    }
    return first;
}

static int res_ok(const PGresult *r)
{
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* BEGIN (when pending), Parse (when not cached) and Bind/Execute in one
 * round trip with libpq's pipeline mode. */
static PGresult *run_pipelined(prd_pg_conn *c, const char *sql, const char *name, int prepare,
                               const struct stmt_args *a, int *prepared_ok, int64_t deadline,
                               prd_status *tst)
{
    PGconn *pg = c->pg;
    *prepared_ok = 0;
    if (!PQenterPipelineMode(pg))
        return NULL;
    int sent_begin = 0, sent_prep = 0, ok = 1;
    if (c->begin_pending) {
        ok = PQsendQueryParams(pg, c->begin_sql, 0, NULL, NULL, NULL, NULL, 0);
        sent_begin = ok;
    }
    if (ok && prepare) {
        ok = PQsendPrepare(pg, name, sql, a->n, a->oids);
        sent_prep = ok;
    }
    if (ok) {
        if (name)
            ok = PQsendQueryPrepared(pg, name, a->n, a->vals, a->lens, a->fmts, a->result_format);
        else
            ok = PQsendQueryParams(pg, sql, a->n, a->oids, a->vals, a->lens, a->fmts,
                                   a->result_format);
    }
    int sent_exec = ok;
    if (ok)
        ok = PQpipelineSync(pg);
    PGresult *err = NULL, *exec = NULL;
    if (sent_begin) {
        PGresult *r = read_one(c, deadline, tst);
        if (res_ok(r))
            c->begin_pending = 0;
        if (!res_ok(r) && !err)
            err = r;
        else
            PQclear(r);
    }
    if (sent_prep) {
        PGresult *r = read_one(c, deadline, tst);
        *prepared_ok = res_ok(r);
        if (!res_ok(r) && !err)
            err = r;
        else
            PQclear(r);
    }
    if (sent_exec)
        exec = read_one(c, deadline, tst);
    if (*tst == PRD_ETIMEOUT) { /* the session is out of step: given up */
        PQclear(err);
        PQclear(exec);
        return NULL;
    }
    if (ok && PQstatus(pg) == CONNECTION_OK) {
        PGresult *sync = prd__pg_get_result(c, deadline, tst);
        if (sync && PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
            c->broken = 1; /* out of step with the server: never reuse */
        PQclear(sync);
    }
    if (!PQexitPipelineMode(pg))
        c->broken = 1;
    if (err) {
        PQclear(exec);
        return err;
    }
    return exec;
}

/* *oom: PRD_ENOMEM, or PRD_ETIMEOUT when the deadline passed. */
static PGresult *run(prd_pg_conn *c, const char *sql, size_t sql_len, const struct stmt_args *a,
                     prd_status *oom)
{
    prd_pg_pool *pool = c->pool;
    *oom = PRD_OK;
    int64_t deadline = prd__pg_stmt_deadline(c);
    if (pool->cfg->stmt_cache_size == 0) {
        if (!c->begin_pending)
            return prd__pg_exec_params(c, sql, NULL, a->n, a->oids, a->vals, a->lens, a->fmts,
                                       a->result_format, deadline, oom);
        int unused;
        return run_pipelined(c, sql, NULL, 0, a, &unused, deadline, oom);
    }
    uint64_t h = hash_sql(sql, sql_len);
    struct prd__pg_stmt *s = stmt_find(c, h, sql);
    char name[24];
    if (s) {
        s->last_use = ++c->use_tick;
        stmt_name(s->id, name);
        if (!c->begin_pending)
            return prd__pg_exec_params(c, sql, name, a->n, a->oids, a->vals, a->lens, a->fmts,
                                       a->result_format, deadline, oom);
        int unused;
        return run_pipelined(c, sql, name, 0, a, &unused, deadline, oom);
    }
    if ((*oom = stmt_make_room(c)) != PRD_OK)
        return NULL;
    char *copy = prd__strndup(sql, sql_len);
    if (!copy) {
        *oom = PRD_ENOMEM;
        return NULL;
    }
    uint32_t id = ++c->next_stmt_id;
    stmt_name(id, name);
    int prepared_ok = 0;
    PGresult *r = run_pipelined(c, sql, name, 1, a, &prepared_ok, deadline, oom);
    if (prepared_ok) {
        prd__pg_local_add(&c->stats, PRD_PG_M_PREPARES, 1);
        c->stmts[c->n_stmts++] =
            (struct prd__pg_stmt){.hash = h, .sql = copy, .last_use = ++c->use_tick, .id = id};
    } else {
        prd__free(copy);
    }
    return r;
}

/* Record a failed statement on c: the server's error (mapped by SQLSTATE)
 * or, with none, a lost connection. The message is scrubbed of the
 * password. */
prd_status prd__pg_fail_from_result(prd_pg_conn *c, const PGresult *r)
{
    prd_status st;
    const char *ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (ss) {
        st = prd_pg_sqlstate_status(ss);
        prd__pg_error_from_result(&c->error, r, st);
        prd__pg_note_failure(c, c->error.sqlstate);
    } else {
        /* No server error: the connection went away (libpq's message). */
        st = PRD_EDB;
        prd__pg_error_from_conn(&c->error, c->pg, st, "08006");
        c->broken = 1;
        prd__pg_note_failure(c, "08006");
    }
    prd__pg_error_scrub(&c->error, c->pool->cfg->password);
    return st;
}

static void log_slow(prd_pg_conn *c, const char *sql, size_t sql_len, int n, int64_t ns)
{
    const prd_pg_config *cfg = c->pool->cfg;
    if (!cfg->slow_query_ms || ns < (int64_t)cfg->slow_query_ms * 1000000)
        return;
    prd__pg_local_add(&c->stats, PRD_PG_M_SLOW_QUERIES, 1);
    /* Only the statement text with its placeholders: values stay out. */
    PRD_LOG_WARN(cfg->logger, "pg slow query",
                 PRD_F_STRN("sql", sql, sql_len > 2048 ? 2048 : sql_len),
                 PRD_F_DOUBLE("duration_ms", (double)ns / 1e6), PRD_F_INT("param_count", n),
                 PRD_F_SECRET("params", ""));
}

static prd_status query(prd_pg_conn *c, const char *sql, const struct stmt_args *a,
                        prd_pg_result **out)
{
    if (out)
        *out = NULL;
    if (!c || !sql)
        return PRD_EINVAL;
    prd__pg_error_clear(&c->error);
    size_t sql_len = strnlen(sql, (size_t)PRD_PG_SQL_MAX + 1);
    if (sql_len > PRD_PG_SQL_MAX) {
        prd__pg_error_set(&c->error, PRD_ETOOBIG, NULL, "sql: longer than %d bytes",
                          PRD_PG_SQL_MAX);
        return PRD_ETOOBIG;
    }
    if (c->broken || !c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        prd__pg_note_failure(c, "08003");
        prd__pg_error_set(&c->error, PRD_EDB, "08003", "connection is broken");
        return PRD_EDB;
    }
    if (c->in_copy) {
        prd__pg_error_set(&c->error, PRD_EINVAL, NULL, "a COPY is in progress on this connection");
        return PRD_EINVAL;
    }
    int64_t t0 = prd__pg_real_ns();
    prd_status oom;
    PGresult *r = run(c, sql, sql_len, a, &oom);
    if (oom == PRD_ETIMEOUT) {
        int64_t tns = prd__pg_real_ns() - t0;
        prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
        prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
        prd__pg_local_observe(&c->stats, PRD_PG_H_QUERY, tns);
        log_slow(c, sql, sql_len, a->n, tns);
        return PRD_ETIMEOUT; /* c->error says so; c is broken */
    }
    if (!r && oom == PRD_OK && PQstatus(c->pg) == CONNECTION_OK && !c->broken) {
        /* libpq could not allocate a result */
        oom = PRD_ENOMEM;
    }
    /* A cached statement the server no longer has (DISCARD ALL,
     * DEALLOCATE, a plan invalidated by DDL): prepare it again once, when
     * no transaction is open to have been spoiled by the failure. */
    if (r && !res_ok(r)) {
        const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (ss && (!strcmp(ss, "26000") || !strcmp(ss, "0A000"))) {
            struct prd__pg_stmt *s = stmt_find(c, hash_sql(sql, sql_len), sql);
            if (!strcmp(ss, "26000"))
                prd__pg_stmt_cache_clear(c);
            else if (s)
                stmt_forget(c, s);
            if (PQtransactionStatus(c->pg) == PQTRANS_IDLE && !c->in_tx) {
                PQclear(r);
                r = run(c, sql, sql_len, a, &oom);
                if (oom == PRD_ETIMEOUT)
                    return PRD_ETIMEOUT;
            } else if (c->in_tx) {
                c->retryable = 1; /* the transaction is spoiled: run it again */
                memcpy(c->retry_sqlstate, ss, 5);
                c->retry_sqlstate[5] = '\0';
            }
        }
    }
    int64_t ns = prd__pg_real_ns() - t0;
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
    prd__pg_local_observe(&c->stats, PRD_PG_H_QUERY, ns);
    log_slow(c, sql, sql_len, a->n, ns);
    if (r && res_ok(r)) {
        if (!out) {
            PQclear(r);
            return PRD_OK;
        }
        return prd__pg_result_wrap(r, out);
    }
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
    prd_status st;
    if (!r && oom != PRD_OK) {
        st = oom;
        prd__pg_error_set(&c->error, st, NULL, "out of memory");
    } else {
        st = prd__pg_fail_from_result(c, r);
        if (c->broken)
            st = PRD_EDB;
        if (c->retryable && st == PRD_EDB)
            st = PRD_ERETRY; /* lost before COMMIT inside a transaction: rerun it */
    }
    PQclear(r);
    return st;
}

prd_status prd_pg_query(prd_pg_conn *c, const char *sql, const prd_pg_params *p,
                        prd_pg_result **out)
{
    if (p && p->n > 0) {
        const char *stackv[16];
        const char **vals = prd__pg_params_values(p, stackv, PRD_ARRAY_LEN(stackv));
        if (!vals)
            return PRD_ENOMEM;
        struct stmt_args a = {(int)p->n, p->oid, vals, p->len, p->fmt, p->result_format};
        prd_status st = query(c, sql, &a, out);
        if (vals != stackv)
            prd__free(vals);
        return st;
    }
    struct stmt_args a = {0, NULL, NULL, NULL, NULL, p ? p->result_format : 0};
    return query(c, sql, &a, out);
}

prd_status prd_pg_query_text(prd_pg_conn *c, const char *sql, size_t n, const char *const *values,
                             prd_pg_result **out)
{
    if (out)
        *out = NULL;
    if (n > PRD_PG_PARAMS_MAX)
        return PRD_ETOOBIG;
    if (n && !values)
        return PRD_EINVAL;
    struct stmt_args a = {(int)n, NULL, values, NULL, NULL, 0};
    return query(c, sql, &a, out);
}

prd_status prd__pg_begin_if_pending(prd_pg_conn *c)
{
    if (!c->begin_pending)
        return PRD_OK;
    prd_status st = prd__pg_exec_simple(c, c->begin_sql);
    if (st == PRD_OK)
        c->begin_pending = 0;
    return st;
}

prd_status prd__pg_ready_to_send(prd_pg_conn *c)
{
    prd_status st = prd__pg_usable(c);
    if (st != PRD_OK)
        return st;
    if (c->in_copy) {
        prd__pg_error_set(&c->error, PRD_EINVAL, NULL, "a COPY is in progress on this connection");
        return PRD_EINVAL;
    }
    return prd__pg_begin_if_pending(c);
}

prd_status prd__pg_usable(prd_pg_conn *c)
{
    prd__pg_error_clear(&c->error);
    if (c->broken || !c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        prd__pg_note_failure(c, "08003");
        prd__pg_error_set(&c->error, PRD_EDB, "08003", "connection is broken");
        return PRD_EDB;
    }
    return PRD_OK;
}

prd_status prd__pg_exec_simple(prd_pg_conn *c, const char *sql)
{
    prd__pg_error_clear(&c->error);
    if (c->broken || !c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        prd__pg_error_set(&c->error, PRD_EDB, "08003", "connection is broken");
        c->broken = 1;
        return PRD_EDB;
    }
    prd_status tst;
    PGresult *r = prd__pg_exec(c, sql, prd__pg_stmt_deadline(c), &tst);
    if (tst == PRD_ETIMEOUT)
        return PRD_ETIMEOUT;
    if (res_ok(r)) {
        PQclear(r);
        return PRD_OK;
    }
    prd_status st = prd__pg_fail_from_result(c, r);
    PQclear(r);
    return st;
}

const prd_pg_error *prd_pg_conn_error(const prd_pg_conn *c)
{
    return c ? &c->error : NULL;
}

int prd_pg_conn_ok(const prd_pg_conn *c)
{
    return c && c->pg && !c->broken && PQstatus(c->pg) == CONNECTION_OK;
}
