/* The jti revocation list's PostgreSQL side (lib/stores/revocations_pg.c). */
#ifndef PRD_INTERNAL_TOKEN_REVOCATIONS_H
#define PRD_INTERNAL_TOKEN_REVOCATIONS_H

#include <stdint.h>

#include "prodready/core.h"

#define PRD__JTI_DIGEST 16
/* How far before the last merge's start the next one reads (ms): a
 * revocation whose insert took longer than this to commit could be missed. */
#define PRD__REVOKED_OVERLAP_MS 5000

struct prd_pg_pool;
void prd__jti_digest(unsigned char out[PRD__JTI_DIGEST], const char *jti, size_t len);
prd_status prd__revoked_pg_add(struct prd_pg_pool *pool, const unsigned char *digest,
                               int64_t expires_ns);
/* Every revocation recorded at or after since_ms by the database's clock
 * (all when since_ms < 0), each passed to fn; *db_now_ms gets the
 * database's clock at the statement's start. */
prd_status prd__revoked_pg_since(struct prd_pg_pool *pool, int64_t since_ms,
                                 void (*fn)(void *arg, const unsigned char *digest,
                                            int64_t expires_ns),
                                 void *arg, int64_t *db_now_ms);

#endif
