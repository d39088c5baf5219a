/*
 * Waiting on the server with a deadline. Connections are in libpq's
 * nonblocking mode, and every wait for a reply goes through here: flush
 * what is queued, poll the socket until the deadline, let libpq consume
 * what arrived, and only call PQgetResult once it will not block. A
 * server that stops answering (a frozen link, a black hole) costs the
 * caller its deadline, never more; the connection is then broken, since
 * the protocol is out of step with the server.
 */
#include "internal/common.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "internal/pg.h"

int64_t prd__pg_stmt_deadline(const prd_pg_conn *c)
{
    const prd_pg_config *cfg = c->pool->cfg;
    int64_t d = c->tx_deadline_ns;
    uint64_t ms = cfg->query_timeout_ms;
    if (ms == 0 && cfg->statement_timeout_ms)
        ms = (uint64_t)cfg->statement_timeout_ms + PRD__PG_QUERY_SLACK_MS; /* the server's first */
    if (ms) {
        int64_t q = prd__pg_real_ns() + (int64_t)ms * 1000000;
        if (q < d)
            d = q;
    }
    return d;
}

int64_t prd__pg_min_deadline(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Until libpq holds a whole result (or has nothing more to send and
 * nothing to wait for). */
static prd_status await(prd_pg_conn *c, int64_t deadline)
{
    PGconn *pg = c->pg;
    for (;;) {
        int f = PQflush(pg); /* 0 all sent, 1 more to send, -1 failed */
        if (f < 0)
            return PRD_EDB;
        if (f == 0 && !PQisBusy(pg))
            return PRD_OK;
        int ms = -1;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - prd__pg_real_ns();
            if (left <= 0)
                return PRD_ETIMEOUT;
            ms = left > (int64_t)INT32_MAX * 1000000 ? INT32_MAX : (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {.fd = PQsocket(pg), .events = (short)(POLLIN | (f ? POLLOUT : 0))};
        if (p.fd < 0)
            return PRD_EDB;
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR)
            return PRD_EIO;
        if (r > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(pg))
            return PRD_EDB;
    }
}

void prd__pg_timed_out(prd_pg_conn *c)
{
    c->broken = 1;
    c->timed_out = 1;
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_TIMEOUTS, 1);
    prd__pg_error_set(&c->error, PRD_ETIMEOUT, NULL,
                      "no reply from the server before the deadline (connection closed)");
}

PGresult *prd__pg_get_result(prd_pg_conn *c, int64_t deadline, prd_status *st)
{
    prd_status w = await(c, deadline);
    if (w == PRD_ETIMEOUT) {
        prd__pg_timed_out(c);
        *st = PRD_ETIMEOUT;
        return NULL;
    }
    /* Lost: libpq's PQgetResult reports it as a result (or NULL). */
    return PQgetResult(c->pg);
}

/* Every result of one command, the last kept (PQexec's rule). */
static PGresult *collect(prd_pg_conn *c, int64_t deadline, prd_status *st)
{
    PGresult *last = NULL, *r;
    while ((r = prd__pg_get_result(c, deadline, st)) != NULL) {
        PQclear(last);
        last = r;
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break;
    }
    if (*st == PRD_ETIMEOUT) {
        PQclear(last);
        return NULL;
    }
    return last;
}

PGresult *prd__pg_exec(prd_pg_conn *c, const char *sql, int64_t deadline, prd_status *st)
{
    *st = PRD_OK;
    if (!PQsendQuery(c->pg, sql))
        return NULL;
    return collect(c, deadline, st);
}

PGresult *prd__pg_exec_params(prd_pg_conn *c, const char *sql, const char *name, int n,
                              const Oid *oids, const char *const *vals, const int *lens,
                              const int *fmts, int result_format, int64_t deadline,
                              prd_status *st)
{
    *st = PRD_OK;
    int ok = name ? PQsendQueryPrepared(c->pg, name, n, vals, lens, fmts, result_format)
                  : PQsendQueryParams(c->pg, sql, n, oids, vals, lens, fmts, result_format);
    if (!ok)
        return NULL;
    return collect(c, deadline, st);
}

int prd__pg_input_waiting_dead(prd_pg_conn *c)
{
    /* What the server already sent, read without waiting: a terminated
     * backend's FATAL and the socket's end arrive before anything we send
     * could be answered. PQconsumeInput only reads; PQisBusy parses (the
     * FATAL reaches the notice receiver, which marks server_gone), and
     * the end of the stream shows on the next read. */
    for (int round = 0; round < 4; round++) {
        struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
        if (p.fd < 0)
            return 1;
        if (poll(&p, 1, 0) <= 0)
            return c->server_gone;
        if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD)
            return 1;
        (void)PQisBusy(c->pg);
        if (c->server_gone)
            return 1;
    }
    return c->server_gone;
}
