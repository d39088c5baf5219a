/*
 * Versioned schema migrations (prd_pg_migrate). Each migration runs in a
 * transaction of its own that first takes a transaction-scoped advisory
 * lock for its set, so instances starting together apply each version
 * exactly once, in order, whoever gets there first. A version table keeps
 * each applied migration's SHA-256; a migration whose text changed since
 * it was applied is refused (the database is not what the code says).
 */
#include "internal/common.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "internal/pg.h"

#define VERSION_TABLE "prd_schema_migrations"

static const char *const create_table =
    "CREATE TABLE IF NOT EXISTS " VERSION_TABLE " ("
    " migration_set text NOT NULL,"
    " version integer NOT NULL,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (migration_set, version))";

static void checksum_hex(const char *sql, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)sql, strlen(sql));
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* The lock's key: one per set, from its name (pg_advisory_xact_lock takes
 * an int8; the first 8 bytes of a hash keep sets apart). */
static int64_t lock_key(const char *set)
{
    unsigned char h[crypto_generichash_BYTES_MIN];
    char tagged[160];
    int n = snprintf(tagged, sizeof tagged, "prodready migrations: %s", set);
    crypto_generichash(h, sizeof h, (const unsigned char *)tagged, (unsigned long long)n, NULL, 0);
    int64_t k;
    memcpy(&k, h, sizeof k);
    return k;
}

static prd_status fail(prd_pg_error *err, prd_pg_conn *c, prd_status st, uint32_t version,
                       const char *what)
{
    if (err) {
        const prd_pg_error *ce = prd_pg_conn_error(c);
        prd__pg_error_copy(err, ce);
        char msg[PRD__PG_ERRMSG_MAX + 160];
        int len = snprintf(msg, sizeof msg, "migration %u: %.100s: %s", version, what,
                           ce->message[0] ? ce->message : prd_status_str(st));
        size_t keep = len < 0 ? 0 : (size_t)len < sizeof err->message ? (size_t)len
                                                                       : sizeof err->message - 1;
        memcpy(err->message, msg, keep);
        err->message[keep] = '\0';
        err->status = st;
    }
    return st;
}

static prd_status run(prd_pg_conn *c, const char *sql)
{
    return prd__pg_exec_simple(c, sql);
}

/* One migration in its own transaction; *ran 1 when it was applied now. */
static prd_status apply_one(prd_pg_conn *c, const char *set, int64_t key,
                            const prd_pg_migration *m, int *ran, prd_pg_error *err)
{
    *ran = 0;
    char sum[65];
    checksum_hex(m->sql, sum);
    prd_status st = run(c, "BEGIN");
    if (st != PRD_OK)
        return fail(err, c, st, m->version, "BEGIN");
    char keytext[24], vertext[12];
    snprintf(keytext, sizeof keytext, "%lld", (long long)key);
    snprintf(vertext, sizeof vertext, "%u", m->version);
    const char *lockv[1] = {keytext};
    st = prd_pg_query_text(c, "SELECT pg_advisory_xact_lock($1::int8)", 1, lockv, NULL);
    if (st == PRD_OK)
        st = run(c, create_table);
    prd_pg_result *r = NULL;
    const char *findv[2] = {set, vertext};
    if (st == PRD_OK)
        st = prd_pg_query_text(c,
                               "SELECT checksum FROM " VERSION_TABLE
                               " WHERE migration_set = $1 AND version = $2::int4",
                               2, findv, &r);
    if (st != PRD_OK) {
        prd_pg_result_free(r);
        fail(err, c, st, m->version, "reading the version table");
        run(c, "ROLLBACK");
        return st;
    }
    if (prd_pg_result_rows(r) == 1) { /* applied before: the text must not have changed */
        const char *had = prd_pg_result_text(r, 0, 0, NULL);
        int same = had && strcmp(had, sum) == 0;
        prd_pg_result_free(r);
        run(c, "ROLLBACK");
        if (!same) {
            prd__pg_error_set(err, PRD_ECONFLICT, NULL,
                              "migration %u of set %s was edited after it was applied "
                              "(checksum differs): refused",
                              m->version, set);
            return PRD_ECONFLICT;
        }
        return PRD_OK;
    }
    prd_pg_result_free(r);
    st = run(c, m->sql);
    if (st != PRD_OK) {
        fail(err, c, st, m->version, m->name ? m->name : "");
        run(c, "ROLLBACK");
        return st;
    }
    const char *insv[4] = {set, vertext, m->name ? m->name : "", sum};
    st = prd_pg_query_text(c,
                           "INSERT INTO " VERSION_TABLE
                           " (migration_set, version, name, checksum) VALUES ($1, $2::int4, $3, $4)",
                           4, insv, NULL);
    if (st == PRD_OK)
        st = run(c, "COMMIT");
    if (st != PRD_OK) {
        fail(err, c, st, m->version, "recording it");
        run(c, "ROLLBACK");
        return st;
    }
    *ran = 1;
    return PRD_OK;
}

prd_status prd_pg_migrate(prd_pg_pool *pool, const char *set, const prd_pg_migration *migs,
                          size_t n, uint32_t *applied, prd_pg_error *err)
{
    if (applied)
        *applied = 0;
    prd__pg_error_clear(err);
    if (!pool || !set || !*set || strlen(set) > 100 || (n && !migs))
        return PRD_EINVAL;
    /* Each entry declares its size (PRD_PG_MIGRATION): the array's stride,
     * the same for all, at least this version's. */
    size_t stride = n ? migs[0].size : sizeof *migs;
    /* Above 16 times this struct it is uninitialised memory, not a later
     * version: striding by it would read far outside the array. */
    if (stride < sizeof *migs || stride > 16 * sizeof *migs) {
        prd__pg_error_set(err, PRD_EINVAL, NULL,
                          "migration entries must be made with PRD_PG_MIGRATION (size unset)");
        return PRD_EINVAL;
    }
#define MIG(i) ((const prd_pg_migration *)(const void *)((const char *)migs + (i) * stride))
    for (size_t i = 0; i < n; i++) {
        if (MIG(i)->size != stride || !MIG(i)->sql || MIG(i)->version == 0 ||
            MIG(i)->version > INT32_MAX || (i > 0 && MIG(i)->version <= MIG(i - 1)->version)) {
            prd__pg_error_set(err, PRD_EINVAL, NULL,
                              "migrations must have one size, SQL and strictly increasing "
                              "versions from 1 (entry %zu)",
                              i);
            return PRD_EINVAL;
        }
    }
    prd_pg_conn *c = NULL;
    prd_status st = prd_pg_acquire(pool, &c, err);
    if (st != PRD_OK)
        return st;
    int64_t key = lock_key(set);
    for (size_t i = 0; i < n && st == PRD_OK; i++) {
        int ran = 0;
        st = apply_one(c, set, key, MIG(i), &ran, err);
        if (ran && applied)
            (*applied)++;
    }
    prd_pg_pool_release(c);
    return st;
#undef MIG
}
