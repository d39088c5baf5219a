/*
 * COPY FROM STDIN and COPY TO STDOUT, streaming in bounded memory: data
 * in goes to the socket chunk by chunk (each put returns once its bytes
 * are written, so libpq's buffer never holds more than one chunk), data
 * out reaches the caller row by row as it arrives. One COPY is one
 * statement: its waits end by the statement's deadline (query timeout,
 * transaction timeout).
 */
#include "internal/common.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "internal/pg.h"

/* Wait until the socket is ready for events (reading whatever arrives,
 * so a server's error mid-COPY never deadlocks us). */
static prd_status wait_io(prd_pg_conn *c, short events)
{
    int64_t left = c->copy_deadline_ns == INT64_MAX ? -1 : c->copy_deadline_ns - prd__pg_real_ns();
    if (c->copy_deadline_ns != INT64_MAX && left <= 0) {
        prd__pg_timed_out(c);
        return PRD_ETIMEOUT;
    }
    int ms = left < 0 ? -1 : (int)((left + 999999) / 1000000);
    struct pollfd p = {.fd = PQsocket(c->pg), .events = (short)(events | POLLIN)};
    int r = poll(&p, 1, ms);
    if (r < 0 && errno != EINTR)
        return PRD_EIO;
    if (r > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c->pg)) {
        prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
        c->broken = 1;
        prd__pg_note_failure(c, "08006");
        return PRD_EDB;
    }
    return PRD_OK;
}

static prd_status flush_all(prd_pg_conn *c)
{
    for (;;) {
        int f = PQflush(c->pg);
        if (f == 0)
            return PRD_OK;
        if (f < 0) {
            prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
            c->broken = 1;
            return PRD_EDB;
        }
        prd_status st = wait_io(c, POLLOUT);
        if (st != PRD_OK)
            return st;
    }
}

/* Send sql and read its first result, which must be a COPY of kind. */
static prd_status start(prd_pg_conn *c, const char *sql, ExecStatusType kind)
{
    if (!c || !sql)
        return PRD_EINVAL;
    prd_status st = prd__pg_ready_to_send(c);
    if (st != PRD_OK)
        return st;
    c->copy_deadline_ns = prd__pg_stmt_deadline(c);
    if (!PQsendQuery(c->pg, sql)) {
        prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
        c->broken = 1;
        return PRD_EDB;
    }
    prd_status wst = PRD_OK;
    PGresult *r = prd__pg_get_result(c, c->copy_deadline_ns, &wst);
    if (wst != PRD_OK)
        return wst;
    if (r && PQresultStatus(r) == kind) {
        PQclear(r);
        c->in_copy = kind == PGRES_COPY_IN ? 1 : 2;
        return PRD_OK;
    }
    ExecStatusType got = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (got == PGRES_COPY_IN || got == PGRES_COPY_OUT || got == PGRES_COPY_BOTH) {
        /* A COPY the other way: end it (in) or give the session up (out:
         * its rows would have to be read through). */
        PQclear(r);
        prd__pg_error_set(&c->error, PRD_EINVAL, NULL, "not a COPY %s statement",
                          kind == PGRES_COPY_IN ? "FROM STDIN" : "TO STDOUT");
        if (got == PGRES_COPY_OUT) {
            /* read its rows through (discarded) to keep the session */
            char *buf;
            int n;
            while ((n = PQgetCopyData(c->pg, &buf, 1)) >= 0) {
                if (n > 0) {
                    PQfreemem(buf);
                } else if (wait_io(c, 0) != PRD_OK) {
                    c->broken = 1;
                    return PRD_EINVAL;
                }
            }
        } else if (got != PGRES_COPY_IN || PQputCopyEnd(c->pg, "wrong direction") != 1 ||
                   flush_all(c) != PRD_OK) {
            c->broken = 1;
            return PRD_EINVAL;
        }
        while ((r = prd__pg_get_result(c, c->copy_deadline_ns, &wst)) != NULL)
            PQclear(r);
        return PRD_EINVAL;
    }
    if (r && (got == PGRES_COMMAND_OK || got == PGRES_TUPLES_OK)) {
        prd__pg_error_set(&c->error, PRD_EINVAL, NULL, "not a COPY %s statement",
                          kind == PGRES_COPY_IN ? "FROM STDIN" : "TO STDOUT");
        st = PRD_EINVAL;
    } else {
        st = prd__pg_fail_from_result(c, r);
    }
    PQclear(r);
    /* the rest of this command's results */
    while ((r = prd__pg_get_result(c, c->copy_deadline_ns, &wst)) != NULL)
        PQclear(r);
    return st;
}

/* The results after a COPY: COMMAND_OK with the row count, then NULL. */
static prd_status finish(prd_pg_conn *c, uint64_t *rows)
{
    prd_status wst = PRD_OK, st = PRD_OK;
    PGresult *r, *first = NULL;
    while ((r = prd__pg_get_result(c, c->copy_deadline_ns, &wst)) != NULL) {
        if (!first)
            first = r;
        else
            PQclear(r);
    }
    c->in_copy = 0;
    if (wst != PRD_OK) {
        PQclear(first);
        return wst;
    }
    if (first && PQresultStatus(first) == PGRES_COMMAND_OK) {
        if (rows) {
            const char *n = PQcmdTuples(first);
            *rows = n && *n ? strtoull(n, NULL, 10) : 0;
        }
    } else {
        st = prd__pg_fail_from_result(c, first);
    }
    PQclear(first);
    return st;
}

prd_status prd_pg_copy_in_start(prd_pg_conn *c, const char *sql)
{
    return start(c, sql, PGRES_COPY_IN);
}

prd_status prd_pg_copy_in_put(prd_pg_conn *c, const void *data, size_t len)
{
    if (!c || (!data && len) || c->in_copy != 1)
        return PRD_EINVAL;
    const char *p = data;
    while (len > 0) {
        /* in pieces libpq takes whole (its message length is an int) */
        int n = len > (1u << 20) ? 1 << 20 : (int)len;
        int r;
        while ((r = PQputCopyData(c->pg, p, n)) == 0) {
            prd_status st = wait_io(c, POLLOUT);
            if (st != PRD_OK)
                return st;
        }
        if (r < 0) {
            prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
            c->broken = 1;
            return PRD_EDB;
        }
        prd_status st = flush_all(c); /* memory stays bounded by a chunk */
        if (st != PRD_OK)
            return st;
        p += n;
        len -= (size_t)n;
    }
    return PRD_OK;
}

prd_status prd_pg_copy_in_end(prd_pg_conn *c, const char *abort_reason, uint64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!c || c->in_copy != 1)
        return PRD_EINVAL;
    int r;
    while ((r = PQputCopyEnd(c->pg, abort_reason)) == 0) {
        prd_status st = wait_io(c, POLLOUT);
        if (st != PRD_OK)
            return st;
    }
    prd_status st = r < 0 ? PRD_EDB : flush_all(c);
    if (st != PRD_OK) {
        c->broken = 1;
        c->in_copy = 0;
        return st;
    }
    st = finish(c, rows);
    /* Aborted on purpose: the server's 57014 "COPY from stdin failed" is
     * what was asked for. */
    if (abort_reason && st != PRD_OK && !strcmp(c->error.sqlstate, "57014")) {
        prd__pg_error_clear(&c->error);
        return PRD_OK;
    }
    return st;
}

prd_status prd_pg_copy_out(prd_pg_conn *c, const char *sql, prd_pg_copy_fn fn, void *userdata,
                           uint64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!fn)
        return PRD_EINVAL;
    prd_status st = start(c, sql, PGRES_COPY_OUT);
    if (st != PRD_OK)
        return st;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c->pg, &buf, 1);
        if (n > 0) {
            prd_status rc = fn(userdata, buf, (size_t)n);
            PQfreemem(buf);
            if (rc != PRD_OK) {
                /* Stopping a COPY OUT midway has no protocol message:
                 * the session is given up rather than read to its end. */
                c->broken = 1;
                c->in_copy = 0;
                return rc;
            }
            continue;
        }
        if (n == 0) {
            st = wait_io(c, 0);
            if (st != PRD_OK) {
                c->in_copy = 0;
                return st;
            }
            continue;
        }
        if (n == -1)
            return finish(c, rows);
        c->in_copy = 0; /* -2: lost */
        prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
        c->broken = 1;
        prd__pg_note_failure(c, "08006");
        return PRD_EDB;
    }
}
