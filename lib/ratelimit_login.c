/* prd_login_guard: per-IP attempts, per-account failures from unfamiliar
 * sources, and exponential backoff per (account, source). */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/ratelimit.h"

#include <string.h>

#include <sodium.h>

#define TRUST_MS (INT64_C(30) * 86400 * 1000) /* a successful source is familiar for 30 days */

struct prd_login_guard {
    prd_limiter *ip;       /* attempts per source */
    prd_limiter *account;  /* failures per account from unfamiliar sources */
    prd_limiter *pairs;    /* backoff and familiarity per (account, source) */
    uint32_t free_failures;
    int64_t base_ms, cap_ms;
    size_t max_keys;
    uint64_t ip_limit, acct_limit;
    int64_t ip_window, acct_window;
    const prd_clock *clock;
};

static prd_limiter *make(size_t max_keys, const char *name, uint64_t limit, int64_t window,
                         uint32_t alg, prd_status *st)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    *st = prd_limiter_config_new(&cfg);
    if (*st == PRD_OK)
        *st = prd_limiter_config_set_max_keys(cfg, max_keys);
    if (*st == PRD_OK && alg == PRD__RL_PAIR) {
        *st = prd_limiter_config_add_rule(cfg, name, 1, window, PRD_RL_COUNTER);
        cfg->rules[0].algorithm = PRD__RL_PAIR;
    } else if (*st == PRD_OK) {
        *st = prd_limiter_config_add_rule(cfg, name, limit, window, (prd_rl_algorithm)alg);
    }
    if (*st == PRD_OK)
        *st = prd_limiter_new(cfg, &l);
    prd_limiter_config_free(cfg);
    return l;
}

static prd_status rebuild(prd_login_guard *g)
{
    prd_status st;
    prd_limiter *ip = make(g->max_keys, "ip", g->ip_limit, g->ip_window, PRD_RL_COUNTER, &st);
    prd_limiter *acct = st == PRD_OK ? make(g->max_keys, "account", g->acct_limit, g->acct_window,
                                            PRD_RL_EXACT, &st)
                                     : NULL;
    prd_limiter *pairs = st == PRD_OK ? make(g->max_keys, "pair", 1, TRUST_MS, PRD__RL_PAIR, &st)
                                      : NULL;
    if (st != PRD_OK) {
        prd_limiter_free(ip);
        prd_limiter_free(acct);
        prd_limiter_free(pairs);
        return st;
    }
    prd_limiter_free(g->ip);
    prd_limiter_free(g->account);
    prd_limiter_free(g->pairs);
    g->ip = ip;
    g->account = acct;
    g->pairs = pairs;
    return PRD_OK;
}

prd_status prd_login_guard_new(size_t max_keys, prd_login_guard **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (max_keys < 16 || max_keys > (size_t)1 << 24)
        return PRD_EINVAL;
    prd_login_guard *g = prd__calloc(1, sizeof *g);
    if (!g)
        return PRD_ENOMEM;
    g->max_keys = max_keys;
    g->ip_limit = 100;
    g->ip_window = 3600 * 1000;
    g->acct_limit = 10;
    g->acct_window = 15 * 60 * 1000;
    g->free_failures = 3;
    g->base_ms = 1000;
    g->cap_ms = 15 * 60 * 1000;
    prd_status st = rebuild(g);
    if (st != PRD_OK) {
        prd__free(g);
        return st;
    }
    *out = g;
    return PRD_OK;
}

void prd_login_guard_free(prd_login_guard *g)
{
    if (!g)
        return;
    prd_limiter_free(g->ip);
    prd_limiter_free(g->account);
    prd_limiter_free(g->pairs);
    prd__free(g);
}

prd_status prd_login_guard_set_limits(prd_login_guard *g, uint64_t ip_attempts,
                                      int64_t ip_window_ms, uint64_t account_failures,
                                      int64_t account_window_ms)
{
    if (!g || !ip_attempts || ip_window_ms <= 0 || !account_failures || account_window_ms <= 0 ||
        account_failures > PRD_RL_EXACT_MAX_LIMIT)
        return PRD_EINVAL;
    prd_login_guard old = *g;
    g->ip_limit = ip_attempts;
    g->ip_window = ip_window_ms;
    g->acct_limit = account_failures;
    g->acct_window = account_window_ms;
    prd_status st = rebuild(g); /* configuration happens before use: state starts fresh */
    if (st != PRD_OK) {
        g->ip_limit = old.ip_limit;
        g->ip_window = old.ip_window;
        g->acct_limit = old.acct_limit;
        g->acct_window = old.acct_window;
    }
    return st;
}

prd_status prd_login_guard_set_backoff(prd_login_guard *g, uint32_t free_failures,
                                       int64_t base_ms, int64_t cap_ms)
{
    if (!g || base_ms <= 0 || cap_ms < base_ms || cap_ms > INT64_C(86400) * 1000)
        return PRD_EINVAL;
    g->free_failures = free_failures;
    g->base_ms = base_ms;
    g->cap_ms = cap_ms;
    return PRD_OK;
}

prd_status prd_login_guard_set_clock(prd_login_guard *g, const prd_clock *clock)
{
    if (!g)
        return PRD_EINVAL;
    g->clock = clock;
    return PRD_OK;
}

static int64_t now_ms(const prd_login_guard *g)
{
    return prd_clock_mono_ns(g->clock) / 1000000;
}

/* The pair key: account and source, length-prefixed so ("ab","c") and
 * ("a","bc") differ, hashed under the pair table's key. */
static uint64_t pair_hash(const prd_login_guard *g, const void *a, size_t alen, const void *s,
                          size_t slen)
{
    unsigned char buf[2 * PRD_RL_KEY_MAX + 16];
    uint64_t al = alen;
    memcpy(buf, &al, 8);
    memcpy(buf + 8, a, alen);
    memcpy(buf + 8 + alen, s, slen);
    prd_rl_key k = {buf, 8 + alen + slen};
    return prd__rl_key_hash(g->pairs, &k);
}

/* Run fn on the pair's record under its shard lock. */
static prd_status with_pair(prd_login_guard *g, uint64_t hash, int64_t now,
                            void (*fn)(prd_login_guard *, struct prd__rl_slot *, int64_t, void *),
                            void *arg)
{
    const struct prd__rl_rule *r = &g->pairs->hdr->rules[0];
    struct prd__rl_shard *sh = prd__rl_shard(g->pairs, 0, (hash >> 40) & (r->shards - 1));
    prd__rl_lock(sh);
    struct prd__rl_slot *s = prd__rl_find_or_insert(g->pairs, 0, sh, hash, now);
    if (s)
        fn(g, s, now, arg);
    prd__rl_reclaim(g->pairs, 0, sh, 2, now);
    prd__rl_unlock(sh);
    return s ? PRD_OK : PRD_EBUSY;
}

static struct prd__rl_pair *pair_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_pair *)(s + 1);
}

struct pair_view {
    int64_t wait_ms;
    int trusted;
};

static void read_pair(prd_login_guard *g, struct prd__rl_slot *s, int64_t now, void *arg)
{
    struct pair_view *v = arg;
    struct prd__rl_pair *p = pair_of(s);
    v->trusted = p->trusted_until_ms > now;
    v->wait_ms = 0;
    if (p->failures > g->free_failures) {
        uint32_t doublings = p->failures - g->free_failures - 1;
        int64_t wait = g->cap_ms;
        if (doublings < 40 && (g->base_ms << doublings) < g->cap_ms)
            wait = g->base_ms << doublings;
        int64_t until = p->last_failure_ms + wait;
        v->wait_ms = until > now ? until - now : 0;
    }
}

static int args_ok(const void *a, size_t alen, const void *s, size_t slen)
{
    return (a || !alen) && (s || !slen) && alen <= PRD_RL_KEY_MAX && slen <= PRD_RL_KEY_MAX;
}

prd_status prd_login_guard_check(prd_login_guard *g, const void *account, size_t account_len,
                                 const void *source, size_t source_len, int64_t *retry_after_ms)
{
    if (retry_after_ms)
        *retry_after_ms = 0;
    if (!g || !args_ok(account, account_len, source, source_len))
        return PRD_EINVAL;
    int64_t now = now_ms(g);
    struct pair_view v = {0, 0};
    prd_status st = with_pair(g, pair_hash(g, account, account_len, source, source_len), now,
                              read_pair, &v);
    if (st != PRD_OK)
        return st;
    int64_t wait = v.wait_ms;
    prd_rl_decision d;
    if (!v.trusted) {
        /* Would one more failure from an unfamiliar source still fit? */
        prd_rl_key ak = {account, account_len};
        st = prd__limiter_peek_at(g->account, &ak, 1, 1, now, &d);
        if (st == PRD_ELIMITED && d.retry_after_ms > wait)
            wait = d.retry_after_ms;
        else if (st != PRD_OK && st != PRD_ELIMITED)
            return st;
    }
    if (wait == 0) {
        prd_rl_key sk = {source, source_len};
        st = prd_limiter_check_at(g->ip, &sk, 1, 1, now, &d);
        if (st == PRD_ELIMITED)
            wait = d.retry_after_ms < 0 ? g->ip_window : d.retry_after_ms;
        else if (st != PRD_OK)
            return st;
    }
    if (wait > 0) {
        if (retry_after_ms)
            *retry_after_ms = wait;
        return PRD_ELIMITED;
    }
    return PRD_OK;
}

static void add_failure(prd_login_guard *g, struct prd__rl_slot *s, int64_t now, void *arg)
{
    (void)g;
    struct pair_view *v = arg;
    struct prd__rl_pair *p = pair_of(s);
    v->trusted = p->trusted_until_ms > now;
    if (p->failures < UINT32_MAX)
        p->failures++;
    p->last_failure_ms = now;
    s->last_ms = now;
}

prd_status prd_login_guard_failure(prd_login_guard *g, const void *account, size_t account_len,
                                   const void *source, size_t source_len)
{
    if (!g || !args_ok(account, account_len, source, source_len))
        return PRD_EINVAL;
    int64_t now = now_ms(g);
    struct pair_view v = {0, 0};
    prd_status st = with_pair(g, pair_hash(g, account, account_len, source, source_len), now,
                              add_failure, &v);
    if (st != PRD_OK || v.trusted)
        return st;
    prd_rl_key ak = {account, account_len};
    prd_rl_decision d;
    st = prd_limiter_check_at(g->account, &ak, 1, 1, now, &d);
    return st == PRD_ELIMITED ? PRD_OK : st; /* already over: nothing more to record */
}

static void add_success(prd_login_guard *g, struct prd__rl_slot *s, int64_t now, void *arg)
{
    (void)g;
    (void)arg;
    struct prd__rl_pair *p = pair_of(s);
    p->failures = 0;
    p->trusted_until_ms = now + TRUST_MS;
    s->last_ms = now;
}

prd_status prd_login_guard_success(prd_login_guard *g, const void *account, size_t account_len,
                                   const void *source, size_t source_len)
{
    if (!g || !args_ok(account, account_len, source, source_len))
        return PRD_EINVAL;
    return with_pair(g, pair_hash(g, account, account_len, source, source_len), now_ms(g),
                     add_success, NULL);
}
