/* The PostgreSQL stores (lib/stores/): their schema's migration set, and
 * the one way they run a statement. */
#ifndef PRD_INTERNAL_STORES_H
#define PRD_INTERNAL_STORES_H

#include "prodready/pg.h"
#include "prodready/ratelimit.h"

#define PRD__STORES_SET "prodready"

/* sql with params on a connection of the pool, given back at once. The
 * stores' callers see any failure of the database as PRD_EDB (or
 * PRD_ETIMEOUT past the pool's deadlines, PRD_ENOMEM). */
prd_status prd__stores_run(prd_pg_pool *pool, const char *sql, const prd_pg_params *params,
                           prd_pg_result **out);

/* A limiter decision from the first six columns of r's one row (allowed,
 * rule, lim, remaining, reset_ms, retry_after_ms: what prd_rl_check and
 * prd_login_check return first). PRD_EDB when r is not that. */
prd_status prd__stores_decision(const prd_pg_result *r, prd_rl_decision *d);

#endif
