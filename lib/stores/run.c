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
