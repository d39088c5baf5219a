/* One statement on a pooled connection, for every store (internal/stores.h). */
#include "internal/common.h"

#include "internal/stores.h"

prd_status prd__stores_run(prd_pg_pool *pool, const char *sql, const prd_pg_params *params,
                           prd_pg_result **out)
{
    prd_pg_conn *c = NULL;
    prd_status st = prd_pg_acquire(pool, &c, NULL);
    if (st == PRD_OK)
        st = prd_pg_query(c, sql, params, out);
    prd_pg_pool_release(c);
    if (st == PRD_ENOMEM || st == PRD_ETIMEOUT || st == PRD_OK)
        return st;
    return PRD_EDB;
}

prd_status prd__stores_decision(const prd_pg_result *r, prd_rl_decision *d)
{
    int64_t rule = 0, lim = 0, rem = 0, reset = 0, ra = 0;
    int allowed = 0;
    if (prd_pg_result_rows(r) != 1 || prd_pg_result_bool(r, 0, 0, &allowed) != PRD_OK ||
        prd_pg_result_int64(r, 0, 1, &rule) != PRD_OK ||
        prd_pg_result_int64(r, 0, 2, &lim) != PRD_OK ||
        prd_pg_result_int64(r, 0, 3, &rem) != PRD_OK ||
        prd_pg_result_int64(r, 0, 4, &reset) != PRD_OK ||
        prd_pg_result_int64(r, 0, 5, &ra) != PRD_OK)
        return PRD_EDB; /* not the function this code was built for */
    d->allowed = allowed;
    d->rule = (int)rule;
    d->limit = (uint64_t)lim;
    d->remaining = rem > 0 ? (uint64_t)rem : 0;
    d->reset_ms = reset > 0 ? reset : 0;
    d->retry_after_ms = allowed ? 0 : ra;
    return PRD_OK;
}
