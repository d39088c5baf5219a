/* The PostgreSQL stores (lib/stores/): their schema's migration set, and
 * the one way they run a statement. */
#ifndef PRD_INTERNAL_STORES_H
#define PRD_INTERNAL_STORES_H

#include "prodready/pg.h"

#define PRD__STORES_SET "prodready"

/* sql with params on a connection of the pool, given back at once. The
 * stores' callers see any failure of the database as PRD_EDB (or
 * PRD_ETIMEOUT past the pool's deadlines, PRD_ENOMEM). */
prd_status prd__stores_run(prd_pg_pool *pool, const char *sql, const prd_pg_params *params,
                           prd_pg_result **out);

#endif
