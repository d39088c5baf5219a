/* The PostgreSQL stores (lib/stores/): their schema's migration set, and
 * the one way they run a statement. */
#ifndef PRD_INTERNAL_STORES_H
#define PRD_INTERNAL_STORES_H

#include "prodready/pg.h"
#include "prodready/ratelimit.h"

#define PRD__STORES_SET "prodready"

/* The sweeps of decayed rows (schema v6): one reads the next
 * PRD__SWEEP_PAGES pages of a table and deletes at most
 * PRD__SWEEP_MAX_ROWS of them, at every PRD__SWEEP_EVERY-th recording
 * check of the functions, and at every PRD__SWEEP_EVERY-th new row of the
 * rate limiter's one-statement checks (every PRD__SWEEP_STEADY_EVERY-th
 * of their checks that made no row). A quarter of a page a new row: a
 * flood of fresh keys (one new row a check, some 70 a page) leaves the
 * table within about 7% of the keys seen in the window. Fewer, larger
 * sweeps than 4 pages every 16th check because a sweep's fixed part (its
 * round trip, the call) was most of its cost. */
#define PRD__SWEEP_PAGES 16
#define PRD__SWEEP_MAX_ROWS 256
#define PRD__SWEEP_EVERY 64
#define PRD__SWEEP_STEADY_EVERY (16 * PRD__SWEEP_EVERY)

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
