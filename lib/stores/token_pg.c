/*
 * The token store in PostgreSQL (prd_token_store_new_pg): session and
 * single-use records in the logged table prd_token_records, so every
 * instance sees a session made, rotated or revoked on another, and none
 * is lost on a restart. Each operation is one statement; taking a record
 * (single use, rotation) is DELETE ... RETURNING, so of two instances
 * redeeming one token at once exactly one gets it.
 */
#include "internal/common.h"

#include <stdio.h>
#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"
#include "internal/stores.h"
#include "internal/token_store.h"

struct pg_store {
    prd_pg_pool *pool;
};

#define COLUMNS "kind, subject, purpose, binding_fp, created_ns, last_used_ns, idle_ns, expires_ns"

static prd_status run(struct pg_store *s, const char *sql, const prd_pg_params *p,
                      prd_pg_result **out)
{
    return prd__stores_run(s->pool, sql, p, out);
}

static prd_status digest_param(prd_pg_params **p, const unsigned char *digest)
{
    prd_status st = prd_pg_params_new(p);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(*p, digest, PRD_OPAQUE_DIGEST_BYTES);
    return st;
}

static prd_status row_to_record(const prd_pg_result *r, const unsigned char *digest,
                                struct prd__token_record *out)
{
    if (prd_pg_result_rows(r) == 0)
        return PRD_ENOTFOUND;
    memset(out, 0, sizeof *out);
    memcpy(out->digest, digest, PRD_OPAQUE_DIGEST_BYTES);
    int64_t kind = 0;
    size_t len = 0;
    const char *subject = prd_pg_result_text(r, 0, 1, &len);
    const char *purpose = prd_pg_result_text(r, 0, 2, NULL);
    if (prd_pg_result_int64(r, 0, 0, &kind) != PRD_OK || !subject ||
        len > PRD_SESSION_SUBJECT_MAX || !purpose || strlen(purpose) >= sizeof out->purpose ||
        prd_pg_result_int64(r, 0, 4, &out->created_ns) != PRD_OK ||
        prd_pg_result_int64(r, 0, 5, &out->last_used_ns) != PRD_OK ||
        prd_pg_result_int64(r, 0, 6, &out->idle_ns) != PRD_OK ||
        prd_pg_result_int64(r, 0, 7, &out->expires_ns) != PRD_OK)
        return PRD_EDB;
    if (kind < PRD__RECORD_SESSION || kind > PRD__RECORD_FAMILY)
        return PRD_EDB;
    out->kind = (enum prd__record_kind)kind;
    memcpy(out->subject, subject, len);
    strcpy(out->purpose, purpose);
    if (!prd_pg_result_is_null(r, 0, 3)) {
        size_t fl = 0;
        if (prd_pg_result_bytea(r, 0, 3, out->binding_fp, sizeof out->binding_fp, &fl) != PRD_OK ||
            fl != sizeof out->binding_fp)
            return PRD_EDB;
        out->has_binding = 1;
    }
    return PRD_OK;
}

static prd_status pg_put(void *impl, const struct prd__token_record *rec, int64_t now)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_status st = digest_param(&p, rec->digest);
    if (st == PRD_OK)
        st = prd_pg_params_add_int32(p, (int32_t)rec->kind);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, rec->subject);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, rec->purpose);
    if (st == PRD_OK)
        st = rec->has_binding ? prd_pg_params_add_bytea(p, rec->binding_fp, sizeof rec->binding_fp)
                              : prd_pg_params_add_null(p);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, rec->created_ns);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, rec->last_used_ns);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, rec->idle_ns);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, rec->expires_ns);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, now);
    if (st == PRD_OK)
        st = rec->kind == PRD__RECORD_REFRESH
                 ? prd_pg_params_add_bytea(p, rec->family, sizeof rec->family)
                 : prd_pg_params_add_null(p);
    /* One statement: the new record, and up to 16 records past their
     * absolute end deleted on the way by prd_token_sweep (schema v6; no
     * sweeper to run). */
    if (st == PRD_OK)
        st = run(s,
                 "INSERT INTO prd_token_records (digest, " COLUMNS
                 ", family) SELECT $1, $2::int2, $3, $4, $5, $6, $7, $8, $9, $11 "
                 "FROM prd_token_sweep($10)",
                 p, NULL);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_get(void *impl, const unsigned char *digest, struct prd__token_record *out)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = digest_param(&p, digest);
    if (st == PRD_OK)
        st = run(s, "SELECT " COLUMNS " FROM prd_token_records WHERE digest = $1", p, &r);
    if (st == PRD_OK)
        st = row_to_record(r, digest, out);
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_touch(void *impl, const unsigned char *digest, int64_t last_used)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = digest_param(&p, digest);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, last_used);
    if (st == PRD_OK)
        st = run(s,
                 "UPDATE prd_token_records SET last_used_ns = greatest(last_used_ns, $2) "
                 "WHERE digest = $1",
                 p, &r);
    if (st == PRD_OK && prd_pg_result_affected(r) == 0)
        st = PRD_ENOTFOUND;
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_take(void *impl, const unsigned char *digest, struct prd__token_record *out)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = digest_param(&p, digest);
    if (st == PRD_OK)
        st = run(s, "DELETE FROM prd_token_records WHERE digest = $1 RETURNING " COLUMNS, p, &r);
    if (st == PRD_OK)
        st = row_to_record(r, digest, out);
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_remove_subject(void *impl, const char *subject, size_t *count)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, subject);
    if (st == PRD_OK)
        st = run(s, "DELETE FROM prd_token_records WHERE subject = $1", p, &r);
    if (st == PRD_OK && count)
        *count = (size_t)prd_pg_result_affected(r);
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_refresh(void *impl, const unsigned char *digest, const unsigned char *next,
                             int64_t now, int64_t ttl_ns, int64_t grace_ns,
                             enum prd__refresh_outcome *outcome,
                             char subject[PRD_SESSION_SUBJECT_SIZE])
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = digest_param(&p, digest);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(p, next, PRD_OPAQUE_DIGEST_BYTES);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, now);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, ttl_ns);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, grace_ns);
    if (st == PRD_OK)
        st = run(s, "SELECT outcome, subject FROM prd_token_refresh($1, $2, $3, $4, $5)", p, &r);
    int64_t o = -1;
    if (st == PRD_OK && (prd_pg_result_rows(r) != 1 || prd_pg_result_int64(r, 0, 0, &o) != PRD_OK ||
                         o < PRD__REFRESH_OK || o > PRD__REFRESH_EXPIRED))
        st = PRD_EDB;
    if (st == PRD_OK) {
        *outcome = (enum prd__refresh_outcome)o;
        size_t len = 0;
        const char *subj = prd_pg_result_is_null(r, 0, 1) ? NULL : prd_pg_result_text(r, 0, 1, &len);
        if (subj && len <= PRD_SESSION_SUBJECT_MAX) {
            memcpy(subject, subj, len);
            subject[len] = '\0';
        }
    }
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_refresh_revoke(void *impl, const unsigned char *digest)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = digest_param(&p, digest);
    /* the token and its family in one statement */
    if (st == PRD_OK)
        st = run(s,
                 "WITH t AS (DELETE FROM prd_token_records WHERE digest = $1 AND kind = 3 "
                 "RETURNING family), f AS (DELETE FROM prd_token_records WHERE kind = 4 AND "
                 "digest IN (SELECT family FROM t)) SELECT count(*) FROM t",
                 p, &r);
    int64_t n = 0;
    if (st == PRD_OK && prd_pg_result_int64(r, 0, 0, &n) != PRD_OK)
        st = PRD_EDB;
    if (st == PRD_OK && n == 0)
        st = PRD_ENOTFOUND;
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_list_subject(void *impl, const char *subject, int64_t now,
                                  struct prd__token_record *out, size_t cap, size_t *total)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, subject);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, now);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, (int64_t)cap);
    /* the count comes with the rows; with cap 0 a row of it alone */
    if (st == PRD_OK)
        st = run(s,
                 "WITH live AS (SELECT digest, kind, created_ns, last_used_ns, idle_ns, expires_ns "
                 "FROM prd_token_records WHERE subject = $1 AND kind IN (1, 4) AND expires_ns > $2 "
                 "AND (kind <> 1 OR last_used_ns + idle_ns > $2)) "
                 "SELECT (SELECT count(*) FROM live), l.* FROM (SELECT 1) one LEFT JOIN "
                 "(SELECT * FROM live ORDER BY created_ns LIMIT $3) l ON true",
                 p, &r);
    int64_t n = 0;
    if (st == PRD_OK && (prd_pg_result_rows(r) < 1 || prd_pg_result_int64(r, 0, 0, &n) != PRD_OK))
        st = PRD_EDB;
    for (size_t i = 0; st == PRD_OK && i < prd_pg_result_rows(r) && i < cap; i++) {
        if (prd_pg_result_is_null(r, i, 1))
            break;
        struct prd__token_record *o = &out[i];
        int64_t kind = 0;
        size_t dl = 0;
        memset(o, 0, sizeof *o);
        if (prd_pg_result_bytea(r, i, 1, o->digest, sizeof o->digest, &dl) != PRD_OK ||
            dl != sizeof o->digest || prd_pg_result_int64(r, i, 2, &kind) != PRD_OK ||
            prd_pg_result_int64(r, i, 3, &o->created_ns) != PRD_OK ||
            prd_pg_result_int64(r, i, 4, &o->last_used_ns) != PRD_OK ||
            prd_pg_result_int64(r, i, 5, &o->idle_ns) != PRD_OK ||
            prd_pg_result_int64(r, i, 6, &o->expires_ns) != PRD_OK)
            st = PRD_EDB;
        o->kind = kind == PRD__RECORD_FAMILY ? PRD__RECORD_FAMILY : PRD__RECORD_SESSION;
    }
    if (st == PRD_OK)
        *total = (size_t)n;
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static prd_status pg_remove_id(void *impl, const char *subject, const unsigned char *id)
{
    struct pg_store *s = impl;
    prd_pg_params *p = NULL;
    prd_pg_result *r = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, subject);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(p, id, PRD__SESSION_ID_BYTES);
    if (st == PRD_OK)
        st = run(s,
                 "DELETE FROM prd_token_records WHERE subject = $1 AND kind IN (1, 4) AND "
                 "substring(digest FROM 1 FOR 16) = $2",
                 p, &r);
    if (st == PRD_OK && prd_pg_result_affected(r) == 0)
        st = PRD_ENOTFOUND;
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    return st;
}

static size_t pg_count(void *impl)
{
    struct pg_store *s = impl;
    prd_pg_result *r = NULL;
    int64_t n = 0;
    if (run(s, "SELECT count(*) FROM prd_token_records", NULL, &r) != PRD_OK ||
        prd_pg_result_int64(r, 0, 0, &n) != PRD_OK)
        n = 0;
    prd_pg_result_free(r);
    return n > 0 ? (size_t)n : 0;
}

static void pg_destroy(void *impl)
{
    prd__free(impl);
}

static const struct prd__token_store_ops pg_ops = {
    .put = pg_put,
    .get = pg_get,
    .touch = pg_touch,
    .take = pg_take,
    .remove_subject = pg_remove_subject,
    .refresh = pg_refresh,
    .refresh_revoke = pg_refresh_revoke,
    .list_subject = pg_list_subject,
    .remove_id = pg_remove_id,
    .count = pg_count,
    .destroy = pg_destroy,
};

prd_status prd_token_store_new_pg(struct prd_pg_pool *pool, prd_token_store **out)
{
    if (out)
        *out = NULL;
    if (!pool || !out)
        return PRD_EINVAL;
    prd_token_store *s = prd__calloc(1, sizeof *s);
    struct pg_store *impl = prd__calloc(1, sizeof *impl);
    if (!s || !impl) {
        prd__free(s);
        prd__free(impl);
        return PRD_ENOMEM;
    }
    impl->pool = pool;
    s->ops = &pg_ops;
    s->impl = impl;
    *out = s;
    return PRD_OK;
}
