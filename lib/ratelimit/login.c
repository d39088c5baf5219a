/*
 * prd_login_guard: per-source attempts, per-account failures from
 * unfamiliar sources, exponential backoff per (account, source), and the
 * familiar sources that are exempt from the account limit.
 *
 * Four tables (limiters of internal kinds), always locked in the same
 * order (source, account, pair, familiar) so a check decides and records
 * under all of its locks at once: concurrent attempts cannot all read the
 * same "allowed" state before any of them is counted.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/ratelimit.h"

#include "prodready/log.h"

#include <string.h>

#include <sodium.h>

#define TRUST_MS (INT64_C(30) * 86400 * 1000) /* a successful source is familiar for 30 days */
#define MAX_DAY_MS (INT64_C(86400) * 1000)

enum { T_SOURCE, T_ACCOUNT, T_PAIR, T_TRUST, N_TABLES };

enum {
    F_TRUSTED = 1,
    F_ACCOUNT_RESERVED = 2,
    F_LOCKS_ACCOUNT = 4,
    F_STARTS_BACKOFF = 8,
};

struct prd_login_guard {
    prd_limiter *t[N_TABLES];
    uint32_t free_failures;
    int64_t base_ms, cap_ms;
    size_t max_keys;
    uint64_t src_limit, acct_limit;
    int64_t src_window, acct_window;
    const prd_clock *clock;
    struct prd_logger *logger;
    prd_login_lockout_fn on_lockout;
    void *on_lockout_data;
    unsigned char fp_key[crypto_shorthash_KEYBYTES];
    uint64_t id;
    uint64_t counts[PRD_LOGIN_COUNT_DB_FAILED + 1];
    struct prd_pg_pool *pool; /* the state is in PostgreSQL when set */
};

/* What prd_login_attempt holds. */
struct attempt {
    uint64_t id;
    uint32_t state; /* 1 checked, 2 settled */
    uint32_t flags;
    union {
        struct { /* in memory */
            uint64_t hash[N_TABLES];
            uint64_t account_in_pairs; /* the account's hash under the pair table's key */
        } mem;
        struct { /* in PostgreSQL */
            unsigned char account[PRD__LOGIN_DIGEST], source[PRD__LOGIN_DIGEST];
            int64_t account_lock_ms;
        } pg;
    } u;
    int64_t account_t; /* the account key's time of the reserved failure */
    uint32_t account_len, report_len;
    char source_fp[24];
    unsigned char account[PRD_LOGIN_REPORT_ACCOUNT_MAX];
};
_Static_assert(sizeof(struct attempt) <= sizeof(prd_login_attempt), "prd_login_attempt too small");

static void count(prd_login_guard *g, prd_login_counter which)
{
    __atomic_fetch_add(&g->counts[which], 1, __ATOMIC_RELAXED);
}

static prd_limiter *make(size_t max_keys, const char *name, uint64_t limit, int64_t window,
                         uint32_t kind, prd_status *st)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    *st = prd_limiter_config_new(&cfg);
    if (*st == PRD_OK)
        *st = prd_limiter_config_set_max_keys(cfg, max_keys);
    if (*st == PRD_OK)
        *st = prd_limiter_config_add_rule(
            cfg, name, limit, window,
            kind == PRD_RL_EXACT ? PRD_RL_EXACT : PRD_RL_COUNTER);
    if (*st == PRD_OK) {
        cfg->rules[0].algorithm = kind; /* the guard's own kinds share the table code */
        *st = prd_limiter_new(cfg, &l);
    }
    prd_limiter_config_free(cfg);
    return l;
}

static prd_status rebuild(prd_login_guard *g)
{
    prd_status st = PRD_OK;
    prd_limiter *t[N_TABLES] = {0};
    uint64_t free_limit = g->free_failures ? g->free_failures : 1;
    t[T_SOURCE] = make(g->max_keys, "login-source", g->src_limit, g->src_window, PRD_RL_COUNTER, &st);
    if (st == PRD_OK)
        t[T_ACCOUNT] = make(g->max_keys, "login-account", g->acct_limit, g->acct_window,
                            PRD_RL_EXACT, &st);
    if (st == PRD_OK) /* a streak is forgotten twice the cap after its last failure */
        t[T_PAIR] = make(g->max_keys, "login-backoff", free_limit, 2 * g->cap_ms, PRD__RL_FAILS, &st);
    if (st == PRD_OK)
        t[T_TRUST] = make(g->max_keys, "login-familiar", 1, TRUST_MS, PRD__RL_TRUST, &st);
    if (st != PRD_OK) {
        for (int i = 0; i < N_TABLES; i++)
            prd_limiter_free(t[i]);
        return st;
    }
    for (int i = 0; i < N_TABLES; i++) {
        prd_limiter_free(g->t[i]);
        g->t[i] = t[i];
    }
    return PRD_OK;
}

prd_status prd_login_guard_new(size_t max_keys, prd_login_guard **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (max_keys < 16 || max_keys > (size_t)1 << 24)
        return PRD_EINVAL;
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    prd_login_guard *g = prd__calloc(1, sizeof *g);
    if (!g)
        return PRD_ENOMEM;
    g->max_keys = max_keys;
    g->src_limit = 100;
    g->src_window = 3600 * 1000;
    g->acct_limit = 10;
    g->acct_window = 15 * 60 * 1000;
    g->free_failures = 3;
    g->base_ms = 1000;
    g->cap_ms = 15 * 60 * 1000;
    randombytes_buf(g->fp_key, sizeof g->fp_key);
    randombytes_buf(&g->id, sizeof g->id);
    st = rebuild(g);
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
    for (int i = 0; i < N_TABLES; i++)
        prd_limiter_free(g->t[i]);
    sodium_memzero(g->fp_key, sizeof g->fp_key);
    prd__free(g);
}

prd_status prd_login_guard_set_limits(prd_login_guard *g, uint64_t source_attempts,
                                      int64_t source_window_ms, uint64_t account_failures,
                                      int64_t account_window_ms)
{
    if (!g || !source_attempts || source_attempts > UINT64_C(1) << 48 || source_window_ms <= 0 ||
        source_window_ms > 30 * MAX_DAY_MS || !account_failures || account_window_ms <= 0 ||
        account_window_ms > 30 * MAX_DAY_MS || account_failures > PRD_RL_EXACT_MAX_LIMIT)
        return PRD_EINVAL;
    prd_login_guard old = *g;
    g->src_limit = source_attempts;
    g->src_window = source_window_ms;
    g->acct_limit = account_failures;
    g->acct_window = account_window_ms;
    prd_status st = rebuild(g); /* configuration happens before use: state starts fresh */
    if (st != PRD_OK) {
        g->src_limit = old.src_limit;
        g->src_window = old.src_window;
        g->acct_limit = old.acct_limit;
        g->acct_window = old.acct_window;
    }
    return st;
}

prd_status prd_login_guard_set_backoff(prd_login_guard *g, uint32_t free_failures,
                                       int64_t base_ms, int64_t cap_ms)
{
    if (!g || base_ms <= 0 || cap_ms < base_ms || cap_ms > MAX_DAY_MS)
        return PRD_EINVAL;
    prd_login_guard old = *g;
    g->free_failures = free_failures;
    g->base_ms = base_ms;
    g->cap_ms = cap_ms;
    prd_status st = rebuild(g);
    if (st != PRD_OK) {
        g->free_failures = old.free_failures;
        g->base_ms = old.base_ms;
        g->cap_ms = old.cap_ms;
    }
    return st;
}

prd_status prd_login_guard_set_clock(prd_login_guard *g, const prd_clock *clock)
{
    if (!g)
        return PRD_EINVAL;
    g->clock = clock;
    return PRD_OK;
}

prd_status prd_login_guard_set_lockout_callback(prd_login_guard *g, prd_login_lockout_fn fn,
                                                void *user_data)
{
    if (!g)
        return PRD_EINVAL;
    g->on_lockout = fn;
    g->on_lockout_data = user_data;
    return PRD_OK;
}

prd_status prd_login_guard_set_logger(prd_login_guard *g, struct prd_logger *lg)
{
    if (!g)
        return PRD_EINVAL;
    g->logger = lg;
    return PRD_OK;
}

uint64_t prd_login_guard_count(const prd_login_guard *g, prd_login_counter which)
{
    if (!g || (unsigned)which > PRD_LOGIN_COUNT_DB_FAILED)
        return 0;
    return __atomic_load_n(&g->counts[which], __ATOMIC_RELAXED);
}

static int64_t now_ms(const prd_login_guard *g)
{
    return prd_clock_mono_ns(g->clock) / 1000000;
}

/* The pair key: account and source, length-prefixed so ("ab","c") and
 * ("a","bc") differ, hashed under a table's key. */
static uint64_t pair_hash(const prd_limiter *l, const void *a, size_t alen, const void *s,
                          size_t slen)
{
    unsigned char buf[2 * PRD_RL_KEY_MAX + 8];
    uint64_t al = alen;
    memcpy(buf, &al, 8);
    if (alen)
        memcpy(buf + 8, a, alen);
    if (slen)
        memcpy(buf + 8 + alen, s, slen);
    prd_rl_key k = {buf, 8 + alen + slen};
    return prd__rl_key_hash(l, &k);
}

static uint64_t key_hash(const prd_limiter *l, const void *data, size_t len)
{
    prd_rl_key k = {data, len};
    return prd__rl_key_hash(l, &k);
}

/* The wait a streak of n counted failures imposes from its last one. */
static int64_t backoff_wait(const prd_login_guard *g, uint64_t n)
{
    if (n < g->free_failures)
        return 0;
    uint64_t doublings = n - g->free_failures;
    if (doublings >= 40 || (g->base_ms << doublings) >= g->cap_ms)
        return g->cap_ms;
    return g->base_ms << doublings;
}

static struct prd__rl_fails *fails_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_fails *)(s + 1);
}

static struct prd__rl_trust *trust_of(struct prd__rl_slot *s)
{
    return (struct prd__rl_trust *)(s + 1);
}

/* Locked view of the four tables for one (account, source). */
struct view {
    struct prd__rl_shard *sh[N_TABLES];
    struct prd__rl_slot *slot[N_TABLES];
    int held[N_TABLES];
};

static void lock_tables(prd_login_guard *g, struct view *v, const uint64_t *hash, int mask,
                        int64_t now)
{
    for (int i = 0; i < N_TABLES; i++) {
        v->held[i] = (mask >> i) & 1;
        v->slot[i] = NULL;
        if (!v->held[i])
            continue;
        v->sh[i] = prd__rl_shard_of(g->t[i], 0, hash[i]);
        prd__rl_lock(v->sh[i]);
        prd__rl_tick(v->sh[i], now);
        v->slot[i] = prd__rl_find(g->t[i], 0, v->sh[i], hash[i]);
    }
}

static void unlock_tables(prd_login_guard *g, struct view *v)
{
    for (int i = N_TABLES; i-- > 0;)
        if (v->held[i]) {
            prd__rl_reclaim(g->t[i], 0, v->sh[i], 2);
            prd__rl_unlock(v->sh[i]);
        }
}

static const struct prd__rl_rule *rule_of(const prd_login_guard *g, int table)
{
    return &g->t[table]->hdr->rules[0];
}

/* Evaluate one attempt on a limiter table (source or account). */
static void eval_table(prd_login_guard *g, struct view *v, int table, int64_t now, int64_t *t,
                       struct prd__rl_eval *ev)
{
    const struct prd__rl_rule *r = rule_of(g, table);
    struct prd__rl_exact *rec = prd__rl_record(g->t[table], 0, v->sh[table], v->slot[table]);
    *t = prd__rl_key_time(r, v->slot[table], rec, now);
    prd__rl_evaluate(r, v->slot[table], rec, 1, *t, now, ev);
}

static void commit_table(prd_login_guard *g, struct view *v, int table, int64_t t, int64_t now)
{
    struct prd__rl_exact *rec = prd__rl_record(g->t[table], 0, v->sh[table], v->slot[table]);
    prd__rl_commit(rule_of(g, table), v->slot[table], rec, 1, t, now);
}

static void set_decision(prd_rl_decision *d, int rule, uint64_t limit,
                         const struct prd__rl_eval *ev)
{
    d->allowed = ev->allowed;
    d->rule = rule;
    d->limit = limit;
    d->remaining = ev->remaining;
    d->reset_ms = ev->reset_ms;
    d->retry_after_ms = ev->retry_after_ms;
}

static void fingerprint(const prd_login_guard *g, const void *source, size_t len, char *out)
{
    unsigned char fp[8];
    crypto_shorthash(fp, source ? source : (const void *)"", len, g->fp_key);
    prd_hex_encode(out, 17, fp, sizeof fp);
}

static const char *const kind_names[] = {"source", "account", "backoff"};

static void report(prd_login_guard *g, prd_login_lockout_kind kind, const void *account,
                   size_t account_len, const char *fp, int64_t for_ms)
{
    count(g, (prd_login_counter)kind);
    if (g->on_lockout)
        g->on_lockout(g->on_lockout_data, kind, account, account_len, fp, for_ms);
    if (g->logger && prd_logger_enabled(g->logger, PRD_LOG_WARN)) {
        char until[PRD_RFC3339_SIZE];
        prd_rfc3339_format(prd_clock_wall_ns(g->clock) + for_ms * 1000000, 0, until, sizeof until);
        prd_log_field f[] = {
            PRD_F_STR("kind", kind_names[kind]),
            PRD_F_STRN("account", (const char *)account, account_len),
            PRD_F_STR("source_fp", fp),
            PRD_F_STR("until", until),
            PRD_F_INT("for_ms", for_ms),
        };
        prd_log(g->logger, PRD_LOG_WARN, "login lockout", f, PRD_ARRAY_LEN(f));
    }
}

static int args_ok(const void *a, size_t alen, const void *s, size_t slen)
{
    return (a || !alen) && (s || !slen) && alen <= PRD_RL_KEY_MAX && slen <= PRD_RL_KEY_MAX;
}

/* The pair's failure streak: in the familiar record for a familiar pair,
 * else in the pair table. NULL when it has none. */
static uint64_t *streak(prd_login_guard *g, struct view *v, const struct attempt *at,
                        int64_t **last, int64_t now)
{
    if (at->flags & F_TRUSTED) {
        struct prd__rl_trust *tr = trust_of(v->slot[T_TRUST]);
        *last = &tr->last_ms;
        return &tr->failures;
    }
    struct prd__rl_slot *pf = v->slot[T_PAIR];
    if (!pf)
        return NULL;
    if (prd__rl_decayed(rule_of(g, T_PAIR), pf, NULL, now))
        fails_of(pf)->failures = 0; /* forgotten */
    *last = &fails_of(pf)->last_ms;
    return &fails_of(pf)->failures;
}

/* Decide under the locks: 0 allowed, else the denial is in *d. */
static int decide(prd_login_guard *g, struct view *v, struct attempt *at, int64_t now,
                  int64_t *t_src, int64_t *t_acct, struct prd__rl_eval *e_src,
                  struct prd__rl_eval *e_acct, prd_rl_decision *d)
{
    struct prd__rl_slot *tr = v->slot[T_TRUST];
    if (tr && trust_of(tr)->until_ms > now)
        at->flags |= F_TRUSTED;
    /* Backoff: the streak so far, in flight included; a familiar pair's
     * streak is forgotten like any other. */
    int64_t *last = NULL;
    uint64_t *fails = streak(g, v, at, &last, now);
    uint64_t n = fails ? *fails : 0;
    if (n && now >= *last + 2 * g->cap_ms)
        n = *fails = 0;
    int64_t wait_b = 0;
    if (n) {
        int64_t until = *last + backoff_wait(g, n);
        wait_b = until > now ? until - now : 0;
    }
    eval_table(g, v, T_SOURCE, now, t_src, e_src);
    int trusted = at->flags & F_TRUSTED;
    if (!trusted)
        eval_table(g, v, T_ACCOUNT, now, t_acct, e_acct);
    /* The denial with the longest wait decides. */
    int64_t worst = 0;
    int denied = 0;
    if (wait_b > 0) {
        struct prd__rl_eval eb = {0, 0, wait_b, wait_b};
        set_decision(d, 2, g->free_failures, &eb);
        worst = wait_b;
        denied = 1;
    }
    if (!trusted && !e_acct->allowed && (!denied || e_acct->retry_after_ms > worst)) {
        set_decision(d, 1, g->acct_limit, e_acct);
        worst = e_acct->retry_after_ms;
        denied = 1;
    }
    if (!e_src->allowed && (!denied || e_src->retry_after_ms > worst)) {
        set_decision(d, 0, g->src_limit, e_src);
        denied = 1;
    }
    if (denied)
        return 1;
    /* Allowed: report the rule with the fewest attempts left. */
    set_decision(d, 0, g->src_limit, e_src);
    if (!trusted && e_acct->remaining < d->remaining)
        set_decision(d, 1, g->acct_limit, e_acct);
    uint64_t left_b = n + 1 < g->free_failures ? g->free_failures - n - 1 : 0;
    if (left_b < d->remaining) {
        struct prd__rl_eval eb = {1, left_b, 2 * g->cap_ms, 0};
        set_decision(d, 2, g->free_failures, &eb);
    }
    return 0;
}

/* Record the attempt as a failure on every table; EBUSY when a table has
 * no room for a new key (then nothing is recorded). A familiar pair needs
 * no room: its streak lives in its familiar record, and when the source
 * table is full of strangers its attempt is not counted there. */
static prd_status record(prd_login_guard *g, struct view *v, struct attempt *at, int64_t now,
                         int64_t t_src, int64_t t_acct, int64_t *src_lock_ms)
{
    int trusted = at->flags & F_TRUSTED;
    for (int i = T_SOURCE; i <= T_PAIR; i++) {
        if (((i == T_ACCOUNT || i == T_PAIR) && trusted) || v->slot[i])
            continue;
        v->slot[i] = prd__rl_insert(g->t[i], 0, v->sh[i], at->u.mem.hash[i]);
        if (!v->slot[i] && !(trusted && i == T_SOURCE))
            return PRD_EBUSY; /* slots inserted above stay empty: decayed at once */
    }
    struct prd__rl_eval after;
    int64_t t;
    if (v->slot[T_SOURCE]) {
        commit_table(g, v, T_SOURCE, t_src, now);
        eval_table(g, v, T_SOURCE, now, &t, &after);
        if (!after.allowed) /* the next attempt from this source would wait */
            *src_lock_ms = after.retry_after_ms > 0 ? after.retry_after_ms : g->src_window;
    }
    if (!trusted) {
        commit_table(g, v, T_ACCOUNT, t_acct, now);
        at->flags |= F_ACCOUNT_RESERVED;
        at->account_t = t_acct;
        eval_table(g, v, T_ACCOUNT, now, &t, &after);
        if (!after.allowed)
            at->flags |= F_LOCKS_ACCOUNT;
        fails_of(v->slot[T_PAIR])->account = at->u.mem.account_in_pairs;
    } else {
        trust_of(v->slot[T_TRUST])->account = at->u.mem.account_in_pairs;
    }
    int64_t *last = NULL;
    uint64_t *fails = streak(g, v, at, &last, now);
    (*fails)++;
    *last = now;
    /* From this failure on the next attempt of the pair has to wait. */
    if (*fails == (g->free_failures ? g->free_failures : 1))
        at->flags |= F_STARTS_BACKOFF;
    return PRD_OK;
}

/* An admitted attempt: what settling and lockout reports need. */
static void open_attempt(prd_login_guard *g, struct attempt *at, const void *account,
                         size_t account_len, const void *source, size_t source_len,
                         int64_t src_lock_ms)
{
    count(g, PRD_LOGIN_COUNT_ALLOWED);
    at->id = g->id;
    at->state = 1;
    at->account_len = (uint32_t)account_len;
    at->report_len = (uint32_t)(account_len < PRD_LOGIN_REPORT_ACCOUNT_MAX
                                    ? account_len
                                    : PRD_LOGIN_REPORT_ACCOUNT_MAX);
    if (at->report_len)
        memcpy(at->account, account, at->report_len);
    fingerprint(g, source, source_len, at->source_fp);
    if (src_lock_ms > 0)
        report(g, PRD_LOGIN_LOCKOUT_SOURCE, at->account, at->report_len, at->source_fp,
               src_lock_ms);
}

prd_status prd_login_guard_set_pg(prd_login_guard *g, struct prd_pg_pool *pool)
{
    if (!g)
        return PRD_EINVAL;
    g->pool = pool;
    return PRD_OK;
}

static struct prd__login_pg_params pg_params(const prd_login_guard *g)
{
    return (struct prd__login_pg_params){g->src_limit, g->acct_limit, g->src_window,
                                         g->acct_window, g->free_failures, g->base_ms,
                                         g->cap_ms, TRUST_MS};
}

/* The same decision as below, made by the database for every instance.
 * A database failure fails closed: a login guard that cannot count must
 * not admit guesses. */
static prd_status check_pg(prd_login_guard *g, const void *account, size_t account_len,
                           const void *source, size_t source_len, struct attempt *at,
                           prd_rl_decision *d)
{
    prd__login_pg_digest(at->u.pg.account, 0, account, account_len);
    prd__login_pg_digest(at->u.pg.source, 1, source, source_len);
    struct prd__login_pg_params p = pg_params(g);
    struct prd__login_pg_verdict v;
    prd_status st = prd__login_pg_check(g->pool, &p, at->u.pg.account, at->u.pg.source, &v);
    if (st != PRD_OK) {
        memset(at, 0, sizeof *at);
        if (st == PRD_ELIMITED) {
            count(g, PRD_LOGIN_COUNT_DENIED);
            *d = v.d;
            return st;
        }
        count(g, PRD_LOGIN_COUNT_DB_FAILED);
        d->limit = g->src_limit;
        d->retry_after_ms = 1000;
        return st;
    }
    *d = v.d;
    if (v.trusted)
        at->flags |= F_TRUSTED;
    if (v.has_acct_t) {
        at->flags |= F_ACCOUNT_RESERVED;
        at->account_t = v.acct_t;
    }
    if (v.acct_lock_ms > 0) {
        at->flags |= F_LOCKS_ACCOUNT;
        at->u.pg.account_lock_ms = v.acct_lock_ms;
    }
    if (v.starts_backoff)
        at->flags |= F_STARTS_BACKOFF;
    open_attempt(g, at, account, account_len, source, source_len, v.src_lock_ms);
    return PRD_OK;
}

static prd_status guard_check(prd_login_guard *g, const void *account, size_t account_len,
                              const void *source, size_t source_len, prd_login_attempt *att,
                              prd_rl_decision *out);

prd_status prd_login_guard_check(prd_login_guard *g, const void *account, size_t account_len,
                                 const void *source, size_t source_len, prd_login_attempt *att,
                                 prd_rl_decision *out)
{
    if (!prd__rl_out_ok(out)) {
        if (att)
            memset(att, 0, sizeof *att);
        return PRD_EINVAL;
    }
    size_t size = out ? out->size : 0;
    prd_status st = guard_check(g, account, account_len, source, source_len, att, out);
    if (out)
        out->size = size;
    return st;
}

static prd_status guard_check(prd_login_guard *g, const void *account, size_t account_len,
                              const void *source, size_t source_len, prd_login_attempt *att,
                              prd_rl_decision *out)
{
    prd_rl_decision scratch = {0}, *d = out ? out : &scratch;
    memset(d, 0, sizeof *d);
    if (att)
        memset(att, 0, sizeof *att);
    if (!g || !att || !args_ok(account, account_len, source, source_len))
        return PRD_EINVAL;
    struct attempt *at = (struct attempt *)(void *)att;
    if (g->pool)
        return check_pg(g, account, account_len, source, source_len, at, d);
    int64_t now = now_ms(g);
    at->u.mem.hash[T_SOURCE] = key_hash(g->t[T_SOURCE], source, source_len);
    at->u.mem.hash[T_ACCOUNT] = key_hash(g->t[T_ACCOUNT], account, account_len);
    at->u.mem.hash[T_PAIR] = pair_hash(g->t[T_PAIR], account, account_len, source, source_len);
    at->u.mem.hash[T_TRUST] = pair_hash(g->t[T_TRUST], account, account_len, source, source_len);
    at->u.mem.account_in_pairs = key_hash(g->t[T_PAIR], account, account_len);

    struct view v;
    struct prd__rl_eval e_src = {0}, e_acct = {0};
    int64_t t_src = now, t_acct = now, src_lock_ms = 0;
    lock_tables(g, &v, at->u.mem.hash, 0xF, now);
    prd_status st = PRD_OK;
    if (decide(g, &v, at, now, &t_src, &t_acct, &e_src, &e_acct, d))
        st = PRD_ELIMITED;
    else
        st = record(g, &v, at, now, t_src, t_acct, &src_lock_ms);
    unlock_tables(g, &v);

    if (st != PRD_OK) {
        count(g, st == PRD_EBUSY ? PRD_LOGIN_COUNT_BUSY : PRD_LOGIN_COUNT_DENIED);
        memset(att, 0, sizeof *att);
        if (st != PRD_ELIMITED) /* a denial keeps its decision */
            memset(d, 0, sizeof *d);
        return st;
    }
    open_attempt(g, at, account, account_len, source, source_len, src_lock_ms);
    return PRD_OK;
}

static struct attempt *settle_start(prd_login_guard *g, prd_login_attempt *att)
{
    struct attempt *at = att ? (struct attempt *)(void *)att : NULL;
    if (!g || !at || at->state != 1 || at->id != g->id)
        return NULL;
    at->state = 2;
    return at;
}

prd_status prd_login_guard_failure(prd_login_guard *g, prd_login_attempt *att)
{
    struct attempt *at = settle_start(g, att);
    if (!at)
        return PRD_EINVAL;
    /* The counts were taken at check; a lockout this failure completes is
     * now real (a success would have refunded it). */
    if (at->flags & F_LOCKS_ACCOUNT) {
        prd_rl_key k = {at->account, at->report_len};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        int64_t for_ms = g->acct_window;
        if (g->pool)
            for_ms = at->u.pg.account_lock_ms;
        else if (at->report_len == at->account_len &&
            prd_limiter_peek_at(g->t[T_ACCOUNT], &k, 1, 1, now_ms(g), &d) == PRD_ELIMITED)
            for_ms = d.retry_after_ms;
        report(g, PRD_LOGIN_LOCKOUT_ACCOUNT, at->account, at->report_len, at->source_fp, for_ms);
    }
    if (at->flags & F_STARTS_BACKOFF)
        report(g, PRD_LOGIN_LOCKOUT_BACKOFF, at->account, at->report_len, at->source_fp,
               backoff_wait(g, g->free_failures));
    return PRD_OK;
}

/* Give back the account's failure of this attempt (locked view). */
static void refund_account(prd_login_guard *g, struct view *v, const struct attempt *at,
                           int64_t now)
{
    if ((at->flags & F_ACCOUNT_RESERVED) && v->slot[T_ACCOUNT])
        prd__rl_refund(rule_of(g, T_ACCOUNT), v->slot[T_ACCOUNT],
                       prd__rl_record(g->t[T_ACCOUNT], 0, v->sh[T_ACCOUNT], v->slot[T_ACCOUNT]),
                       1, at->account_t, 0, now);
}

static int settle_mask(const struct attempt *at)
{
    return (1 << T_PAIR) | (1 << T_TRUST) |
           ((at->flags & F_ACCOUNT_RESERVED) ? 1 << T_ACCOUNT : 0);
}

/* outcome 1 success, 2 abandoned; a failure needs nothing written. */
static prd_status settle_pg(prd_login_guard *g, const struct attempt *at, int outcome)
{
    struct prd__login_pg_params p = pg_params(g);
    prd_status st = prd__login_pg_settle(g->pool, &p, at->u.pg.account, at->u.pg.source, outcome,
                                         (at->flags & F_TRUSTED) != 0,
                                         (at->flags & F_ACCOUNT_RESERVED) != 0, at->account_t);
    if (st != PRD_OK)
        count(g, PRD_LOGIN_COUNT_DB_FAILED);
    return st;
}

prd_status prd_login_guard_abandon(prd_login_guard *g, prd_login_attempt *att)
{
    struct attempt *at = settle_start(g, att);
    if (!at)
        return PRD_EINVAL;
    if (g->pool)
        return settle_pg(g, at, 2);
    int64_t now = now_ms(g);
    struct view v;
    lock_tables(g, &v, at->u.mem.hash, settle_mask(at), now);
    refund_account(g, &v, at, now);
    if ((at->flags & F_TRUSTED) && !v.slot[T_TRUST])
        at->flags &= ~(uint32_t)F_TRUSTED; /* the familiar record decayed meanwhile */
    int64_t *last = NULL;
    uint64_t *fails = streak(g, &v, at, &last, now);
    if (fails && *fails > 0)
        (*fails)--;
    unlock_tables(g, &v);
    return PRD_OK;
}

prd_status prd_login_guard_success(prd_login_guard *g, prd_login_attempt *att)
{
    struct attempt *at = settle_start(g, att);
    if (!at)
        return PRD_EINVAL;
    if (g->pool)
        return settle_pg(g, at, 1);
    int64_t now = now_ms(g);
    struct view v;
    lock_tables(g, &v, at->u.mem.hash, settle_mask(at), now);
    refund_account(g, &v, at, now);
    if (v.slot[T_PAIR]) {
        prd__rl_delete(g->t[T_PAIR], 0, v.sh[T_PAIR], v.slot[T_PAIR]); /* the streak ends */
        v.slot[T_PAIR] = NULL;
    }
    if (!v.slot[T_TRUST])
        v.slot[T_TRUST] = prd__rl_insert(g->t[T_TRUST], 0, v.sh[T_TRUST], at->u.mem.hash[T_TRUST]);
    if (v.slot[T_TRUST]) {
        struct prd__rl_trust *tr = trust_of(v.slot[T_TRUST]);
        tr->until_ms = now + TRUST_MS;
        tr->failures = 0; /* the streak ends */
        tr->account = at->u.mem.account_in_pairs;
    }
    prd_status st = v.slot[T_TRUST] ? PRD_OK : PRD_EBUSY;
    unlock_tables(g, &v);
    return st;
}

static int drop_streak(struct prd__rl_slot *s, void *arg)
{
    return fails_of(s)->account == *(const uint64_t *)arg; /* delete the record */
}

static int end_streak(struct prd__rl_slot *s, void *arg)
{
    struct prd__rl_trust *tr = trust_of(s);
    if (tr->account == *(const uint64_t *)arg)
        tr->failures = 0; /* keep the familiarity */
    return 0;
}

prd_status prd_login_guard_unlock(prd_login_guard *g, const void *account, size_t account_len)
{
    if (!g || !args_ok(account, account_len, NULL, 0))
        return PRD_EINVAL;
    if (g->pool) {
        unsigned char d[PRD__LOGIN_DIGEST];
        prd__login_pg_digest(d, 0, account, account_len);
        struct prd__login_pg_params p = pg_params(g);
        prd_status st = prd__login_pg_unlock(g->pool, &p, d);
        if (st != PRD_OK)
            count(g, PRD_LOGIN_COUNT_DB_FAILED);
        return st;
    }
    uint64_t h = key_hash(g->t[T_ACCOUNT], account, account_len);
    struct prd__rl_shard *sh = prd__rl_shard_of(g->t[T_ACCOUNT], 0, h);
    prd__rl_lock(sh);
    struct prd__rl_slot *s = prd__rl_find(g->t[T_ACCOUNT], 0, sh, h);
    if (s)
        prd__rl_delete(g->t[T_ACCOUNT], 0, sh, s);
    prd__rl_unlock(sh);
    uint64_t in_pairs = key_hash(g->t[T_PAIR], account, account_len);
    prd__rl_visit(g->t[T_PAIR], 0, drop_streak, &in_pairs);
    prd__rl_visit(g->t[T_TRUST], 0, end_streak, &in_pairs);
    return PRD_OK;
}

size_t prd_login_guard_policy_header(const prd_login_guard *g, char *out, size_t out_size)
{
    if (out && out_size)
        out[0] = '\0';
    if (!g)
        return 0;
    char a[PRD_RL_HEADER_SIZE], b[PRD_RL_HEADER_SIZE];
    prd_limiter_policy_header(g->t[T_SOURCE], a, sizeof a);
    prd_limiter_policy_header(g->t[T_ACCOUNT], b, sizeof b);
    size_t need = strlen(a) + 2 + strlen(b);
    if (out && need < out_size) {
        memcpy(out, a, strlen(a));
        memcpy(out + strlen(a), ", ", 2);
        memcpy(out + strlen(a) + 2, b, strlen(b) + 1);
    }
    return need;
}

size_t prd_login_guard_ratelimit_header(const prd_login_guard *g, const prd_rl_decision *d,
                                        char *out, size_t out_size)
{
    if (out && out_size)
        out[0] = '\0';
    if (!g || !prd__rl_in_ok(d) || d->rule < 0 || d->rule > 2)
        return 0;
    prd_rl_decision one = *d;
    one.rule = 0; /* each table has one rule */
    return prd_limiter_ratelimit_header(g->t[d->rule], &one, out, out_size);
}
