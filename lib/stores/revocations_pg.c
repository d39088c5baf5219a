/*
 * The jti revocation list in PostgreSQL (migration 5): one row per
 * revoked token until a day past its expiry, stamped with the database's
 * clock so instances merge what is new since their last merge.
 */
#include "internal/common.h"

#include <string.h>

#include "internal/pg.h"
#include "internal/stores.h"
#include "internal/token_revocations.h"

prd_status prd__revoked_pg_add(struct prd_pg_pool *pool, const unsigned char *digest,
                               int64_t expires_ns)
{
    prd_pg_params *p = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(p, digest, PRD__JTI_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, expires_ns);
    /* with up to 16 rows a day past their token's expiry deleted on the
     * way by prd_revoked_sweep (schema v6) */
    if (st == PRD_OK)
        st = prd__stores_run(pool,
                 "INSERT INTO prd_token_revoked (jti, expires_ns) SELECT $1, $2 "
                 "FROM prd_revoked_sweep() "
                 "ON CONFLICT (jti) DO UPDATE SET expires_ns = greatest("
                 "prd_token_revoked.expires_ns, EXCLUDED.expires_ns), revoked_ms = "
                 "EXCLUDED.revoked_ms",
                 p, NULL);
    prd_pg_params_free(p);
    return st;
}

prd_status prd__revoked_pg_since(struct prd_pg_pool *pool, int64_t since_ms,
                                 void (*fn)(void *arg, const unsigned char *digest,
                                            int64_t expires_ns),
                                 void *arg, int64_t *db_now_ms)
{
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, since_ms);
    /* the clock first, then the rows (a row of NULLs when there are none) */
    if (st == PRD_OK)
        st = prd__stores_run(pool,
                 "SELECT floor(extract(epoch FROM statement_timestamp()) * 1000)::int8, r.jti, "
                 "r.expires_ns FROM (SELECT 1) one LEFT JOIN prd_token_revoked r "
                 "ON r.revoked_ms >= $1",
                 p, &r);
    prd_pg_params_free(p);
    if (st == PRD_OK && (prd_pg_result_rows(r) < 1 || prd_pg_result_int64(r, 0, 0, db_now_ms) != PRD_OK))
        st = PRD_EDB;
    for (size_t i = 0; st == PRD_OK && i < prd_pg_result_rows(r); i++) {
        if (prd_pg_result_is_null(r, i, 1))
            continue;
        unsigned char d[PRD__JTI_DIGEST];
        size_t len = 0;
        int64_t exp = 0;
        if (prd_pg_result_bytea(r, i, 1, d, sizeof d, &len) != PRD_OK || len != sizeof d ||
            prd_pg_result_int64(r, i, 2, &exp) != PRD_OK) {
            st = PRD_EDB;
            break;
        }
        fn(arg, d, exp);
    }
    prd_pg_result_free(r);
    return st;
}
