/*
 * Large results a row at a time (libpq's single-row mode): each row
 * reaches the caller as it arrives, so a result of millions of rows
 * costs the memory of one. The statement is sent unnamed (no prepared
 * statement cache: single-row mode is per execution) and waits end by the
 * statement's deadline.
 */
#include "internal/common.h"

#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"

prd_status prd_pg_query_each(prd_pg_conn *c, const char *sql, const prd_pg_params *p,
                             prd_pg_row_fn fn, void *userdata, uint64_t *rows)
{
    if (rows)
        *rows = 0;
    if (!c || !sql || !fn)
        return PRD_EINVAL;
    if (strnlen(sql, (size_t)PRD_PG_SQL_MAX + 1) > PRD_PG_SQL_MAX)
        return PRD_ETOOBIG;
    prd_status st = prd__pg_ready_to_send(c);
    if (st != PRD_OK)
        return st;
    const char *stackv[16];
    const char **vals = NULL;
    int n = p ? (int)p->n : 0;
    if (n && !(vals = prd__pg_params_values(p, stackv, PRD_ARRAY_LEN(stackv))))
        return PRD_ENOMEM;
    int ok = PQsendQueryParams(c->pg, sql, n, n ? p->oid : NULL, vals, n ? p->len : NULL,
                               n ? p->fmt : NULL, p ? p->result_format : 0);
    if (vals && vals != stackv)
        prd__free(vals);
    if (!ok || !PQsetSingleRowMode(c->pg)) {
        prd__pg_error_from_conn(&c->error, c->pg, PRD_EDB, "08006");
        c->broken = 1;
        return PRD_EDB;
    }
    int64_t deadline = prd__pg_stmt_deadline(c);
    int64_t t0 = prd__pg_real_ns();
    uint64_t count = 0;
    prd_status wst = PRD_OK, result = PRD_OK;
    PGresult *r;
    int stopped = 0;
    while ((r = prd__pg_get_result(c, deadline, &wst)) != NULL) {
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_SINGLE_TUPLE && !stopped && result == PRD_OK) {
            prd_pg_result row = {r};
            count++;
            prd_status rc = fn(userdata, &row);
            if (rc != PRD_OK) {
                /* No message stops a query midway: give the session up
                 * rather than read the rest. */
                result = rc;
                stopped = 1;
                c->broken = 1;
                PQclear(r);
                break;
            }
        } else if (s != PGRES_SINGLE_TUPLE && s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK &&
                   result == PRD_OK) {
            result = prd__pg_fail_from_result(c, r);
        }
        PQclear(r);
    }
    if (wst != PRD_OK)
        result = wst;
    prd__pg_local_add(&c->stats, PRD_PG_M_QUERIES, 1);
    prd__pg_local_observe(&c->stats, PRD_PG_H_QUERY, prd__pg_real_ns() - t0);
    if (result != PRD_OK && !stopped)
        prd__pg_local_add(&c->stats, PRD_PG_M_QUERY_ERRORS, 1);
    if (rows)
        *rows = count;
    return result;
}
