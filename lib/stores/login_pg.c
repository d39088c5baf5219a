/*
 * The login guard's state in PostgreSQL (prd_login_guard_set_pg): a check
 * is one call of prd_login_check, a settle one of prd_login_settle
 * (lib/stores/schema.c, migration 3), so the guard's per-account and
 * per-source limits hold across every instance that shares the database.
 * The source and account limits live in prd_rl_state beside the rate
 * limiter's rules, under rule ids with a '.' (which a limiter rule's name
 * cannot have), so the two never share a row.
 */
#include "internal/common.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "internal/pg.h"
#include "internal/stores.h"
#include "internal/ratelimit.h"

/* The digests are unkeyed (every instance must compute the same one)
 * but domain-separated, so an account and a source of the same bytes
 * differ. */
void prd__login_pg_digest(unsigned char out[PRD__LOGIN_DIGEST], int source, const void *data,
                          size_t len)
{
    static const unsigned char dom_a[] = "prodready login account";
    static const unsigned char dom_s[] = "prodready login source";
    crypto_generichash(out, PRD__LOGIN_DIGEST, data ? data : (const void *)"", len,
                       source ? dom_s : dom_a, (source ? sizeof dom_s : sizeof dom_a) - 1);
}

static void rule_ids(const struct prd__login_pg_params *p, char *src, char *acct, size_t cap)
{
    snprintf(src, cap, "login.source:1:%llu:%lld:%llu", (unsigned long long)p->src_limit,
             (long long)p->src_window, (unsigned long long)p->src_limit);
    snprintf(acct, cap, "login.account:0:%llu:%lld:%llu", (unsigned long long)p->acct_limit,
             (long long)p->acct_window, (unsigned long long)p->acct_limit);
}

static const char check_sql[] =
    "SELECT allowed, rule, lim, remaining, reset_ms, retry_after_ms, trusted, acct_t,"
    " acct_lock_ms, starts_backoff, src_lock_ms FROM prd_login_check($1, $2, $3, $4, $5, $6,"
    " $7, $8, $9, $10, $11)";

prd_status prd__login_pg_check(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                               const unsigned char *account, const unsigned char *source,
                               struct prd__login_pg_verdict *v)
{
    memset(v, 0, sizeof *v);
    char src_rule[96], acct_rule[96];
    rule_ids(p, src_rule, acct_rule, sizeof src_rule);
    prd_pg_params *q = NULL;
    prd_status st = prd_pg_params_new(&q);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(q, account, PRD__LOGIN_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(q, source, PRD__LOGIN_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(q, src_rule);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, (int64_t)p->src_limit);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->src_window);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(q, acct_rule);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, (int64_t)p->acct_limit);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->acct_window);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->free_failures);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->base_ms);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->cap_ms);
    prd_pg_result *r = NULL;
    if (st == PRD_OK)
        st = prd__stores_run(pool, check_sql, q, &r);
    prd_pg_params_free(q);
    if (st == PRD_OK)
        st = prd__stores_decision(r, &v->d);
    if (st == PRD_OK &&
        (prd_pg_result_bool(r, 0, 6, &v->trusted) != PRD_OK ||
         prd_pg_result_int64(r, 0, 8, &v->acct_lock_ms) != PRD_OK ||
         prd_pg_result_bool(r, 0, 9, &v->starts_backoff) != PRD_OK ||
         prd_pg_result_int64(r, 0, 10, &v->src_lock_ms) != PRD_OK))
        st = PRD_EDB; /* not the function this code was built for */
    if (st == PRD_OK && !prd_pg_result_is_null(r, 0, 7)) {
        v->has_acct_t = prd_pg_result_int64(r, 0, 7, &v->acct_t) == PRD_OK;
        if (!v->has_acct_t)
            st = PRD_EDB;
    }
    prd_pg_result_free(r);
    if (st != PRD_OK)
        return st;
    return v->d.allowed ? PRD_OK : PRD_ELIMITED;
}

prd_status prd__login_pg_settle(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                                const unsigned char *account, const unsigned char *source,
                                int outcome, int trusted, int has_acct_t, int64_t acct_t)
{
    char src_rule[96], acct_rule[96];
    rule_ids(p, src_rule, acct_rule, sizeof src_rule);
    prd_pg_params *q = NULL;
    prd_status st = prd_pg_params_new(&q);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(q, account, PRD__LOGIN_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(q, source, PRD__LOGIN_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(q, acct_rule);
    if (st == PRD_OK)
        st = has_acct_t ? prd_pg_params_add_int64(q, acct_t) : prd_pg_params_add_null(q);
    if (st == PRD_OK)
        st = prd_pg_params_add_int32(q, outcome);
    if (st == PRD_OK)
        st = prd_pg_params_add_bool(q, trusted);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(q, p->trust_ms);
    prd_pg_result *r = NULL;
    if (st == PRD_OK)
        st = prd__stores_run(pool, "SELECT prd_login_settle($1, $2, $3, $4::int8, $5, $6, $7)",
                             q, &r);
    prd_pg_params_free(q);
    prd_pg_result_free(r);
    return st;
}

prd_status prd__login_pg_unlock(struct prd_pg_pool *pool, const struct prd__login_pg_params *p,
                                const unsigned char *account)
{
    char src_rule[96], acct_rule[96];
    rule_ids(p, src_rule, acct_rule, sizeof src_rule);
    prd_pg_params *q = NULL;
    prd_status st = prd_pg_params_new(&q);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(q, account, PRD__LOGIN_DIGEST);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(q, acct_rule);
    prd_pg_result *r = NULL;
    if (st == PRD_OK)
        st = prd__stores_run(pool, "SELECT prd_login_unlock($1, $2)", q, &r);
    prd_pg_params_free(q);
    prd_pg_result_free(r);
    return st;
}
