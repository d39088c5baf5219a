/*
 * The pool from an event loop (prd_pg_async_*): requests wait in the
 * driver, connections are taken from the pool without waiting (or
 * connected with PQconnectPoll driven by the loop), queries go out in
 * libpq's pipeline mode with one Sync each, and replies are read when the
 * loop says the socket is readable. One epoll descriptor holds the
 * sockets and an eventfd (the pool nudges it when a connection frees up,
 * the driver when callbacks are due), so the loop watches one descriptor
 * whatever the number of connections.
 *
 * Every request has one deadline; the earliest one tells the loop how
 * long it may sleep (prd_pg_async_timeout_ms).
 */
#include "internal/common.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/fork.h"
#include "internal/pg.h"

enum rq_kind { RQ_QUERY, RQ_ACQUIRE, RQ_PING, RQ_DEALLOCATE, RQ_ROLLBACK };

struct aconn;

/* A request: a submitted query or acquire, or the driver's own statement
 * (a health check, a DEALLOCATE, a ROLLBACK). Queries carry their SQL and
 * parameters in the same allocation. */
struct rq {
    struct rq *next;
    enum rq_kind kind;
    int prepare;     /* a Parse goes before the Execute */
    int ncmd, ended; /* commands sent, commands whose results have ended */
    int fail_cmd;    /* which command failed first */
    int retried;     /* re-sent once after the server lost its statement */
    prd_pg_async_fn fn;
    prd_pg_async_acquire_fn afn;
    void *ud;
    int64_t deadline;      /* of the whole request: INT64_MAX none */
    int64_t wait_deadline; /* of the wait to be sent */
    int64_t wire_deadline; /* of the reply, from when it was sent */
    int64_t t0;
    PGresult *res, *fail;
    prd_status st;             /* when completed */
    prd_pg_error *error;       /* when completed with a failure (NULL: no memory) */
    prd_pg_conn *handed;       /* an acquire's connection */
    const char *why_timeout;   /* the message of a wait that timed out */
    size_t sql_len;
    const char *sql;
    prd_pg_params params; /* a view into this allocation */
};

struct aconn {
    struct aconn *next;
    prd_pg_conn *c;     /* the slot: connecting while pg is NULL */
    PGconn *connecting; /* while connecting */
    uint64_t round;
    int64_t connect_deadline;
    PostgresPollingStatusType ps;
    int fd;              /* registered with epoll, -1 none */
    uint32_t ev;         /* events registered */
    int dedicated;       /* handed out by prd_pg_async_acquire */
    int released;        /* given back by the caller: return when done */
    int checking;        /* a health check is in flight */
    struct rq *fly_head, *fly_tail;
    unsigned n_fly;
    struct rq *q_head, *q_tail; /* a dedicated connection's statements not yet sent */
};

struct prd_pg_async {
    prd_pg_pool *pool;
    int ep, efd;
    unsigned long fork_epoch;
    struct prd__pg_watch watch;
    uint32_t max_conns, depth, max_queued;
    struct aconn *conns;
    uint32_t n_conns, n_not_ready; /* n_not_ready: connecting or checking */
    struct rq *q_head, *q_tail;    /* waiting for a connection */
    uint32_t n_queued;
    int64_t queue_min_deadline; /* no queued request expires before (may be early) */
    struct rq *done_head, *done_tail;
    size_t pending;
    int in_process, freeing;
    prd_pg_error last_connect_error; /* status PRD_OK: the last connect went well */
    prd_pg_error scratch;
};

void prd__pg_watch_nudge(struct prd__pg_watch *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->fd, &one, sizeof one); /* EAGAIN: the counter is full, already readable */
    (void)n;
}

static int64_t now_ns(void)
{
    return prd__pg_real_ns();
}

static int64_t deadline_in(uint32_t ms)
{
    return ms ? now_ns() + (int64_t)ms * 1000000 : INT64_MAX;
}

/* ---- requests ---- */

static struct rq *rq_new(enum rq_kind kind, const char *sql, size_t sql_len,
                         const prd_pg_params *p)
{
    size_t n = p ? p->n : 0, data = p ? p->data_len : 0;
    size_t size = sizeof(struct rq) + n * (sizeof(size_t) + sizeof(int) * 2 + sizeof(Oid)) +
                  sql_len + 1 + data;
    struct rq *r = prd__calloc(1, size);
    if (!r)
        return NULL;
    r->kind = kind;
    r->deadline = r->wait_deadline = r->wire_deadline = INT64_MAX;
    char *at = (char *)(r + 1);
    /* size_t first, then int and Oid: each array stays aligned */
    r->params.off = (size_t *)(void *)at;
    at += n * sizeof(size_t);
    r->params.len = (int *)(void *)at;
    at += n * sizeof(int);
    r->params.fmt = (int *)(void *)at;
    at += n * sizeof(int);
    r->params.oid = (Oid *)(void *)at;
    at += n * sizeof(Oid);
    if (n) {
        memcpy(r->params.off, p->off, n * sizeof(size_t));
        memcpy(r->params.len, p->len, n * sizeof(int));
        memcpy(r->params.fmt, p->fmt, n * sizeof(int));
        memcpy(r->params.oid, p->oid, n * sizeof(Oid));
    }
    r->params.n = r->params.cap = n;
    r->params.result_format = p ? p->result_format : 0;
    memcpy(at, sql, sql_len);
    at[sql_len] = '\0';
    r->sql = at;
    r->sql_len = sql_len;
    at += sql_len + 1;
    if (data)
        memcpy(at, p->data, data);
    r->params.data = at;
    r->params.data_len = r->params.data_cap = data;
    return r;
}

static void rq_free(struct rq *r)
{
    PQclear(r->res);
    PQclear(r->fail);
    prd__free(r->error);
    prd__free(r);
}

static int rq_is_callers(const struct rq *r)
{
    return r->kind == RQ_QUERY || r->kind == RQ_ACQUIRE;
}

static void push(struct rq **head, struct rq **tail, struct rq *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static struct rq *pop(struct rq **head, struct rq **tail)
{
    struct rq *r = *head;
    if (r) {
        *head = r->next;
        if (!*head)
            *tail = NULL;
        r->next = NULL;
    }
    return r;
}

/* The request is over: its callback runs from process (never from inside
 * a submit, so the caller's stack holds no surprises). */
static void complete(prd_pg_async *a, struct rq *r, prd_status st, const prd_pg_error *e)
{
    if (!rq_is_callers(r)) {
        rq_free(r);
        return;
    }
    r->st = st;
    if (st != PRD_OK) {
        r->error = prd__malloc(sizeof *r->error);
        if (r->error) {
            if (e)
                prd__pg_error_copy(r->error, e);
            else
                prd__pg_error_set(r->error, st, NULL, "%s", prd_status_str(st));
            r->error->status = st;
        }
    }
    push(&a->done_head, &a->done_tail, r);
    if (!a->in_process)
        prd__pg_watch_nudge(&a->watch); /* the loop calls process soon */
}

static void fail_msg(prd_pg_async *a, struct rq *r, prd_status st, const char *sqlstate,
                     const char *msg)
{
    prd__pg_error_set(&a->scratch, st, sqlstate, "%s", msg);
    complete(a, r, st, &a->scratch);
}

static void deliver(prd_pg_async *a)
{
    struct rq *r;
    while ((r = pop(&a->done_head, &a->done_tail)) != NULL) {
        a->pending--;
        const prd_pg_error *e = r->st == PRD_OK ? NULL : r->error;
        if (r->st != PRD_OK && !e) {
            prd__pg_error_set(&a->scratch, r->st, NULL, "%s", prd_status_str(r->st));
            e = &a->scratch;
        }
        if (r->kind == RQ_ACQUIRE) {
            r->afn(r->ud, r->st, r->handed, e);
        } else {
            prd_pg_result *res = NULL;
            prd_status st = r->st;
            if (st == PRD_OK && r->res) {
                st = prd__pg_result_wrap(r->res, &res); /* takes r->res, even on failure */
                r->res = NULL;
                if (st != PRD_OK) {
                    prd__pg_error_set(&a->scratch, st, NULL, "out of memory");
                    e = &a->scratch;
                }
            }
            r->fn(r->ud, st, res, e);
        }
        rq_free(r);
    }
}

/* ---- epoll ---- */

static void watch_fd(prd_pg_async *a, struct aconn *ac, int fd, uint32_t ev)
{
    if (ac->fd == fd && ac->ev == ev)
        return;
    if (ac->fd >= 0 && ac->fd != fd)
        epoll_ctl(a->ep, EPOLL_CTL_DEL, ac->fd, NULL); /* may be closed already */
    struct epoll_event e = {.events = ev, .data.ptr = ac};
    if (fd >= 0) {
        int op = ac->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(a->ep, op, fd, &e) != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
            epoll_ctl(a->ep, EPOLL_CTL_MOD, fd, &e);
    }
    ac->fd = fd;
    ac->ev = ev;
}

static void unwatch(prd_pg_async *a, struct aconn *ac)
{
    if (ac->fd >= 0)
        epoll_ctl(a->ep, EPOLL_CTL_DEL, ac->fd, NULL);
    ac->fd = -1;
    ac->ev = 0;
}

/* ---- connections ---- */

static void conn_unlink(prd_pg_async *a, struct aconn *ac)
{
    for (struct aconn **pp = &a->conns; *pp; pp = &(*pp)->next)
        if (*pp == ac) {
            *pp = ac->next;
            break;
        }
    a->n_conns--;
    if (ac->connecting || ac->checking)
        a->n_not_ready--;
}

/* Back to the pool (closed there when broken); nothing may be in flight. */
static void give_back(prd_pg_async *a, struct aconn *ac)
{
    unwatch(a, ac);
    conn_unlink(a, ac);
    prd_pg_conn *c = ac->c;
    if (c->pg) {
        if (PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c->pg))
            c->broken = 1;
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            c->broken = 1; /* rolling back here would block: closed instead */
    }
    c->tx_deadline_ns = INT64_MAX;
    prd_pg_pool_release(c);
    prd__free(ac);
}

static struct aconn *aconn_new(prd_pg_async *a, prd_pg_conn *c)
{
    struct aconn *ac = prd__calloc(1, sizeof *ac);
    if (!ac)
        return NULL;
    ac->c = c;
    ac->fd = -1;
    ac->next = a->conns;
    a->conns = ac;
    a->n_conns++;
    return ac;
}

/* The connection is lost or out of step: every request on it fails (the
 * first with the connection's error and first_st, unless that is PRD_OK,
 * the others as collateral), and it goes back to be closed. */
static void conn_fail(prd_pg_async *a, struct aconn *ac, prd_status first_st,
                      const char *collateral)
{
    prd_pg_conn *c = ac->c;
    c->broken = 1;
    struct rq *r;
    int first = first_st != PRD_OK;
    while ((r = pop(&ac->fly_head, &ac->fly_tail)) != NULL) {
        if (rq_is_callers(r)) {
            prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
            prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
        }
        if (first && rq_is_callers(r))
            complete(a, r, first_st, &c->error);
        else
            fail_msg(a, r, PRD_EDB, "08006", collateral);
        first = first && !rq_is_callers(r);
    }
    ac->n_fly = 0;
    if (ac->dedicated) {
        /* Statements not sent yet fail too: the session they belonged to is gone. */
        while ((r = pop(&ac->q_head, &ac->q_tail)) != NULL)
            fail_msg(a, r, PRD_EDB, "08003", "connection is broken");
        if (!ac->released) {
            unwatch(a, ac); /* the caller still holds it: it goes back on release */
            return;
        }
    }
    give_back(a, ac);
}

static void conn_lost(prd_pg_async *a, struct aconn *ac)
{
    prd_pg_conn *c = ac->c;
    if (ac->fly_head && ac->fly_head->fail) /* the server said why */
        prd__pg_fail_from_result(c, ac->fly_head->fail);
    else {
        prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
        prd__pg_error_scrub(&c->error, c->pool->cfg->password);
        prd__pg_note_failure(c, "08006");
    }
    conn_fail(a, ac, PRD_EDB, "connection lost");
}

static void want_output(prd_pg_async *a, struct aconn *ac, int more)
{
    watch_fd(a, ac, PQsocket(ac->c->pg), EPOLLIN | (more ? EPOLLOUT : 0));
}

/* Queue a statement with its own Sync; 0 when libpq refused it. */
static int send_one(PGconn *pg, const char *sql, const char *name, int prepare,
                    const struct rq *r, const char *const *vals)
{
    const prd_pg_params *p = &r->params;
    int n = (int)p->n;
    if (prepare && !PQsendPrepare(pg, name, sql, n, p->oid))
        return 0;
    int ok = name ? PQsendQueryPrepared(pg, name, n, vals, p->len, p->fmt, p->result_format)
                  : PQsendQueryParams(pg, sql, n, p->oid, vals, p->len, p->fmt, p->result_format);
    return ok && PQpipelineSync(pg);
}

static void fly(struct aconn *ac, struct rq *r, int64_t wire_deadline)
{
    r->wire_deadline = wire_deadline;
    push(&ac->fly_head, &ac->fly_tail, r);
    ac->n_fly++;
}

/* Send r on ac (its deadline and the statement's, whichever is first). */
static void send_rq(prd_pg_async *a, struct aconn *ac, struct rq *r)
{
    prd_pg_conn *c = ac->c;
    PGconn *pg = c->pg;
    if (PQpipelineStatus(pg) == PQ_PIPELINE_OFF && !PQenterPipelineMode(pg)) {
        push(&ac->fly_head, &ac->fly_tail, r);
        ac->n_fly++;
        prd__pg_error_from_conn(&c->error, pg, PRD_EDB, "08006");
        conn_fail(a, ac, PRD_EDB, "connection lost");
        return;
    }
    int64_t wire = r->deadline;
    if (wire == INT64_MAX)
        wire = prd__pg_stmt_deadline(c);
    r->t0 = now_ns();
    int ok;
    if (r->kind != RQ_QUERY) {
        ok = send_one(pg, r->sql, NULL, 0, r, NULL);
        r->ncmd = 1;
    } else {
        char name[24];
        uint32_t evict = 0;
        int cached = prd__pg_stmt_for_pipeline(c, r->sql, r->sql_len, name, &evict);
        if (cached == -2) {
            fail_msg(a, r, PRD_ENOMEM, NULL, "out of memory");
            return;
        }
        if (evict) {
            /* Its own Sync: a failure to drop a statement spoils nothing. */
            char sql[40] = "DEALLOCATE ";
            prd__pg_stmt_name(evict, sql + strlen(sql));
            struct rq *d = rq_new(RQ_DEALLOCATE, sql, strlen(sql), NULL);
            if (d) {
                if (!send_one(pg, d->sql, NULL, 0, d, NULL)) {
                    rq_free(d);
                    goto refused;
                }
                d->ncmd = 1;
                fly(ac, d, wire);
            } /* else the server keeps it until the session ends: harmless */
        }
        const char *stackv[16];
        const char **vals = r->params.n
                                ? prd__pg_params_values(&r->params, stackv, PRD_ARRAY_LEN(stackv))
                                : stackv;
        if (!vals) {
            if (cached == 0)
                prd__pg_stmt_forget_sql(c, r->sql, r->sql_len);
            fail_msg(a, r, PRD_ENOMEM, NULL, "out of memory");
            return;
        }
        r->prepare = cached == 0;
        ok = send_one(pg, r->sql, cached >= 0 ? name : NULL, r->prepare, r, vals);
        r->ncmd = 1 + r->prepare;
        if (vals != stackv)
            prd__free(vals);
    }
    if (!ok) {
    refused:
        push(&ac->fly_head, &ac->fly_tail, r);
        ac->n_fly++;
        conn_lost(a, ac);
        return;
    }
    fly(ac, r, wire);
    int f = PQflush(pg);
    if (f < 0) {
        conn_lost(a, ac);
        return;
    }
    want_output(a, ac, f == 1);
}

/* ---- replies ---- */

static int is_failure(ExecStatusType s)
{
    return s == PGRES_FATAL_ERROR || s == PGRES_PIPELINE_ABORTED || s == PGRES_BAD_RESPONSE;
}

static void finish_query(prd_pg_async *a, struct aconn *ac, struct rq *r)
{
    prd_pg_conn *c = ac->c;
    int64_t ns = now_ns() - r->t0;
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
    prd__pg_local_observe(&c->stats, PRD_PG_H_QUERY, ns);
    if (!r->fail && r->res) {
        complete(a, r, PRD_OK, NULL);
        return;
    }
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
    if (r->prepare && r->fail_cmd == 0) /* the Parse failed: the name is not the server's */
        prd__pg_stmt_forget_sql(c, r->sql, r->sql_len);
    const char *ss = r->fail ? PQresultErrorField(r->fail, PG_DIAG_SQLSTATE) : NULL;
    if (ss && (!strcmp(ss, "26000") || !strcmp(ss, "0A000"))) {
        /* The server lost the prepared statement (DISCARD ALL, DDL): the
         * cache forgets it; prepared again once, outside a transaction. */
        if (!strcmp(ss, "26000"))
            prd__pg_stmt_cache_clear(c);
        else
            prd__pg_stmt_forget_sql(c, r->sql, r->sql_len);
        if (!r->retried && !ac->dedicated) {
            r->retried = 1;
            PQclear(r->fail);
            PQclear(r->res);
            r->fail = r->res = NULL;
            r->ended = r->fail_cmd = 0;
            r->next = a->q_head; /* first in line again */
            a->q_head = r;
            if (!a->q_tail)
                a->q_tail = r;
            a->n_queued++;
            return;
        }
    }
    prd_status st = prd__pg_fail_from_result(c, r->fail);
    if (c->broken)
        st = PRD_EDB;
    complete(a, r, st, &c->error);
}

static void finish_ping(prd_pg_async *a, struct aconn *ac, struct rq *r)
{
    prd_pg_conn *c = ac->c;
    int ok = !r->fail && r->res && PQresultStatus(r->res) == PGRES_EMPTY_QUERY;
    if (ok && c->pool->cfg->wants_primary) {
        const char *hs = PQparameterStatus(c->pg, "in_hot_standby");
        if (hs && !strcmp(hs, "on")) {
            prd__pg_report(c, PRD__PG_SAW_FAILOVER, "server is a standby");
            ok = 0;
        }
    }
    rq_free(r);
    ac->checking = 0;
    a->n_not_ready--;
    if (!ok)
        c->broken = 1;
}

/* A request's results are all in (its Sync arrived). */
static void finish(prd_pg_async *a, struct aconn *ac, struct rq *r)
{
    switch (r->kind) {
    case RQ_QUERY:
        finish_query(a, ac, r);
        break;
    case RQ_PING:
        finish_ping(a, ac, r);
        break;
    case RQ_ROLLBACK:
        if (r->fail)
            ac->c->broken = 1;
        rq_free(r);
        break;
    default:
        rq_free(r);
        break;
    }
}

/* Read what the socket has and hand out the results that are whole.
 * 0: ac is gone (failed and given back). */
static int on_input(prd_pg_async *a, struct aconn *ac)
{
    PGconn *pg = ac->c->pg;
    if (!PQconsumeInput(pg)) {
        conn_lost(a, ac);
        return 0;
    }
    if (!ac->fly_head)
        (void)PQisBusy(pg); /* parses what came: a FATAL marks server_gone */
    while (ac->fly_head && !PQisBusy(pg)) {
        struct rq *r = ac->fly_head;
        PGresult *res = PQgetResult(pg);
        if (!res) {
            if (r->ended >= r->ncmd)
                break; /* nothing more for now */
            r->ended++;
            continue;
        }
        ExecStatusType s = PQresultStatus(res);
        if (s == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            pop(&ac->fly_head, &ac->fly_tail);
            ac->n_fly--;
            finish(a, ac, r);
            continue;
        }
        if (is_failure(s) && !r->fail) {
            r->fail = res;
            r->fail_cmd = r->ended;
        } else if (!is_failure(s) && r->ended == r->ncmd - 1 && !r->res) {
            r->res = res;
        } else {
            PQclear(res);
        }
        if (PQstatus(pg) == CONNECTION_BAD)
            break;
    }
    if (PQstatus(pg) == CONNECTION_BAD || (ac->c->server_gone && !ac->fly_head)) {
        conn_lost(a, ac);
        return 0;
    }
    if (ac->c->broken && !ac->fly_head) { /* a failure that ends the session */
        conn_fail(a, ac, PRD_EDB, "connection closed");
        return 0;
    }
    return 1;
}

static void on_output(prd_pg_async *a, struct aconn *ac)
{
    int f = PQflush(ac->c->pg);
    if (f < 0)
        conn_lost(a, ac);
    else
        want_output(a, ac, f == 1);
}

/* ---- connecting ---- */

static void connect_step(prd_pg_async *a, struct aconn *ac)
{
    PGconn *pg = ac->connecting;
    prd_pg_pool *p = a->pool;
    prd_status st = PRD_OK;
    if (ac->ps == PGRES_POLLING_READING || ac->ps == PGRES_POLLING_WRITING) {
        if (now_ns() >= ac->connect_deadline)
            st = PRD_ETIMEOUT;
        else
            ac->ps = PQconnectPoll(pg);
    }
    if (st == PRD_OK && ac->ps == PGRES_POLLING_FAILED)
        st = PRD_EDB;
    if (st == PRD_OK && ac->ps != PGRES_POLLING_OK) {
        watch_fd(a, ac, PQsocket(pg), ac->ps == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT);
        return;
    }
    unwatch(a, ac); /* libpq may have changed sockets, or is closing it */
    prd_pg_error *e = &a->scratch;
    prd__pg_error_clear(e);
    st = prd__pg_connect_end(p, pg, st, e);
    ac->connecting = NULL;
    a->n_not_ready--;
    st = prd__pg_pool_connected(p, ac->c, st == PRD_OK ? pg : NULL, st, e, ac->round, 0);
    if (st != PRD_OK) {
        prd__pg_error_copy(&a->last_connect_error, e);
        for (struct aconn **pp = &a->conns; *pp; pp = &(*pp)->next)
            if (*pp == ac) {
                *pp = ac->next;
                break;
            }
        a->n_conns--;
        prd__free(ac);
        return;
    }
    prd__pg_error_clear(&a->last_connect_error);
    want_output(a, ac, 0);
}

/* One more connection from the pool; 0 when none can be had now. */
static int take_one(prd_pg_async *a)
{
    prd_pg_conn *c;
    uint64_t round = 0;
    int how = prd__pg_pool_take_nowait(a->pool, &c, a->n_queued, &round);
    if (how == PRD__TAKE_NONE || how == PRD__TAKE_CLOSED)
        return 0;
    struct aconn *ac = aconn_new(a, c);
    if (!ac) {
        if (how == PRD__TAKE_CONNECT)
            prd__pg_pool_slot_abandon(a->pool, c);
        else
            prd_pg_pool_release(c);
        return 0;
    }
    if (how == PRD__TAKE_CONNECT) {
        ac->round = round;
        ac->connecting = prd__pg_connect_start(a->pool);
        if (!ac->connecting) {
            conn_unlink(a, ac);
            prd__pg_pool_slot_abandon(a->pool, c);
            prd__free(ac);
            return 0;
        }
        a->n_not_ready++;
        ac->connect_deadline = now_ns() + (int64_t)a->pool->cfg->connect_timeout_ms * 1000000;
        ac->ps = PQstatus(ac->connecting) == CONNECTION_BAD ? PGRES_POLLING_FAILED
                                                            : PGRES_POLLING_WRITING;
        if (ac->ps == PGRES_POLLING_FAILED)
            connect_step(a, ac);
        else
            watch_fd(a, ac, PQsocket(ac->connecting), EPOLLOUT);
        return 1;
    }
    if (how == PRD__TAKE_CHECK) {
        if (prd__pg_input_waiting_dead(c)) {
            c->broken = 1;
            give_back(a, ac);
            return 1; /* and look again */
        }
        struct rq *r = rq_new(RQ_PING, "", 0, NULL);
        if (!r) {
            give_back(a, ac);
            return 0;
        }
        ac->checking = 1;
        a->n_not_ready++;
        send_rq(a, ac, r);
        return 1;
    }
    want_output(a, ac, 0);
    return 1;
}

/* ---- dispatch ---- */

static int ready(const struct aconn *ac)
{
    return !ac->connecting && !ac->checking && !ac->dedicated;
}

static struct aconn *pick(prd_pg_async *a, int want_idle_only)
{
    struct aconn *best = NULL;
    for (struct aconn *ac = a->conns; ac; ac = ac->next) {
        if (!ready(ac))
            continue;
        if (ac->n_fly == 0)
            return ac;
        if (!want_idle_only && ac->n_fly < a->depth && (!best || ac->n_fly < best->n_fly))
            best = ac;
    }
    return best;
}

static void unqueue(prd_pg_async *a, struct rq *prev, struct rq *r)
{
    if (prev)
        prev->next = r->next;
    else
        a->q_head = r->next;
    if (a->q_tail == r)
        a->q_tail = prev;
    r->next = NULL;
    a->n_queued--;
}

static void fail_queue(prd_pg_async *a, prd_status st, const char *msg)
{
    struct rq *r;
    while ((r = pop(&a->q_head, &a->q_tail)) != NULL) {
        a->n_queued--;
        fail_msg(a, r, st, NULL, msg);
    }
}

static void dispatch(prd_pg_async *a)
{
    /* Dedicated connections: their statements in order. */
    for (struct aconn *ac = a->conns, *next; ac; ac = next) {
        next = ac->next;
        if (!ac->dedicated || ac->connecting || ac->checking || !ac->c->pg)
            continue;
        while (ac->q_head && ac->n_fly < a->depth && !ac->c->broken)
            send_rq(a, ac, pop(&ac->q_head, &ac->q_tail));
        if (ac->released && !ac->n_fly && !ac->q_head) {
            PGTransactionStatusType ts =
                ac->c->broken ? PQTRANS_IDLE : PQtransactionStatus(ac->c->pg);
            if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
                struct rq *r = rq_new(RQ_ROLLBACK, "ROLLBACK", 8, NULL);
                if (r) {
                    send_rq(a, ac, r);
                    continue;
                }
                ac->c->broken = 1;
            }
            give_back(a, ac);
        }
    }
    /* More connections while requests outnumber the ones coming. */
    int pool_closed = 0;
    while (a->n_queued > a->n_not_ready && a->n_conns < a->max_conns && !pick(a, 1)) {
        if (!take_one(a)) {
            pool_closed = atomic_load(&a->pool->closing);
            break;
        }
    }
    if (pool_closed) {
        fail_queue(a, PRD_ECLOSED, "pool is closed");
        return;
    }
    struct rq *prev = NULL;
    for (struct rq *r = a->q_head, *next; r; r = next) {
        next = r->next;
        struct aconn *ac = pick(a, r->kind == RQ_ACQUIRE);
        if (!ac) {
            prev = r;
            continue;
        }
        unqueue(a, prev, r);
        if (r->kind == RQ_ACQUIRE) {
            ac->dedicated = 1;
            r->handed = ac->c;
            complete(a, r, PRD_OK, NULL);
        } else {
            send_rq(a, ac, r);
        }
    }
    /* Connections with nothing to do go back, where threads can use them. */
    if (!a->q_head)
        for (struct aconn *ac = a->conns, *next; ac; ac = next) {
            next = ac->next;
            if (ready(ac) && !ac->n_fly)
                give_back(a, ac);
        }
    int hungry = a->q_head && a->n_conns < a->max_conns;
    atomic_store_explicit(&a->watch.hungry, hungry, memory_order_relaxed);
}

/* ---- deadlines ---- */

/* Move the requests of a list whose wait deadline has passed to the late
 * list, in order; *min gets the earliest deadline of those left. Returns
 * how many moved. */
static uint32_t take_late(struct rq **head, struct rq **tail, int64_t now, int64_t *min,
                          struct rq **late_head, struct rq **late_tail)
{
    uint32_t n = 0;
    struct rq *prev = NULL;
    for (struct rq *r = *head, *next; r; r = next) {
        next = r->next;
        if (now < r->wait_deadline) {
            if (r->wait_deadline < *min)
                *min = r->wait_deadline;
            prev = r;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            *head = next;
        if (*tail == r)
            *tail = prev;
        push(late_head, late_tail, r);
        n++;
    }
    return n;
}

static void expire(prd_pg_async *a, int64_t now)
{
    for (struct aconn *ac = a->conns, *next; ac; ac = next) {
        next = ac->next;
        if (ac->connecting) {
            if (now >= ac->connect_deadline)
                connect_step(a, ac);
            continue;
        }
        struct rq *late = NULL;
        for (struct rq *r = ac->fly_head; r; r = r->next)
            if (now >= r->wire_deadline) {
                late = r;
                break;
            }
        if (!late)
            continue;
        /* The session is out of step: close it. The late request and
         * those before it timed out; the ones behind go down with it. */
        prd_pg_conn *c = ac->c;
        prd__pg_timed_out(c);
        struct rq *r;
        int64_t cut = late->wire_deadline;
        while (ac->fly_head && ac->fly_head->wire_deadline <= cut) {
            r = pop(&ac->fly_head, &ac->fly_tail);
            ac->n_fly--;
            if (rq_is_callers(r)) {
                prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
                prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
            }
            complete(a, r, PRD_ETIMEOUT, &c->error);
        }
        conn_fail(a, ac, PRD_OK,
                  "connection closed: a query before this one on it missed its deadline");
    }
    if (now < a->queue_min_deadline)
        return;
    int64_t min = INT64_MAX;
    struct rq *late_head = NULL, *late_tail = NULL, *r;
    a->n_queued -= take_late(&a->q_head, &a->q_tail, now, &min, &late_head, &late_tail);
    while ((r = pop(&late_head, &late_tail)) != NULL) {
        prd__pg_metric_add(&a->pool->metrics, PRD_PG_M_ACQUIRE_TIMEOUTS, 1);
        if (a->last_connect_error.status != PRD_OK) {
            complete(a, r, a->last_connect_error.status == PRD_ETIMEOUT ? PRD_ETIMEOUT : PRD_EDB,
                     &a->last_connect_error);
        } else {
            prd__pg_error_set(&a->scratch, PRD_ETIMEOUT, NULL, "%s", r->why_timeout);
            complete(a, r, PRD_ETIMEOUT, &a->scratch);
        }
    }
    /* A dedicated connection's statements waiting behind others. */
    for (struct aconn *ac = a->conns; ac; ac = ac->next) {
        take_late(&ac->q_head, &ac->q_tail, now, &min, &late_head, &late_tail);
        while ((r = pop(&late_head, &late_tail)) != NULL) {
            prd__pg_error_set(&a->scratch, PRD_ETIMEOUT, NULL,
                              "deadline reached while statements before it ran");
            complete(a, r, PRD_ETIMEOUT, &a->scratch);
        }
    }
    a->queue_min_deadline = min;
}

/* ---- the public calls ---- */

static int usable(const prd_pg_async *a)
{
    return a->fork_epoch == prd__fork_epoch() && !a->freeing;
}

prd_status prd_pg_async_new(prd_pg_pool *pool, uint32_t max_conns, prd_pg_async **out)
{
    if (out)
        *out = NULL;
    if (!pool || !out || max_conns == 0 || max_conns > pool->cfg->max_size)
        return PRD_EINVAL;
    prd_pg_async *a = prd__calloc(1, sizeof *a);
    if (!a)
        return PRD_ENOMEM;
    a->pool = pool;
    a->max_conns = max_conns;
    a->depth = 1;
    a->max_queued = 10000;
    a->queue_min_deadline = INT64_MAX;
    a->fork_epoch = prd__fork_epoch();
    a->ep = epoll_create1(EPOLL_CLOEXEC);
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    if (a->ep < 0 || a->efd < 0 || epoll_ctl(a->ep, EPOLL_CTL_ADD, a->efd, &e) != 0) {
        if (a->ep >= 0)
            close(a->ep);
        if (a->efd >= 0)
            close(a->efd);
        prd__free(a);
        return PRD_EIO;
    }
    a->watch.fd = a->efd;
    prd__pg_pool_watch(pool, &a->watch, 1);
    *out = a;
    return PRD_OK;
}

prd_status prd_pg_async_set_pipeline_depth(prd_pg_async *a, uint32_t depth)
{
    if (!a || depth < 1 || depth > PRD_PG_ASYNC_DEPTH_MAX)
        return PRD_EINVAL;
    a->depth = depth;
    return PRD_OK;
}

prd_status prd_pg_async_set_max_queued(prd_pg_async *a, uint32_t n)
{
    if (!a || n < 1 || n > 1000000)
        return PRD_EINVAL;
    a->max_queued = n;
    return PRD_OK;
}

int prd_pg_async_fd(const prd_pg_async *a)
{
    return a ? a->ep : -1;
}

size_t prd_pg_async_pending(const prd_pg_async *a)
{
    return a ? a->pending : 0;
}

int prd_pg_async_timeout_ms(const prd_pg_async *a)
{
    if (!a)
        return -1;
    if (a->done_head)
        return 0;
    int64_t t = a->queue_min_deadline;
    for (const struct aconn *ac = a->conns; ac; ac = ac->next) {
        if (ac->connecting && ac->connect_deadline < t)
            t = ac->connect_deadline;
        for (const struct rq *r = ac->fly_head; r; r = r->next)
            if (r->wire_deadline < t)
                t = r->wire_deadline;
    }
    if (a->q_head && a->n_conns < a->max_conns) {
        int64_t c = prd__pg_pool_connect_after(a->pool); /* a backoff that ends */
        if (c > now_ns() && c < t)
            t = c;
    }
    if (t == INT64_MAX)
        return -1;
    int64_t left = t - now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

prd_status prd_pg_async_process(prd_pg_async *a)
{
    if (!a || a->in_process)
        return PRD_EINVAL;
    if (!usable(a))
        return PRD_ECLOSED;
    a->in_process = 1;
    struct epoll_event evs[64];
    prd_status st = PRD_OK;
    int got = epoll_wait(a->ep, evs, (int)PRD_ARRAY_LEN(evs), 0);
    if (got < 0 && errno != EINTR)
        st = PRD_EIO;
    /* An event's connection may be gone by the time it is looked at (an
     * earlier event failed it): act only on connections still listed. */
    for (int i = 0; i < got; i++) {
        struct aconn *ac = evs[i].data.ptr;
        if (!ac) { /* the eventfd: a nudge, nothing to read but the count */
            uint64_t count;
            ssize_t n = read(a->efd, &count, sizeof count);
            (void)n;
            continue;
        }
        int live = 0;
        for (struct aconn *x = a->conns; x; x = x->next)
            live |= x == ac;
        if (!live)
            continue;
        if (ac->connecting) {
            connect_step(a, ac);
            continue;
        }
        if ((evs[i].events & EPOLLOUT) && PQflush(ac->c->pg) < 0) {
            conn_lost(a, ac);
            continue;
        }
        if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !on_input(a, ac))
            continue;
        if (ac->c->pg && ac->fd >= 0)
            on_output(a, ac);
    }
    expire(a, now_ns());
    /* Callbacks first: what they submit finds the connection that just
     * answered still held (dispatching first would hand it back to the
     * pool and take it again). */
    for (int round = 0; round < 1000; round++) {
        deliver(a);
        dispatch(a);
        if (!a->done_head)
            break;
    }
    a->in_process = 0;
    if (a->done_head)
        prd__pg_watch_nudge(&a->watch);
    return st;
}

static prd_status submit_check(prd_pg_async *a, uint32_t timeout_ms)
{
    if (!usable(a))
        return PRD_ECLOSED;
    if (timeout_ms > 3600000)
        return PRD_EINVAL;
    if (atomic_load(&a->pool->closing))
        return PRD_ECLOSED;
    if (a->pending >= a->max_queued)
        return PRD_EBUSY;
    return PRD_OK;
}

static prd_status make_query(prd_pg_async *a, const char *sql, const prd_pg_params *params,
                             uint32_t timeout_ms, prd_pg_async_fn fn, void *ud, struct rq **out)
{
    if (!a || !sql || !fn)
        return PRD_EINVAL;
    prd_status st = submit_check(a, timeout_ms);
    if (st != PRD_OK)
        return st;
    size_t len = strnlen(sql, (size_t)PRD_PG_SQL_MAX + 1);
    if (len > PRD_PG_SQL_MAX)
        return PRD_ETOOBIG;
    struct rq *r = rq_new(RQ_QUERY, sql, len, params);
    if (!r)
        return PRD_ENOMEM;
    r->fn = fn;
    r->ud = ud;
    r->deadline = deadline_in(timeout_ms);
    *out = r;
    return PRD_OK;
}

static void enqueue(prd_pg_async *a, struct rq *r)
{
    if (r->deadline != INT64_MAX) {
        r->wait_deadline = r->deadline;
        r->why_timeout = "no connection free before the request's deadline";
    } else { /* the wait is bounded by the pool's acquire timeout */
        r->wait_deadline = deadline_in(a->pool->cfg->acquire_timeout_ms);
        r->why_timeout = "no connection free within the pool's acquire timeout";
    }
    push(&a->q_head, &a->q_tail, r);
    a->n_queued++;
    a->pending++;
    if (r->wait_deadline < a->queue_min_deadline)
        a->queue_min_deadline = r->wait_deadline;
    if (!a->in_process)
        dispatch(a);
}

prd_status prd_pg_async_query(prd_pg_async *a, const char *sql, const prd_pg_params *params,
                              uint32_t timeout_ms, prd_pg_async_fn fn, void *userdata)
{
    struct rq *r;
    prd_status st = make_query(a, sql, params, timeout_ms, fn, userdata, &r);
    if (st != PRD_OK)
        return st;
    enqueue(a, r);
    return PRD_OK;
}

prd_status prd_pg_async_acquire(prd_pg_async *a, uint32_t timeout_ms,
                                prd_pg_async_acquire_fn fn, void *userdata)
{
    if (!a || !fn)
        return PRD_EINVAL;
    prd_status st = submit_check(a, timeout_ms);
    if (st != PRD_OK)
        return st;
    struct rq *r = rq_new(RQ_ACQUIRE, "", 0, NULL);
    if (!r)
        return PRD_ENOMEM;
    r->afn = fn;
    r->ud = userdata;
    r->deadline = deadline_in(timeout_ms);
    enqueue(a, r);
    return PRD_OK;
}

static struct aconn *find_dedicated(prd_pg_async *a, const prd_pg_conn *c)
{
    for (struct aconn *ac = a->conns; ac; ac = ac->next)
        if (ac->c == c && ac->dedicated && !ac->released)
            return ac;
    return NULL;
}

prd_status prd_pg_async_conn_query(prd_pg_async *a, prd_pg_conn *conn, const char *sql,
                                   const prd_pg_params *params, uint32_t timeout_ms,
                                   prd_pg_async_fn fn, void *userdata)
{
    if (!a || !conn)
        return PRD_EINVAL;
    struct aconn *ac = find_dedicated(a, conn);
    if (!ac)
        return PRD_EINVAL;
    struct rq *r;
    prd_status st = make_query(a, sql, params, timeout_ms, fn, userdata, &r);
    if (st != PRD_OK)
        return st;
    a->pending++;
    if (conn->broken || !conn->pg) {
        prd__pg_error_set(&a->scratch, PRD_EDB, "08003", "connection is broken");
        complete(a, r, PRD_EDB, &a->scratch);
        return PRD_OK;
    }
    if (ac->fd < 0)
        want_output(a, ac, 0);
    r->wait_deadline = r->deadline;
    push(&ac->q_head, &ac->q_tail, r);
    if (r->wait_deadline < a->queue_min_deadline)
        a->queue_min_deadline = r->wait_deadline;
    if (!a->in_process)
        dispatch(a);
    return PRD_OK;
}

prd_status prd_pg_async_release(prd_pg_async *a, prd_pg_conn *conn)
{
    if (!a || !conn)
        return PRD_EINVAL;
    struct aconn *ac = find_dedicated(a, conn);
    if (!ac)
        return PRD_EINVAL;
    ac->released = 1;
    if (!usable(a))
        return PRD_OK; /* in a forked child: the parent's session, left alone */
    if (!a->in_process)
        dispatch(a);
    return PRD_OK;
}

void prd_pg_async_free(prd_pg_async *a)
{
    if (!a)
        return;
    int child = a->fork_epoch != prd__fork_epoch();
    a->freeing = 1;
    a->in_process = 1; /* completions are delivered below, not nudged */
    /* A connection not delivered yet is closed below: its acquire fails. */
    for (struct rq *r = a->done_head; r; r = r->next)
        if (r->kind == RQ_ACQUIRE && r->st == PRD_OK) {
            r->st = PRD_ECLOSED;
            r->handed = NULL;
        }
    fail_queue(a, PRD_ECLOSED, "the async driver was freed");
    while (a->conns) {
        struct aconn *ac = a->conns;
        int busy = ac->n_fly > 0 || ac->checking || ac->connecting ||
                   (ac->dedicated && !ac->released);
        struct rq *r;
        while ((r = pop(&ac->q_head, &ac->q_tail)) != NULL)
            fail_msg(a, r, PRD_ECLOSED, NULL, "the async driver was freed");
        while ((r = pop(&ac->fly_head, &ac->fly_tail)) != NULL)
            fail_msg(a, r, PRD_ECLOSED, NULL, "the async driver was freed");
        ac->n_fly = 0;
        if (child) { /* the pool disowned the parent's slots: touch nothing */
            a->conns = ac->next;
            prd__free(ac);
            continue;
        }
        if (ac->connecting) {
            unwatch(a, ac);
            PQfinish(ac->connecting);
            conn_unlink(a, ac);
            prd__pg_pool_slot_abandon(a->pool, ac->c);
            prd__free(ac);
            continue;
        }
        if (busy)
            ac->c->broken = 1;
        give_back(a, ac);
    }
    deliver(a);
    if (!child)
        prd__pg_pool_watch(a->pool, &a->watch, 0);
    close(a->ep);
    close(a->efd);
    prd__free(a);
}
