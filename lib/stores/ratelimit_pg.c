/*
 * The rate limiter's PostgreSQL store (prd_rl_pg_*): a check is one call
 * of prd_rl_check (lib/stores/schema.c), which locks the rules' rows in a
 * fixed order, evaluates every rule by the database's clock and records
 * the units only when all admit them. Rules are identified in the table by
 * name, algorithm and numbers together, so two services that configure a
 * rule of one name differently never share its state.
 */
#include "internal/common.h"

#include <sodium.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal/alloc.h"
#include "internal/pg.h"
#include "internal/ratelimit.h"
#include "internal/stores.h"

#define RULE_ID_MAX 96

struct prd_rl_pg {
    prd_pg_pool *pool;
    uint32_t n;
    char rule_id[PRD_RL_MAX_RULES][RULE_ID_MAX];
    uint32_t algorithm[PRD_RL_MAX_RULES];
    uint64_t limit[PRD_RL_MAX_RULES], burst[PRD_RL_MAX_RULES];
    int64_t window_ms[PRD_RL_MAX_RULES];
    /* the array literals of the rules' constant parameters, made once */
    char rules_lit[PRD_RL_MAX_RULES * (RULE_ID_MAX + 1) + 4];
    char algos_lit[PRD_RL_MAX_RULES * 3 + 4];
    char limits_lit[PRD_RL_MAX_RULES * 21 + 4];
    char windows_lit[PRD_RL_MAX_RULES * 21 + 4];
    char bursts_lit[PRD_RL_MAX_RULES * 21 + 4];
    _Atomic int fail_open;
    _Atomic uint64_t failures;
    /* the fast statement's sweep pace (sweep_due): its new rows and its
     * other checks, each counted from a random start */
    _Atomic uint64_t new_rows, steady_checks;
    const char *counter_sql; /* the fast statement of a counter rule */
    uint64_t id; /* names its reservations */
    struct lease_table *leases; /* the local pre-check, when on */
    unsigned char key_check[16]; /* keys the hash a reservation's keys are checked by */
};

/*
 * The local pre-check: a lease of units reserved in the database at once
 * for a key this process checks often and that has plenty left, spent
 * here without a round trip until it runs out or lease_ms passes; what
 * is left of it is given back when it is next met expired, evicted (not
 * then: it stays counted, the safe side) or at free. Only keys of up to
 * LEASE_KEYS_MAX bytes in all are leased.
 */
#define LEASE_SLOTS 1024
#define LEASE_KEYS_MAX 256

struct lease {
    pthread_mutex_t mu;  /* one key's checks queue here, others' do not */
    uint64_t hash;       /* 0: empty */
    unsigned char keys[LEASE_KEYS_MAX];
    uint16_t key_len[PRD_RL_MAX_RULES];
    uint64_t left;       /* units of the lease not yet spent */
    int64_t until_ns;    /* monotonic: 0 when no lease is held */
    int64_t times[PRD_RL_MAX_RULES];
    prd_rl_decision d;   /* the database's answer when the lease was taken */
    int plenty;          /* the last answer left room for a lease */
};

struct lease_table {
    int64_t lease_ns;
    uint64_t units;
    _Atomic uint64_t local; /* checks answered here */
    struct lease slot[LEASE_SLOTS];
};

/* What prd_rl_reservation holds for this store. */
struct pg_resv {
    uint64_t magic; /* RESV_LIVE until settled */
    uint64_t store;
    uint64_t cost;
    uint64_t keys_hash;     /* the reservation's keys, so a refund names the same */
    int64_t times[PRD_RL_MAX_RULES]; /* when each rule recorded the units (db clock, ms) */
    uint64_t recorded;      /* 0: nothing was recorded (failed open) */
};
_Static_assert(sizeof(struct pg_resv) <= sizeof(prd_rl_reservation), "prd_rl_reservation too small");
#define RESV_LIVE UINT64_C(0x7072646c70677276)

static const char *const check_sql =
    "SELECT allowed, rule, lim, remaining, reset_ms, retry_after_ms, times FROM prd_rl_check("
    "$1::text[], $2::bytea[], $3::int[], $4::int8[], $5::int8[], $6::int8[], $7::int8, $8::bool)";

static const char *counter_statement(uint64_t limit, int64_t window_ms);

/* "{a,b,c}" from n values printed by fmt (the values never need quoting:
 * digits, and rule ids of [A-Za-z0-9_:-]). */
static void literal_u64(char *out, size_t cap, const uint64_t *v, uint32_t n)
{
    size_t len = (size_t)snprintf(out, cap, "{");
    for (uint32_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%llu", i ? "," : "",
                                (unsigned long long)v[i]);
    if (len < cap)
        snprintf(out + len, cap - len, "}");
}

prd_status prd_rl_pg_new(const prd_limiter_config *cfg, struct prd_pg_pool *pool, prd_rl_pg **out)
{
    if (out)
        *out = NULL;
    if (!cfg || !pool || !out || cfg->n_rules == 0)
        return PRD_EINVAL;
    prd_rl_pg *s = prd__calloc(1, sizeof *s);
    if (!s)
        return PRD_ENOMEM;
    s->pool = pool;
    s->n = cfg->n_rules;
    randombytes_buf(&s->id, sizeof s->id);
    /* from a random start, so that processes that each make fewer than
     * PRD__SWEEP_EVERY rows still sweep at the pace on average */
    atomic_init(&s->new_rows, randombytes_uniform(PRD__SWEEP_EVERY));
    atomic_init(&s->steady_checks, randombytes_uniform(PRD__SWEEP_STEADY_EVERY));
    randombytes_buf(s->key_check, sizeof s->key_check);
    uint64_t algos[PRD_RL_MAX_RULES], windows[PRD_RL_MAX_RULES];
    size_t rl = (size_t)snprintf(s->rules_lit, sizeof s->rules_lit, "{");
    for (uint32_t i = 0; i < s->n; i++) {
        const struct prd__rl_rule *r = &cfg->rules[i];
        s->algorithm[i] = r->algorithm;
        s->limit[i] = r->limit;
        s->window_ms[i] = r->window_ms;
        s->burst[i] = r->algorithm == PRD_RL_GCRA ? r->burst : r->limit;
        snprintf(s->rule_id[i], RULE_ID_MAX, "%s:%u:%llu:%lld:%llu", r->name, r->algorithm,
                 (unsigned long long)r->limit, (long long)r->window_ms,
                 (unsigned long long)s->burst[i]);
        rl += (size_t)snprintf(s->rules_lit + rl, sizeof s->rules_lit - rl, "%s%s", i ? "," : "",
                               s->rule_id[i]);
        algos[i] = r->algorithm;
        windows[i] = (uint64_t)r->window_ms;
    }
    snprintf(s->rules_lit + rl, sizeof s->rules_lit - rl, "}");
    s->counter_sql = counter_statement(s->limit[0], s->window_ms[0]);
    literal_u64(s->algos_lit, sizeof s->algos_lit, algos, s->n);
    literal_u64(s->limits_lit, sizeof s->limits_lit, s->limit, s->n);
    literal_u64(s->windows_lit, sizeof s->windows_lit, windows, s->n);
    literal_u64(s->bursts_lit, sizeof s->bursts_lit, s->burst, s->n);
    *out = s;
    return PRD_OK;
}

prd_status prd_rl_pg_set_fail_open(prd_rl_pg *s, int open)
{
    if (!s)
        return PRD_EINVAL;
    atomic_store(&s->fail_open, open != 0);
    return PRD_OK;
}

uint64_t prd_rl_pg_failures(const prd_rl_pg *s)
{
    return s ? atomic_load(&s->failures) : 0;
}

static prd_status refund_units(prd_rl_pg *s, const prd_rl_key *keys, uint64_t cost,
                               const int64_t *times);

/* The keys a lease was taken for, as prd_rl_key again. */
static void lease_keys(const prd_rl_pg *s, const struct lease *l, prd_rl_key *keys)
{
    size_t off = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        keys[i].data = l->keys + off;
        keys[i].len = l->key_len[i];
        off += l->key_len[i];
    }
}

/* Give back what is left of a lease (its lock held). */
static void lease_return(prd_rl_pg *s, struct lease *l)
{
    if (l->until_ns && l->left) {
        prd_rl_key keys[PRD_RL_MAX_RULES];
        lease_keys(s, l, keys);
        refund_units(s, keys, l->left, l->times); /* failing: the units stay counted */
    }
    l->left = 0;
    l->until_ns = 0;
}

void prd_rl_pg_free(prd_rl_pg *s)
{
    if (!s)
        return;
    if (s->leases) {
        for (size_t i = 0; i < LEASE_SLOTS; i++) {
            lease_return(s, &s->leases->slot[i]);
            pthread_mutex_destroy(&s->leases->slot[i].mu);
        }
        prd__free(s->leases);
    }
    prd__free(s);
}

prd_status prd_rl_pg_set_local_lease(prd_rl_pg *s, int64_t lease_ms, uint64_t units)
{
    if (!s || lease_ms < 0 || lease_ms > 10000 || (lease_ms && (units < 1 || units > 1000000)))
        return PRD_EINVAL;
    if (s->leases) { /* off, or changed: the units held go back first */
        for (size_t i = 0; i < LEASE_SLOTS; i++)
            lease_return(s, &s->leases->slot[i]);
        if (!lease_ms) {
            for (size_t i = 0; i < LEASE_SLOTS; i++)
                pthread_mutex_destroy(&s->leases->slot[i].mu);
            prd__free(s->leases);
            s->leases = NULL;
            return PRD_OK;
        }
    } else if (lease_ms) {
        s->leases = prd__calloc(1, sizeof *s->leases);
        if (!s->leases)
            return PRD_ENOMEM;
        for (size_t i = 0; i < LEASE_SLOTS; i++)
            pthread_mutex_init(&s->leases->slot[i].mu, NULL);
    }
    if (s->leases) {
        s->leases->lease_ns = lease_ms * 1000000;
        s->leases->units = units;
    }
    return PRD_OK;
}

uint64_t prd_rl_pg_local(const prd_rl_pg *s)
{
    return s && s->leases ? atomic_load(&s->leases->local) : 0;
}

/* The keys as a bytea[] literal: {"\\x6869",...}. */
static prd_status keys_literal(const prd_rl_key *keys, uint32_t n, char **out)
{
    size_t cap = 3;
    for (uint32_t i = 0; i < n; i++) {
        if (keys[i].len > PRD_RL_KEY_MAX || (keys[i].len && !keys[i].data))
            return PRD_EINVAL;
        cap += 6 + 2 * keys[i].len;
    }
    char *lit = prd__malloc(cap);
    if (!lit)
        return PRD_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    lit[len++] = '{';
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            lit[len++] = ',';
        memcpy(lit + len, "\"\\\\x", 4);
        len += 4;
        const unsigned char *d = keys[i].data;
        for (size_t k = 0; k < keys[i].len; k++) {
            lit[len++] = hex[d[k] >> 4];
            lit[len++] = hex[d[k] & 15];
        }
        lit[len++] = '"';
    }
    lit[len++] = '}';
    lit[len] = '\0';
    *out = lit;
    return PRD_OK;
}

static prd_status failed(prd_rl_pg *s, prd_status st, prd_rl_decision *out)
{
    atomic_fetch_add(&s->failures, 1);
    memset(out, 0, sizeof *out);
    out->limit = s->limit[0];
    if (atomic_load(&s->fail_open)) {
        out->allowed = 1;
        out->remaining = 0;
        return PRD_OK;
    }
    out->retry_after_ms = 1000;
    return st == PRD_ENOMEM || st == PRD_ETIMEOUT ? st : PRD_EDB;
}

/* "{1,2,3}" into n times; 0 when it is not that. */
static int parse_times(const char *t, int64_t *v, uint32_t n)
{
    if (!t || *t++ != '{')
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        char *end = NULL;
        long long x = strtoll(t, &end, 10);
        if (end == t || (*end != ',' && *end != '}'))
            return 0;
        v[i] = x;
        t = end + 1;
    }
    return 1;
}

/*
 * One exact or counter rule, recorded: one statement instead of prd_rl_check (the
 * function's statements were most of a check's time: 115-240 us a call
 * from a fresh transaction against 64-75 us for the upsert baseline).
 * The upsert records only when the rule admits (its WHERE); the log is
 * cut to the window by a binary search of the sorted stamps
 * (width_bucket); the same t = greatest(now, the key's last) as the
 * function. The statement also says whether it made the key's row, and
 * the check then may sweep decayed rows in a statement of its own
 * (sweep_due). PRD_OK admitted with
 * *out and *t; PRD_ENOTFOUND when not admitted (the caller asks the
 * function for the denial's numbers); the database's failures.
 */
/* The next pages' decayed rows (prd_rl_sweep, schema v6). */
static const char sweep_sql[] = "SELECT prd_rl_sweep()";

static const char exact_sql[] =
    "INSERT INTO prd_rl_state AS s (rule, key, t_last, stamps, expires_ms) "
    "SELECT $1, $2, c.now_ms, array_fill(c.now_ms, ARRAY[$5::int]), c.now_ms + $4 FROM "
    "(SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::int8 AS now_ms) c "
    "ON CONFLICT (rule, key) DO UPDATE SET "
    "stamps = s.stamps[width_bucket(greatest(EXCLUDED.t_last, s.t_last) - $4, s.stamps) + 1:] || "
    "array_fill(greatest(EXCLUDED.t_last, s.t_last), ARRAY[$5::int]), "
    "t_last = greatest(EXCLUDED.t_last, s.t_last), "
    "expires_ms = greatest(EXCLUDED.t_last, s.t_last) + $4 "
    "WHERE cardinality(s.stamps) - width_bucket(greatest(EXCLUDED.t_last, s.t_last) - $4, "
    "s.stamps) + $5 <= $3 "
    "RETURNING s.t_last, cardinality(s.stamps), s.xmax = 0";

/* One counter rule, recorded, as one statement: the function's window
 * turn (the previous window's units weigh by how much of it still
 * overlaps) in the SET, its admission test c·(W - e) + (b + cost)·W <=
 * N·W in the WHERE, its products in the type NUM; the decision's numbers
 * are worked out here from the row it returns. */
#define COUNTER_SQL(NUM)                                                                            \
    "INSERT INTO prd_rl_state AS s (rule, key, t_last, a, b, c, expires_ms) "                      \
    "SELECT $1, $2, c.now_ms, c.now_ms / $4, $5, 0, (c.now_ms / $4 + 2) * $4 FROM "                \
    "(SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::int8 AS now_ms) c "              \
    "ON CONFLICT (rule, key) DO UPDATE SET "                                                       \
    "a = greatest(EXCLUDED.t_last, s.t_last) / $4, "                                               \
    "b = CASE WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a THEN s.b ELSE 0 END + $5, "      \
    "c = CASE WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a + 1 THEN s.b "                   \
    "WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a THEN s.c ELSE 0 END, "                    \
    "t_last = greatest(EXCLUDED.t_last, s.t_last), "                                               \
    "expires_ms = (greatest(EXCLUDED.t_last, s.t_last) / $4 + 2) * $4 "                            \
    "WHERE (CASE WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a + 1 THEN s.b "                \
    "WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a THEN s.c ELSE 0 END)::" NUM " "           \
    "* ($4 - (greatest(EXCLUDED.t_last, s.t_last) - greatest(EXCLUDED.t_last, s.t_last) / $4 * $4)) " \
    "+ (CASE WHEN greatest(EXCLUDED.t_last, s.t_last) / $4 = s.a THEN s.b ELSE 0 END + $5)::" NUM " " \
    "* $4 <= $3::" NUM " * $4 "                                                                    \
    "RETURNING s.t_last, s.a, s.b, s.c, s.xmax = 0"

static const char counter_sql_numeric[] = COUNTER_SQL("numeric");
static const char counter_sql_int8[] = COUNTER_SQL("int8");

/*
 * The counter statement for a rule: its test in int8 when that cannot
 * overflow, numeric otherwise (int8 is 3-4% of the statement's throughput
 * at 8 clients). A row this rule wrote holds b <= N and c <= N (it admits
 * only what keeps b + cost within N, and the fast path runs only for
 * cost <= N), so the test's left side is at most 3·N·W: under 2^63 when
 * N·W <= 2^61. A row made larger by hand fails the statement with an
 * overflow (PRD_EDB, then the failure policy), never a wrong answer.
 */
static const char *counter_statement(uint64_t limit, int64_t window_ms)
{
    int fits = window_ms > 0 && limit <= (UINT64_C(1) << 61) / (uint64_t)window_ms;
    return fits ? counter_sql_int8 : counter_sql_numeric;
}

/*
 * Whether a fast check sweeps: at every PRD__SWEEP_EVERY-th row the
 * statement made (its column col, xmax = 0: PostgreSQL's upsert returns
 * a row it inserted with no xmax and one it updated with the locking
 * transaction's), and at every PRD__SWEEP_STEADY_EVERY-th other check.
 * Only new rows grow the table, and each row decays at most once, so
 * pacing the sweep by them keeps the bound a flood of fresh keys is held
 * to (there every check makes a row: the same pace as a sweep every
 * PRD__SWEEP_EVERY-th check) while checks of keys that have rows (a
 * steady service's) pay a sixteenth of it. The steady pace still visits
 * the whole table, so what a past flood left goes too, more slowly.
 */
static int sweep_due(prd_rl_pg *s, const prd_pg_result *r, size_t col)
{
    int made = 0;
    if (prd_pg_result_rows(r) != 1 || prd_pg_result_bool(r, 0, col, &made) != PRD_OK)
        made = 0;
    if (made)
        return atomic_fetch_add(&s->new_rows, 1) % PRD__SWEEP_EVERY == PRD__SWEEP_EVERY - 1;
    return atomic_fetch_add(&s->steady_checks, 1) % PRD__SWEEP_STEADY_EVERY ==
           PRD__SWEEP_STEADY_EVERY - 1;
}

/* 128-bit arithmetic for the counter's numbers (GCC and Clang). */
__extension__ typedef __int128 i128;

static prd_status fast_check(prd_rl_pg *s, const prd_rl_key *key, uint64_t cost,
                             prd_rl_decision *out, int64_t *t)
{
    int counter = s->algorithm[0] == PRD_RL_COUNTER;
    prd_pg_params *p = NULL;
    prd_status st = prd_pg_params_new(&p);
    if (st == PRD_OK)
        st = prd_pg_params_add_text(p, s->rule_id[0]);
    if (st == PRD_OK)
        st = prd_pg_params_add_bytea(p, key->len ? key->data : "", key->len);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, (int64_t)s->limit[0]);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, s->window_ms[0]);
    if (st == PRD_OK)
        st = prd_pg_params_add_int64(p, (int64_t)cost);
    prd_pg_conn *c = NULL;
    prd_pg_result *r = NULL;
    if (st == PRD_OK)
        st = prd_pg_acquire(s->pool, &c, NULL);
    if (st == PRD_OK)
        st = prd_pg_query(c, counter ? s->counter_sql : exact_sql, p, &r);
    if (st == PRD_OK && sweep_due(s, r, counter ? 4 : 2)) {
        /* a failure here costs nothing but the sweep, retried next time */
        prd_status swept = prd_pg_query(c, sweep_sql, NULL, NULL);
        (void)swept;
    }
    prd_pg_pool_release(c);
    prd_pg_params_free(p);
    int64_t n = 0, a = 0, b = 0, prev = 0;
    if (st == PRD_OK && prd_pg_result_rows(r) == 0)
        st = PRD_ENOTFOUND;
    else if (st == PRD_OK && (prd_pg_result_int64(r, 0, 0, t) != PRD_OK ||
                              prd_pg_result_int64(r, 0, 1, counter ? &a : &n) != PRD_OK ||
                              (counter && (prd_pg_result_int64(r, 0, 2, &b) != PRD_OK ||
                                           prd_pg_result_int64(r, 0, 3, &prev) != PRD_OK))))
        st = PRD_EDB;
    prd_pg_result_free(r);
    if (st != PRD_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->allowed = 1;
    out->limit = s->limit[0];
    uint64_t nl = s->limit[0];
    int64_t w = s->window_ms[0];
    if (!counter) {
        out->remaining = (uint64_t)n < nl ? nl - (uint64_t)n : 0;
        out->reset_ms = w;
        return PRD_OK;
    }
    /* the function's numbers: floor((N·W - c·(W - e) - b·W) / W), the
     * window's age e, in 128 bits (N·W passes 2^64) */
    int64_t e = *t - a * w;
    i128 room = (i128)nl * w - (i128)prev * (w - e) - (i128)b * w;
    out->remaining = room > 0 ? (uint64_t)(room / w) : 0;
    out->reset_ms = b > 0 ? 2 * w - e : prev > 0 ? w - e : 0;
    return PRD_OK;
}

static prd_status run_function(prd_rl_pg *s, const prd_rl_key *keys, uint64_t cost, int record,
                               prd_rl_decision *out, int64_t *times);


static prd_status run(prd_rl_pg *s, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                      int record, prd_rl_decision *out, int64_t *times)
{
    if (!s || !out || !keys || n_keys != s->n || cost == 0 || cost > ((uint64_t)1 << 48)) {
        if (out)
            memset(out, 0, sizeof *out);
        return PRD_EINVAL;
    }
    if (!record || s->n != 1 || s->algorithm[0] == PRD_RL_GCRA || cost > s->limit[0] ||
        keys[0].len > PRD_RL_KEY_MAX || (keys[0].len && !keys[0].data))
        return run_function(s, keys, cost, record, out, times);
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t t = 0;
        prd_status st = fast_check(s, &keys[0], cost, out, &t);
        if (st == PRD_OK) {
            if (times)
                times[0] = t;
            return PRD_OK;
        }
        if (st != PRD_ENOTFOUND)
            return failed(s, st, out);
        /* not admitted: the denial's numbers from the function, which
         * records nothing; if the key was freed meanwhile, try again */
        st = run_function(s, keys, cost, 0, out, NULL);
        if (st != PRD_OK)
            return st;
    }
    /* admitted by a look and refused by the upsert twice: a denial */
    out->allowed = 0;
    out->retry_after_ms = out->retry_after_ms > 0 ? out->retry_after_ms : 1;
    return PRD_ELIMITED;
}

static prd_status run_function(prd_rl_pg *s, const prd_rl_key *keys, uint64_t cost, int record,
                               prd_rl_decision *out, int64_t *times)
{
    char *klit = NULL;
    prd_status st = keys_literal(keys, s->n, &klit);
    if (st != PRD_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    char costs[24];
    snprintf(costs, sizeof costs, "%llu", (unsigned long long)cost);
    const char *v[8] = {s->rules_lit,   klit,          s->algos_lit, s->limits_lit,
                        s->windows_lit, s->bursts_lit, costs,        record ? "true" : "false"};
    prd_pg_conn *c = NULL;
    st = prd_pg_acquire(s->pool, &c, NULL);
    prd_pg_result *r = NULL;
    if (st == PRD_OK)
        st = prd_pg_query_text(c, check_sql, 8, v, &r);
    prd_pg_pool_release(c);
    prd__free(klit);
    prd_rl_decision d;
    if (st == PRD_OK)
        st = prd__stores_decision(r, &d);
    if (st == PRD_OK && times && d.allowed &&
        !parse_times(prd_pg_result_text(r, 0, 6, NULL), times, s->n))
        st = PRD_EDB;
    prd_pg_result_free(r);
    if (st != PRD_OK)
        return failed(s, st, out);
    *out = d;
    return d.allowed ? PRD_OK : PRD_ELIMITED;
}

static uint64_t keys_hash(const prd_rl_pg *s, const prd_rl_key *keys, size_t n);

/* The check with leases on (the slot's lock held throughout, so a
 * lease's units are spent once; a round trip under it only when the
 * key has no live lease; keys of other slots go on meanwhile). Not to
 * be changed (set_local_lease) while checks run. */
static prd_status check_leased(prd_rl_pg *s, const prd_rl_key *keys, uint64_t cost,
                               prd_rl_decision *out)
{
    struct lease_table *t = s->leases;
    size_t total = 0;
    for (uint32_t i = 0; i < s->n; i++)
        total += keys[i].len;
    if (total > LEASE_KEYS_MAX || cost > t->units)
        return run(s, keys, s->n, cost, 1, out, NULL);
    uint64_t h = keys_hash(s, keys, s->n) | 1;
    int64_t now = prd_clock_mono_ns(NULL);
    struct lease *l = &t->slot[h % LEASE_SLOTS];
    pthread_mutex_lock(&l->mu);
    if (l->hash != h) { /* another key's slot: its lease stays counted */
        l->hash = h;
        l->left = 0;
        l->until_ns = 0;
        l->plenty = 0;
        size_t off = 0;
        for (uint32_t i = 0; i < s->n; i++) {
            if (keys[i].len)
                memcpy(l->keys + off, keys[i].data, keys[i].len);
            l->key_len[i] = (uint16_t)keys[i].len;
            off += keys[i].len;
        }
    }
    if (l->until_ns && now < l->until_ns && l->left >= cost) {
        l->left -= cost;
        *out = l->d;
        out->remaining = l->d.remaining + l->left;
        atomic_fetch_add(&t->local, 1);
        pthread_mutex_unlock(&l->mu);
        return PRD_OK;
    }
    lease_return(s, l); /* spent or expired: what is left goes back */
    prd_status st;
    if (l->plenty) {
        /* take this check's units and a lease at once */
        int64_t times[PRD_RL_MAX_RULES];
        times[0] = INT64_MIN;
        st = run(s, keys, s->n, cost + t->units, 1, out, times);
        if (st == PRD_OK && times[0] != INT64_MIN) {
            l->left = t->units;
            l->until_ns = now + t->lease_ns;
            memcpy(l->times, times, sizeof times);
            l->d = *out;
            l->plenty = out->remaining >= 2 * t->units;
            out->remaining += l->left;
            pthread_mutex_unlock(&l->mu);
            return PRD_OK;
        }
        if (st != PRD_ELIMITED) {
            pthread_mutex_unlock(&l->mu);
            return st; /* the failure policy answered */
        }
    }
    st = run(s, keys, s->n, cost, 1, out, NULL);
    /* a lease next time only when it leaves room for two more */
    l->plenty = st == PRD_OK && out->remaining >= 3 * t->units;
    pthread_mutex_unlock(&l->mu);
    return st;
}

prd_status prd_rl_pg_check(prd_rl_pg *s, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                           prd_rl_decision *out)
{
    if (!out || !prd__rl_out_ok(out))
        return PRD_EINVAL;
    size_t size = out->size; /* the caller's, kept across the internal writes */
    prd_status st;
    if (s && s->leases && keys && n_keys == s->n && cost > 0 && cost <= ((uint64_t)1 << 48))
        st = check_leased(s, keys, cost, out);
    else
        st = run(s, keys, n_keys, cost, 1, out, NULL);
    out->size = size;
    return st;
}

prd_status prd_rl_pg_peek(prd_rl_pg *s, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                          prd_rl_decision *out)
{
    if (!out || !prd__rl_out_ok(out))
        return PRD_EINVAL;
    size_t size = out->size;
    prd_status st = run(s, keys, n_keys, cost, 0, out, NULL);
    out->size = size;
    return st;
}

static uint64_t keys_hash(const prd_rl_pg *s, const prd_rl_key *keys, size_t n)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, s->key_check, sizeof s->key_check, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        uint64_t len = keys[i].len;
        crypto_generichash_update(&h, (const unsigned char *)&len, sizeof len);
        if (keys[i].len)
            crypto_generichash_update(&h, keys[i].data, keys[i].len);
    }
    uint64_t v = 0;
    crypto_generichash_final(&h, (unsigned char *)&v, sizeof v);
    return v;
}

prd_status prd_rl_pg_reserve(prd_rl_pg *s, const prd_rl_key *keys, size_t n_keys, uint64_t cost,
                             prd_rl_decision *out, prd_rl_reservation *resv)
{
    if (resv)
        memset(resv, 0, sizeof *resv);
    if (!resv || !out || !prd__rl_out_ok(out))
        return PRD_EINVAL;
    struct pg_resv *r = (struct pg_resv *)(void *)resv;
    r->times[0] = INT64_MIN; /* stays so when the failure policy answered */
    size_t size = out->size;
    prd_status st = run(s, keys, n_keys, cost, 1, out, r->times);
    out->size = size;
    if (st != PRD_OK) {
        memset(resv, 0, sizeof *resv);
        return st;
    }
    /* admitted: recorded, or let through by the failure policy (open) */
    r->magic = RESV_LIVE;
    r->store = s->id;
    r->cost = cost;
    r->keys_hash = keys_hash(s, keys, n_keys);
    r->recorded = r->times[0] != INT64_MIN;
    return PRD_OK;
}

static struct pg_resv *settle_start(prd_rl_pg *s, prd_rl_reservation *resv)
{
    struct pg_resv *r = resv ? (struct pg_resv *)(void *)resv : NULL;
    if (!s || !r || r->magic != RESV_LIVE || r->store != s->id)
        return NULL;
    return r;
}

prd_status prd_rl_pg_commit(prd_rl_pg *s, prd_rl_reservation *resv)
{
    struct pg_resv *r = settle_start(s, resv);
    if (!r)
        return PRD_EINVAL;
    r->magic = 0; /* the units stay counted: nothing to write */
    return PRD_OK;
}

/* Give back cost units recorded at times (one call of prd_rl_refund). */
static prd_status refund_units(prd_rl_pg *s, const prd_rl_key *keys, uint64_t cost,
                               const int64_t *times)
{
    char *klit = NULL;
    prd_status st = keys_literal(keys, s->n, &klit);
    if (st != PRD_OK)
        return st;
    char costs[24], times_lit[PRD_RL_MAX_RULES * 21 + 4];
    snprintf(costs, sizeof costs, "%llu", (unsigned long long)cost);
    size_t len = (size_t)snprintf(times_lit, sizeof times_lit, "{");
    for (uint32_t i = 0; i < s->n; i++)
        len += (size_t)snprintf(times_lit + len, sizeof times_lit - len, "%s%lld", i ? "," : "",
                                (long long)times[i]);
    snprintf(times_lit + len, sizeof times_lit - len, "}");
    const char *v[7] = {s->rules_lit, klit, s->algos_lit, s->limits_lit, s->windows_lit, costs,
                        times_lit};
    prd_pg_conn *c = NULL;
    st = prd_pg_acquire(s->pool, &c, NULL);
    prd_pg_result *res = NULL;
    if (st == PRD_OK)
        st = prd_pg_query_text(c,
                               "SELECT prd_rl_refund($1::text[], $2::bytea[], $3::int[], "
                               "$4::int8[], $5::int8[], $6::int8, $7::int8[])",
                               7, v, &res);
    prd_pg_pool_release(c);
    prd_pg_result_free(res);
    prd__free(klit);
    return st;
}

prd_status prd_rl_pg_refund(prd_rl_pg *s, const prd_rl_key *keys, size_t n_keys,
                            prd_rl_reservation *resv)
{
    struct pg_resv *r = settle_start(s, resv);
    if (!r || !keys || n_keys != s->n || keys_hash(s, keys, n_keys) != r->keys_hash)
        return PRD_EINVAL;
    if (!r->recorded) {
        r->magic = 0;
        return PRD_OK; /* let through while the database was away: nothing to give back */
    }
    prd_status st = refund_units(s, keys, r->cost, r->times);
    if (st == PRD_OK) {
        r->magic = 0;
        return PRD_OK;
    }
    /* not given back: the units stay counted (the safe side); the
     * reservation stays live, so the caller may try again */
    return st == PRD_ENOMEM || st == PRD_ETIMEOUT ? st : PRD_EDB;
}
