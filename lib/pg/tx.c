/* Transactions: BEGIN sent with the first statement, COMMIT whose loss is
 * told apart from a failure, whole-function retries with backoff, and
 * savepoints. */
#include "internal/common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal/alloc.h"
#include "internal/pg.h"

struct prd_pg_tx_options {
    prd_pg_isolation isolation;
    int read_only, deferrable;
    uint32_t max_attempts;
    uint32_t backoff_initial_ms, backoff_max_ms;
    uint32_t timeout_ms; /* every attempt, statement and backoff; 0 = none */
};

static const prd_pg_tx_options defaults = {PRD_PG_READ_COMMITTED, 0, 0, 10, 2, 200, 0};

prd_status prd_pg_tx_options_new(prd_pg_tx_options **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = prd__malloc(sizeof **out);
    if (!*out)
        return PRD_ENOMEM;
    **out = defaults;
    return PRD_OK;
}

void prd_pg_tx_options_free(prd_pg_tx_options *o)
{
    prd__free(o);
}

prd_status prd_pg_tx_options_set_isolation(prd_pg_tx_options *o, prd_pg_isolation level)
{
    if (!o || (level != PRD_PG_READ_COMMITTED && level != PRD_PG_REPEATABLE_READ &&
               level != PRD_PG_SERIALIZABLE))
        return PRD_EINVAL;
    o->isolation = level;
    return PRD_OK;
}

prd_status prd_pg_tx_options_set_read_only(prd_pg_tx_options *o, int read_only)
{
    if (!o)
        return PRD_EINVAL;
    o->read_only = read_only ? 1 : 0;
    return PRD_OK;
}

prd_status prd_pg_tx_options_set_deferrable(prd_pg_tx_options *o, int deferrable)
{
    if (!o)
        return PRD_EINVAL;
    o->deferrable = deferrable ? 1 : 0;
    return PRD_OK;
}

prd_status prd_pg_tx_options_set_max_attempts(prd_pg_tx_options *o, uint32_t n)
{
    if (!o || n < 1 || n > 1000)
        return PRD_EINVAL;
    o->max_attempts = n;
    return PRD_OK;
}

prd_status prd_pg_tx_options_set_backoff_ms(prd_pg_tx_options *o, uint32_t initial_ms,
                                            uint32_t max_ms)
{
    if (!o || max_ms < initial_ms || max_ms > 60000)
        return PRD_EINVAL;
    o->backoff_initial_ms = initial_ms;
    o->backoff_max_ms = max_ms;
    return PRD_OK;
}

prd_status prd_pg_tx_options_set_timeout_ms(prd_pg_tx_options *o, uint32_t ms)
{
    if (!o || ms > 24u * 3600 * 1000)
        return PRD_EINVAL;
    o->timeout_ms = ms;
    return PRD_OK;
}

static void begin_sql(const prd_pg_tx_options *o, char *out, size_t cap)
{
    static const char *const levels[] = {"READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"};
    snprintf(out, cap, "BEGIN ISOLATION LEVEL %s %s%s", levels[o->isolation],
             o->read_only ? "READ ONLY" : "READ WRITE", o->deferrable ? " DEFERRABLE" : "");
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

enum commit_outcome { COMMITTED, FAILED, RETRY, UNKNOWN };

/* COMMIT, telling "not sent" (safe to retry) from "sent, no answer"
 * (outcome unknown) from "the server refused" (rolled back). */
static enum commit_outcome commit(prd_pg_conn *c, prd_status *st)
{
    PGconn *pg = c->pg;
    /* What the server already said first: a backend terminated while fn
     * ran has sent its FATAL (and closed) before COMMIT could reach it, so
     * the transaction is known to be rolled back and runs again, instead
     * of being reported unknown. */
    int dead = c->broken || !pg || PQstatus(pg) != CONNECTION_OK || c->server_gone ||
               prd__pg_input_waiting_dead(c);
    if (dead || !PQsendQuery(pg, "COMMIT")) {
        /* The message did not reach the server: it rolls back. */
        prd__pg_error_from_conn(&c->error, pg, PRD_EDB, "08006");
        c->broken = 1;
        c->retryable = 1;
        memcpy(c->retry_sqlstate, "08006", 6);
        *st = PRD_EDB;
        return RETRY;
    }
    PGresult *first = NULL, *r;
    prd_status wst = PRD_OK;
    int64_t deadline = prd__pg_stmt_deadline(c);
    while ((r = prd__pg_get_result(c, deadline, &wst)) != NULL) {
        if (!first)
            first = r;
        else
            PQclear(r);
    }
    enum commit_outcome out;
    if (wst == PRD_ETIMEOUT) {
        /* COMMIT went out and no answer came back in time. */
        prd__pg_error_set(&c->error, PRD_EUNKNOWN, "08007",
                          "no answer to COMMIT before the deadline: outcome unknown");
        *st = PRD_EUNKNOWN;
        out = UNKNOWN;
    } else if (first && PQresultStatus(first) == PGRES_COMMAND_OK) {
        /* A transaction already failed answers COMMIT with "ROLLBACK". */
        out = strcmp(PQcmdStatus(first), "COMMIT") == 0 ? COMMITTED : FAILED;
        if (out == FAILED)
            prd__pg_error_set(&c->error, PRD_EDB, NULL, "transaction was rolled back");
        *st = out == COMMITTED ? PRD_OK : PRD_EDB;
    } else if (PQstatus(pg) != CONNECTION_OK) {
        prd__pg_error_from_conn(&c->error, pg, PRD_EUNKNOWN, "08007");
        c->broken = 1;
        prd__pg_report(c, PRD__PG_SAW_BROKEN, NULL);
        *st = PRD_EUNKNOWN;
        out = UNKNOWN;
    } else {
        /* The server answered with an error: nothing was committed. */
        const char *ss = first ? PQresultErrorField(first, PG_DIAG_SQLSTATE) : NULL;
        *st = prd_pg_sqlstate_status(ss);
        if (first)
            prd__pg_error_from_result(&c->error, first, *st);
        prd__pg_note_failure(c, c->error.sqlstate);
        out = c->retryable ? RETRY : FAILED;
    }
    PQclear(first);
    return out;
}

static void rollback(prd_pg_conn *c)
{
    prd__pg_local_add(&c->stats, PRD_PG_M_ROLLBACKS, 1);
    if (c->broken || !c->pg || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return;
    prd_pg_error keep;
    prd__pg_error_copy(&keep, &c->error);
    if (prd__pg_exec_simple(c, "ROLLBACK") != PRD_OK)
        c->broken = 1;
    prd__pg_error_copy(&c->error, &keep);
}

static prd_status out_of_time(prd_pg_error *err)
{
    prd__pg_error_set(err, PRD_ETIMEOUT, NULL, "transaction timeout reached before it committed");
    return PRD_ETIMEOUT;
}

/* The function itself, for callers without the header's macro (other
 * languages through FFI): leak reports then name prd_pg_tx_run. */
prd_status(prd_pg_tx_run)(prd_pg_pool *pool, const prd_pg_tx_options *opts, prd_pg_tx_fn fn,
                          void *userdata, prd_pg_error *err)
{
    return prd_pg_tx_run_at(pool, opts, fn, userdata, err, "prd_pg_tx_run", 0);
}

prd_status prd_pg_tx_run_at(prd_pg_pool *pool, const prd_pg_tx_options *opts, prd_pg_tx_fn fn,
                            void *userdata, prd_pg_error *err, const char *file, int line)
{
    prd__pg_error_clear(err);
    if (!pool || !fn)
        return PRD_EINVAL;
    if (!opts)
        opts = &defaults;
    char begin[96];
    begin_sql(opts, begin, sizeof begin);
    int64_t tx_deadline = opts->timeout_ms
                              ? prd__pg_real_ns() + (int64_t)opts->timeout_ms * 1000000
                              : INT64_MAX;
    prd_status st = PRD_OK;
    for (uint32_t attempt = 0; attempt < opts->max_attempts; attempt++) {
        if (attempt > 0) {
            int64_t pause =
                prd__pg_backoff_ns(opts->backoff_initial_ms ? opts->backoff_initial_ms : 1,
                                   opts->backoff_max_ms ? opts->backoff_max_ms : 1, attempt - 1);
            if (prd__pg_real_ns() + pause >= tx_deadline)
                return out_of_time(err);
            sleep_ns(pause);
        }
        prd_pg_conn *c;
        st = prd_pg_pool_acquire_at(pool, &c, err, file ? file : "prd_pg_tx_run", line);
        if (st != PRD_OK)
            return st;
        if (prd__pg_real_ns() >= tx_deadline) {
            prd_pg_pool_release(c);
            return out_of_time(err);
        }
        c->tx_deadline_ns = tx_deadline;
        c->in_tx = 1;
        c->begin_pending = 1;
        c->tx_read_only = opts->read_only;
        memcpy(c->begin_sql, begin, sizeof begin);
        c->retryable = 0;
        c->savepoint_depth = 0;

        st = fn(c, userdata);
        enum commit_outcome oc;
        if (st == PRD_OK && c->begin_pending) {
            oc = COMMITTED; /* nothing was sent: nothing to commit */
        } else if (st == PRD_OK && c->pg && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
            /* fn went on after a failed statement */
            st = c->error.status != PRD_OK ? c->error.status : PRD_EDB;
            oc = c->retryable ? RETRY : FAILED;
        } else if (st == PRD_OK) {
            oc = commit(c, &st);
        } else {
            oc = (c->retryable || st == PRD_ERETRY) ? RETRY : FAILED;
        }

        if (oc == COMMITTED) {
            prd__pg_local_add(&c->stats, PRD_PG_M_COMMITS, 1);
            prd_pg_pool_release(c);
            return PRD_OK;
        }
        if (oc == UNKNOWN) {
            prd__pg_metric_add(&pool->metrics, PRD_PG_M_UNKNOWN_COMMITS, 1);
            prd__pg_error_copy(err, &c->error);
            if (err)
                err->status = PRD_EUNKNOWN;
            prd_pg_pool_release(c);
            return PRD_EUNKNOWN;
        }
        rollback(c);
        prd__pg_error_copy(err, &c->error);
        char code[6];
        memcpy(code, c->retryable ? c->retry_sqlstate : "XX000", 6);
        prd_pg_pool_release(c);
        if (oc == FAILED)
            return st;
        if (attempt + 1 < opts->max_attempts) {
            prd__pg_metric_add(&pool->metrics, PRD_PG_M_RETRIES, 1);
            prd__pg_retry_count(&pool->metrics, code);
        }
    }
    if (err)
        err->status = PRD_ERETRY;
    return PRD_ERETRY;
}

prd_status prd_pg_savepoint_run(prd_pg_conn *c, prd_pg_tx_fn fn, void *userdata)
{
    if (!c || !fn || !c->in_tx || c->savepoint_depth >= 64)
        return PRD_EINVAL;
    unsigned depth = ++c->savepoint_depth;
    char sql[64];
    snprintf(sql, sizeof sql, "SAVEPOINT prd_sp_%u", depth);
    prd_status st = prd_pg_query(c, sql, NULL, NULL);
    if (st != PRD_OK) {
        c->savepoint_depth--;
        return st;
    }
    st = fn(c, userdata);
    if (st == PRD_OK) {
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT prd_sp_%u", depth);
        st = prd_pg_query(c, sql, NULL, NULL);
        c->savepoint_depth--;
        return st;
    }
    if (c->retryable || c->broken) {
        c->savepoint_depth--;
        return st; /* the whole transaction runs again */
    }
    prd_pg_error keep;
    prd__pg_error_copy(&keep, &c->error);
    snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT prd_sp_%u", depth);
    prd_status st2 = prd_pg_query(c, sql, NULL, NULL);
    if (st2 == PRD_OK) {
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT prd_sp_%u", depth);
        st2 = prd_pg_query(c, sql, NULL, NULL);
    }
    c->savepoint_depth--;
    if (st2 != PRD_OK)
        return st2;
    prd__pg_error_copy(&c->error, &keep);
    return st;
}
