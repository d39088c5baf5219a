/* ratelimit under attack: concurrent attempts on the login guard and on
 * multi-rule checks, floods of fresh keys against small tables, clocks
 * that step, reservations, GCRA, headers, lockouts, shared memory on a
 * small tmpfs. Each case reproduces a way the guarantees once gave way. */
#include "support/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC_NS INT64_C(1000000000)
#define MS_NS INT64_C(1000000)
#define N_ALGS 3

static prd_limiter *rule(const char *name, uint64_t limit, int64_t window_ms, prd_rl_algorithm alg,
                         size_t max_keys, prd_rl_full_policy policy)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, name, limit, window_ms, alg));
    if (max_keys)
        assert_ok(prd_limiter_config_set_max_keys(cfg, max_keys));
    assert_ok(prd_limiter_config_set_full_policy(cfg, policy));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    return l;
}

static prd_status hit(prd_limiter *l, const char *key, uint64_t cost, int64_t t, prd_rl_decision *d)
{
    prd_rl_key k = {key, strlen(key)};
    return prd_limiter_check_at(l, &k, 1, cost, t, d);
}

/* ---- 1. concurrent attempts on the guard ---- */

struct racer {
    prd_login_guard *g;
    pthread_barrier_t *go;
    char account[32], source[32];
    int allowed;
    prd_login_attempt att;
};

static void *race_check(void *p)
{
    struct racer *r = p;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    pthread_barrier_wait(r->go);
    r->allowed = prd_login_guard_check(r->g, r->account, strlen(r->account), r->source,
                                       strlen(r->source), &r->att, &d) == PRD_OK;
    return NULL;
}

/* Run n concurrent checks, then fail every allowed one; returns how many
 * were allowed. */
static int race(prd_login_guard *g, int n, const char *account, int distinct_sources)
{
    struct racer *rs = calloc((size_t)n, sizeof *rs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        rs[i].g = g;
        rs[i].go = &go;
        snprintf(rs[i].account, sizeof rs[i].account, "%s", account);
        snprintf(rs[i].source, sizeof rs[i].source, distinct_sources ? "198.51.100.%d" : "203.0.113.1", i);
        assert_int_equal(pthread_create(&th[i], NULL, race_check, &rs[i]), 0);
    }
    int allowed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (rs[i].allowed) {
            allowed++;
            assert_ok(prd_login_guard_failure(g, &rs[i].att));
        }
    }
    pthread_barrier_destroy(&go);
    free(rs);
    free(th);
    return allowed;
}

static void test_guard_concurrent_attempts(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, SEC_NS, &c));
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(4096, &g));
    assert_ok(prd_login_guard_set_clock(g, c));
    /* 50 at once from one source: 3 free attempts, then backoff. */
    int got = race(g, 50, "alice", 0);
    if (got != 3)
        fail_msg("50 concurrent attempts from one source: %d allowed, want 3", got);
    /* 50 at once from 50 sources on one account: the account's 10. */
    got = race(g, 50, "bob", 1);
    if (got != 10)
        fail_msg("50 concurrent attempts from 50 sources: %d allowed, want 10", got);
    /* A success refunds its failure: alternate rounds keep the account open. */
    prd_login_attempt att;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(prd_login_guard_check(g, "carol", 5, "192.0.2.1", 9, &att, &d));
    assert_ok(prd_login_guard_success(g, &att));
    got = race(g, 50, "carol", 1);
    assert_int_equal(got, 10);
    prd_login_guard_free(g);
    prd_clock_free(c);
}

/* Threads racing on multi-rule reservations never exceed any rule. */
struct resv_racer {
    prd_limiter *l;
    int id;
    int admitted;
};

static void *resv_thread(void *p)
{
    struct resv_racer *r = p;
    char acct[16];
    for (int i = 0; i < 4000; i++) {
        snprintf(acct, sizeof acct, "a%d", (r->id + i) % 7);
        prd_rl_key keys[2] = {{acct, strlen(acct)}, {"shared", 6}};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_rl_reservation resv;
        if (prd_limiter_reserve_at(r->l, keys, 2, 1, 1000, &d, &resv) != PRD_OK)
            continue;
        /* Half the work fails and gives its unit back. */
        if (i % 2)
            assert_ok(prd_limiter_refund_at(r->l, &resv, 1000));
        else {
            assert_ok(prd_limiter_commit(r->l, &resv));
            r->admitted++;
        }
    }
    return NULL;
}

static void test_multi_rule_reservations_race(void **state)
{
    (void)state;
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "account", 40, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_add_gcra(cfg, "shared", 150, 60000, 150));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    struct resv_racer rs[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        rs[i] = (struct resv_racer){l, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, resv_thread, &rs[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += rs[i].admitted;
    }
    /* Refunds returned every unit they took: the committed ones are
     * exactly what the tighter of the two rules admits (the shared 150;
     * 7 accounts x 40 = 280 is looser), never more. */
    assert_int_equal(total, 150);
    prd_limiter_free(l);
}

/* ---- 2. floods of fresh keys cannot evict the keys that matter ---- */

static void test_flood_cannot_evict_a_limited_key(void **state)
{
    (void)state;
    const prd_rl_algorithm algs[] = {PRD_RL_EXACT, PRD_RL_COUNTER, PRD_RL_GCRA};
    for (size_t a = 0; a < N_ALGS; a++)
        for (int policy = 0; policy <= 1; policy++) {
            prd_limiter *l = rule("r", 5, 60000, algs[a], 16, (prd_rl_full_policy)policy);
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            int victim = 0;
            char key[32];
            /* One new key a millisecond for 60 s, the victim trying too. */
            for (int t = 0; t < 60000; t++) {
                snprintf(key, sizeof key, "fresh-%d", t);
                prd_status st = hit(l, key, 1, t, &d);
                assert_true(st == PRD_OK || st == PRD_EBUSY);
                if (hit(l, "victim", 1, t, &d) == PRD_OK)
                    victim++;
            }
            /* Exact and counter: 5 per minute. GCRA with burst 5: 5 at
             * once plus one per 12 s replenished within the minute. */
            int want = algs[a] == PRD_RL_GCRA ? 5 + 4 : 5;
            if (victim > want)
                fail_msg("alg %d policy %d: victim admitted %d times in 60 s (limit %d)",
                         (int)algs[a], policy, victim, want);
            assert_true(victim >= 5);
            assert_true(prd_limiter_refused(l, 0) > 0);
            prd_limiter_free(l);
        }
}

static void test_flood_cannot_evict_guard_records(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, SEC_NS, &c));
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(1024, &g));
    assert_ok(prd_login_guard_set_clock(g, c));
    prd_login_attempt att;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    /* alice at home, familiar. */
    assert_ok(prd_login_guard_check(g, "alice", 5, "home", 4, &att, &d));
    assert_ok(prd_login_guard_success(g, &att));
    /* One source sprays 3000 random user names. */
    int allowed = 0;
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "user-%d", i);
        prd_status st = prd_login_guard_check(g, name, strlen(name), "evil", 4, &att, &d);
        if (st == PRD_OK) {
            allowed++;
            assert_ok(prd_login_guard_failure(g, &att));
        }
        assert_ok(prd_clock_manual_advance(c, MS_NS));
    }
    assert_int_equal(allowed, 100); /* the source's 100 per hour */
    /* ... and 30,000 decoy failures from 340 sources, with guesses on alice. */
    int on_alice = 0;
    for (int i = 0; i < 30000; i++) {
        char src[32];
        snprintf(src, sizeof src, "10.1.%d.%d", (i % 340) / 256, (i % 340) % 256);
        const char *target = i % 10 == 0 ? "alice" : name;
        if (i % 10)
            snprintf(name, sizeof name, "decoy-%d", i);
        prd_status st = prd_login_guard_check(g, target, strlen(target), src, strlen(src), &att, &d);
        assert_true(st == PRD_OK || st == PRD_ELIMITED || st == PRD_EBUSY);
        if (st == PRD_OK) {
            on_alice += i % 10 == 0;
            assert_ok(prd_login_guard_failure(g, &att));
        }
        if (i % 50 == 0)
            assert_ok(prd_clock_manual_advance(c, 30 * MS_NS)); /* about 20 s in all */
    }
    if (on_alice > 10)
        fail_msg("%d guesses on alice in 20 s (limit 10 per 15 min)", on_alice);
    /* alice at home is let in at once. */
    assert_ok(prd_login_guard_check(g, "alice", 5, "home", 4, &att, &d));
    assert_ok(prd_login_guard_success(g, &att));
    prd_login_guard_free(g);
    prd_clock_free(c);
}

/* ---- 3. time ---- */

static void test_clock_steps(void **state)
{
    (void)state;
    const prd_rl_algorithm algs[] = {PRD_RL_EXACT, PRD_RL_COUNTER, PRD_RL_GCRA};
    for (size_t a = 0; a < N_ALGS; a++) {
        /* Stray future times for other keys do not erase this one (a
         * shard's clock follows the earliest of its last few requests). */
        prd_limiter *l = rule("r", 1, 60000, algs[a], 16, PRD_RL_EVICT_DECAYED);
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        assert_ok(hit(l, "a", 1, 1000, &d));
        assert_ok(hit(l, "b", 1, 1000000000, &d));
        assert_ok(hit(l, "b2", 1, 1000000001, &d));
        assert_ok(hit(l, "b3", 1, 1000000002, &d));
        if (hit(l, "a", 1, 1001, &d) != PRD_ELIMITED)
            fail_msg("alg %d: a admitted again at t=1001 after future requests for others",
                     (int)algs[a]);
        /* Back in time: retrying at now + retry_after is admitted, and one
         * millisecond earlier is not. */
        assert_ok(hit(l, "c", 1, 100000, &d));
        assert_status(hit(l, "c", 1, 50000, &d), PRD_ELIMITED);
        int64_t ra = d.retry_after_ms;
        assert_true(ra > 50000);
        assert_status(hit(l, "c", 1, 50000 + ra - 1, &d), PRD_ELIMITED);
        assert_ok(hit(l, "c", 1, 50000 + ra, &d));
        /* Forward: a big step decays everything; headers stay sane. */
        assert_ok(hit(l, "c", 1, 100000000, &d));
        assert_true(d.reset_ms > 0 && d.reset_ms <= 2 * 60000);
        prd_limiter_free(l);
    }
    /* Looking moves the key's clock too (found by fuzz_ratelimit): a peek
     * far ahead drops old units from the log, so a later earlier time must
     * not find room they would have taken. */
    {
        prd_limiter *l = rule("r", 3, 100, PRD_RL_EXACT, 16, PRD_RL_EVICT_DECAYED);
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_rl_key k = {"k", 1};
        assert_ok(hit(l, "k", 2, 1033, &d));
        assert_ok(prd_limiter_peek_at(l, &k, 1, 3, 1146, &d)); /* the 1033 units are out */
        assert_ok(hit(l, "k", 1, 1085, &d));                   /* counts at 1146 */
        assert_ok(hit(l, "k", 1, 1095, &d));
        assert_status(hit(l, "k", 2, 1095, &d), PRD_ELIMITED); /* 2 + 2 in (1046, 1146] */
        prd_limiter_free(l);
        /* The counter's windows must not be reset by the earlier time. */
        l = rule("r", 3, 100, PRD_RL_COUNTER, 16, PRD_RL_EVICT_DECAYED);
        assert_ok(hit(l, "k", 2, 1033, &d));
        assert_status(prd_limiter_peek_at(l, &k, 1, 3, 1146, &d), PRD_ELIMITED); /* 1.08 + 3 */
        assert_ok(hit(l, "k", 1, 1085, &d));                   /* 1.08 + 1 at 1146 */
        assert_status(hit(l, "k", 1, 1095, &d), PRD_ELIMITED); /* 1.08 + 2 > 3 */
        prd_limiter_free(l);
    }
    /* Out-of-range times are refused, not wrapped. */
    prd_limiter *l = rule("r", 1, 1000, PRD_RL_GCRA, 16, PRD_RL_EVICT_DECAYED);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_status(hit(l, "k", 1, -1, &d), PRD_EINVAL);
    assert_status(hit(l, "k", 1, INT64_MAX, &d), PRD_EINVAL);
    prd_limiter_free(l);
}

/* ---- 4. reservations and GCRA ---- */

static void test_reserve_refund_each_kind(void **state)
{
    (void)state;
    const prd_rl_algorithm algs[] = {PRD_RL_EXACT, PRD_RL_COUNTER, PRD_RL_GCRA};
    for (size_t a = 0; a < N_ALGS; a++) {
        prd_limiter *l = rule("r", 3, 60000, algs[a], 0, PRD_RL_EVICT_DECAYED);
        prd_limiter *other = rule("r", 3, 60000, algs[a], 0, PRD_RL_EVICT_DECAYED);
        prd_rl_key k = {"k", 1};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_rl_reservation r[4];
        for (int i = 0; i < 3; i++)
            assert_ok(prd_limiter_reserve_at(l, &k, 1, 1, 1000 + i, &d, &r[i]));
        assert_status(prd_limiter_reserve_at(l, &k, 1, 1, 1003, &d, &r[3]), PRD_ELIMITED);
        /* Refunding one makes room for exactly one more. */
        assert_status(prd_limiter_refund_at(other, &r[1], 1004), PRD_EINVAL); /* not its own */
        assert_ok(prd_limiter_refund_at(l, &r[1], 1004));
        assert_status(prd_limiter_refund_at(l, &r[1], 1004), PRD_EINVAL); /* settled */
        assert_status(prd_limiter_commit(l, &r[1]), PRD_EINVAL);
        assert_ok(prd_limiter_reserve_at(l, &k, 1, 1, 1005, &d, &r[3]));
        assert_status(hit(l, "k", 1, 1006, &d), PRD_ELIMITED);
        assert_ok(prd_limiter_commit(l, &r[0]));
        assert_status(prd_limiter_refund_at(l, &r[0], 1007), PRD_EINVAL);
        /* A refund long after the window gives nothing extra back. */
        assert_ok(prd_limiter_refund_at(l, &r[2], 1000000));
        for (int i = 0; i < 3; i++)
            assert_ok(hit(l, "k", 1, 1000000 + i, &d));
        assert_status(hit(l, "k", 1, 1000003, &d), PRD_ELIMITED);
        /* A denied reservation holds nothing to settle. */
        prd_rl_reservation denied;
        assert_status(prd_limiter_reserve_at(l, &k, 1, 1, 1000004, &d, &denied), PRD_ELIMITED);
        assert_status(prd_limiter_refund_at(l, &denied, 1000004), PRD_EINVAL);
        assert_status(prd_limiter_reserve_at(l, &k, 1, 1, 1000004, &d, NULL), PRD_EINVAL);
        prd_limiter_free(l);
        prd_limiter_free(other);
    }
}

static void test_gcra(void **state)
{
    (void)state;
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    /* 10 per second sustained (one per 100 ms), bursts of 4. */
    assert_ok(prd_limiter_config_add_gcra(cfg, "api", 10, 1000, 4));
    assert_status(prd_limiter_config_add_gcra(cfg, "bad", 10, 1000, 0), PRD_EINVAL);
    assert_status(prd_limiter_config_add_gcra(cfg, "bad", 1, 2592000000, UINT64_C(1) << 40),
                  PRD_EINVAL);
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (int i = 0; i < 4; i++) {
        assert_ok(hit(l, "k", 1, 0, &d));
        assert_int_equal(d.remaining, (uint64_t)(3 - i));
    }
    assert_status(hit(l, "k", 1, 0, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 100);
    assert_status(hit(l, "k", 1, 99, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 1);
    assert_ok(hit(l, "k", 1, 100, &d));
    assert_int_equal(d.remaining, 0);
    assert_int_equal(d.reset_ms, 400); /* the bucket is full again 400 ms on */
    /* Costs: 3 units wait for three replenishments. */
    assert_status(hit(l, "k", 3, 100, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 300);
    assert_status(hit(l, "k", 5, 100, &d), PRD_ELIMITED); /* over the burst: never */
    assert_int_equal(d.retry_after_ms, -1);
    /* Steady traffic at the rate passes forever; faster is cut to the rate. */
    int ok = 0;
    for (int t = 10000; t < 20000; t += 50)
        ok += hit(l, "steady", 1, t, &d) == PRD_OK;
    assert_int_equal(ok, 4 + 100 - 1); /* the burst, then one per 100 ms */
    assert_int_equal(prd_limiter_bytes_per_key(l, 0) <= 24, 1);
    prd_limiter_free(l);
}

/* ---- 5. headers ---- */

static void test_headers_draft10_and_problem(void **state)
{
    (void)state;
    prd_limiter *l = rule("api", 2, 60000, PRD_RL_EXACT, 0, PRD_RL_EVICT_DECAYED);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char buf[PRD_RL_HEADER_SIZE], ra[PRD_RL_HEADER_SIZE];
    assert_ok(hit(l, "k", 1, 0, &d));
    prd_limiter_ratelimit_header(l, &d, buf, sizeof buf);
    assert_string_equal(buf, "\"api\";r=1;t=60");
    assert_ok(hit(l, "k", 1, 30500, &d));
    assert_status(hit(l, "k", 1, 31000, &d), PRD_ELIMITED);
    prd_limiter_ratelimit_header(l, &d, buf, sizeof buf);
    assert_string_equal(buf, "\"api\";r=0;t=29"); /* the first unit leaves at 60000 */
    prd_limiter_retry_after_header(&d, ra, sizeof ra);
    assert_string_equal(ra, "29");                /* never earlier than t */
    assert_int_equal(prd_limiter_retry_after_header(&d, NULL, 0), 2);
    unsigned char fp[8] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
    prd_limiter_ratelimit_header_pk(l, &d, fp, sizeof fp, buf, sizeof buf);
    assert_string_equal(buf, "\"api\";r=0;t=29;pk=:3q2+7wABAgM=:");
    unsigned char big[PRD_RL_PK_MAX + 1] = {0};
    assert_int_equal(prd_limiter_ratelimit_header_pk(l, &d, big, sizeof big, buf, sizeof buf), 0);
    /* The problem details body is JSON of the draft's type. */
    size_t n = prd_limiter_problem_json(l, &d, buf, sizeof buf);
    assert_true(n > 0 && n < sizeof buf);
    json_error_t err;
    json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://iana.org/assignments/http-problem-types#quota-exceeded");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 429);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "violated-policies"), 0)),
                        "api");
    json_decref(j);
    /* Small buffers: the needed length, never a truncated value. */
    char small[8] = "xxxxxxx";
    assert_true(prd_limiter_problem_json(l, &d, small, sizeof small) > sizeof small);
    assert_string_equal(small, "");
    assert_ok(hit(l, "other", 1, 31000, &d));
    assert_int_equal(prd_limiter_problem_json(l, &d, buf, sizeof buf), 0); /* allowed */
    /* The worst case fits PRD_RL_HEADER_SIZE: 8 rules with long names and limits. */
    prd_limiter_config *cfg = NULL;
    prd_limiter *wide = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    for (int i = 0; i < PRD_RL_MAX_RULES; i++) {
        char name[33];
        snprintf(name, sizeof name, "%032d", i);
        assert_ok(prd_limiter_config_add_rule(cfg, name, UINT64_C(1) << 48, 2592000000,
                                              PRD_RL_COUNTER));
    }
    assert_ok(prd_limiter_new(cfg, &wide));
    prd_limiter_config_free(cfg);
    assert_true(prd_limiter_policy_header(wide, NULL, 0) < PRD_RL_HEADER_SIZE);
    prd_limiter_free(wide);
    prd_limiter_free(l);
}

/* ---- 6. lockouts an operator can see and a user can escape ---- */

struct seen {
    int n[3];
    char fp[32];
    int64_t for_ms;
    char lines[4096];
    size_t lines_len;
};

static void on_lockout(void *ud, prd_login_lockout_kind kind, const void *account, size_t len,
                       const char *fp, int64_t for_ms)
{
    struct seen *s = ud;
    assert_true(len == 5 && memcmp(account, "alice", 5) == 0);
    s->n[kind]++;
    snprintf(s->fp, sizeof s->fp, "%s", fp);
    s->for_ms = for_ms;
}

static void on_line(void *ud, const char *line, size_t len)
{
    struct seen *s = ud;
    if (s->lines_len + len + 1 < sizeof s->lines) {
        memcpy(s->lines + s->lines_len, line, len);
        s->lines_len += len;
        s->lines[s->lines_len++] = '\n';
        s->lines[s->lines_len] = '\0';
    }
}

static void test_lockout_reports_and_unlock(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(1700000000 * SEC_NS, SEC_NS, &c));
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(1024, &g));
    assert_ok(prd_login_guard_set_clock(g, c));
    assert_ok(prd_login_guard_set_limits(g, 1000, 3600000, 5, 900000));
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_callback(lg, on_line, &seen));
    assert_ok(prd_login_guard_set_lockout_callback(g, on_lockout, &seen));
    assert_ok(prd_login_guard_set_logger(g, lg));
    prd_login_attempt att;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    /* Five failures from five sources lock the account for new sources. */
    for (int i = 0; i < 5; i++) {
        char src[16];
        snprintf(src, sizeof src, "192.0.2.%d", i);
        assert_ok(prd_login_guard_check(g, "alice", 5, src, strlen(src), &att, &d));
        assert_ok(prd_login_guard_failure(g, &att));
    }
    assert_int_equal(seen.n[PRD_LOGIN_LOCKOUT_ACCOUNT], 1);
    assert_int_equal(strlen(seen.fp), 16);
    assert_null(strstr(seen.lines, "192.0.2.")); /* never the source itself */
    assert_true(seen.for_ms > 0 && seen.for_ms <= 900000);
    assert_int_equal(prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT), 1);
    json_error_t err;
    json_t *line = json_loads(seen.lines, JSON_DISABLE_EOF_CHECK, &err);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(line, "msg")), "login lockout");
    assert_string_equal(json_string_value(json_object_get(line, "kind")), "account");
    assert_string_equal(json_string_value(json_object_get(line, "account")), "alice");
    assert_string_equal(json_string_value(json_object_get(line, "source_fp")), seen.fp);
    assert_true(strncmp(json_string_value(json_object_get(line, "until")), "2023-11-14T", 11) == 0);
    json_decref(line);
    assert_status(prd_login_guard_check(g, "alice", 5, "192.0.2.99", 10, &att, &d), PRD_ELIMITED);
    /* Three failures in a row from one source start its backoff: reported. */
    assert_ok(prd_login_guard_unlock(g, "alice", 5));
    for (int i = 0; i < 3; i++) {
        assert_ok(prd_login_guard_check(g, "alice", 5, "198.51.100.1", 12, &att, &d));
        assert_ok(prd_login_guard_failure(g, &att));
    }
    assert_int_equal(seen.n[PRD_LOGIN_LOCKOUT_BACKOFF], 1);
    assert_status(prd_login_guard_check(g, "alice", 5, "198.51.100.1", 12, &att, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 2);
    /* The recovery path (password reset): unlock lifts both. */
    assert_ok(prd_login_guard_unlock(g, "alice", 5));
    assert_ok(prd_login_guard_check(g, "alice", 5, "198.51.100.1", 12, &att, &d));
    assert_ok(prd_login_guard_success(g, &att));
    assert_ok(prd_login_guard_check(g, "alice", 5, "192.0.2.99", 10, &att, &d));
    assert_ok(prd_login_guard_abandon(g, &att));
    assert_status(prd_login_guard_unlock(NULL, "a", 1), PRD_EINVAL);
    prd_login_guard_free(g);
    prd_logger_free(lg);
    prd_clock_free(c);
}

/* A guard whose tables are full of live state fails closed, counted. */
static void test_guard_full_tables_fail_closed(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, SEC_NS, &c));
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(16, &g));
    assert_ok(prd_login_guard_set_clock(g, c));
    prd_login_attempt att;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    int busy = 0;
    for (int i = 0; i < 40; i++) {
        char src[16];
        snprintf(src, sizeof src, "s%d", i);
        prd_status st = prd_login_guard_check(g, src, strlen(src), src, strlen(src), &att, &d);
        if (st == PRD_EBUSY)
            busy++;
        else if (st == PRD_OK)
            assert_ok(prd_login_guard_failure(g, &att));
    }
    assert_true(busy > 0);
    assert_int_equal(prd_login_guard_count(g, PRD_LOGIN_COUNT_BUSY), (uint64_t)busy);
    prd_login_guard_free(g);
    prd_clock_free(c);
}

/* ---- 7. shared memory that fails cleanly ---- */

static void test_shm_small_tmpfs_and_mode(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        /* Mounting a private tmpfs needs root (CI runs as root). */
        print_message("# not root: the small-tmpfs case needs unshare -m; mode case only\n");
    } else {
        pid_t kid = fork();
        if (kid == 0) {
            /* A private mount namespace with a 1 MiB /dev/shm, as in a
             * container with a small default. */
            if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0)
                _exit(3);
            prd_limiter_config *cfg = NULL;
            prd_limiter *l = NULL;
            if (prd_limiter_config_new(&cfg) != PRD_OK ||
                prd_limiter_config_add_rule(cfg, "r", 10, 1000, PRD_RL_COUNTER) != PRD_OK ||
                prd_limiter_config_set_max_keys(cfg, 1000000) != PRD_OK)
                _exit(4);
            prd_status st = prd_limiter_new_shm(cfg, "/prd-small", 1, &l);
            if (st != PRD_ENOMEM)
                _exit(5);
            /* Nothing is left behind, and a small one fits. */
            struct stat sb;
            if (stat("/dev/shm/prd-small", &sb) == 0)
                _exit(6);
            if (prd_limiter_config_set_max_keys(cfg, 1000) != PRD_OK ||
                prd_limiter_new_shm(cfg, "/prd-small", 1, &l) != PRD_OK)
                _exit(7);
            prd_limiter_free(l);
            if (prd_limiter_shm_unlink("/prd-small") != PRD_OK)
                _exit(8);
            prd_limiter_config_free(cfg);
            _exit(0);
        }
        int status = 0;
        waitpid(kid, &status, 0);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
            fail_msg("small tmpfs child exited %d", WEXITSTATUS(status));
    }
    /* The creator sets the mode (and owner) for workers with fewer rights. */
    char name[64], path[96];
    snprintf(name, sizeof name, "/prd-mode-%d", (int)getpid());
    snprintf(path, sizeof path, "/dev/shm%s", name);
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "r", 10, 1000, PRD_RL_COUNTER));
    assert_ok(prd_limiter_config_set_max_keys(cfg, 64));
    assert_status(prd_limiter_config_set_shm_access(cfg, 01777, -1, -1), PRD_EINVAL);
    assert_status(prd_limiter_config_set_shm_access(cfg, 0400, -1, -1), PRD_EINVAL);
    assert_ok(prd_limiter_config_set_shm_access(cfg, 0660, -1, (int64_t)getgid()));
    assert_ok(prd_limiter_new_shm(cfg, name, 1, &l));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0660);
    assert_int_equal(sb.st_gid, getgid());
    prd_limiter_free(l);
    assert_ok(prd_limiter_shm_unlink(name));
    prd_limiter_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_concurrent_attempts),
        cmocka_unit_test(test_multi_rule_reservations_race),
        cmocka_unit_test(test_flood_cannot_evict_a_limited_key),
        cmocka_unit_test(test_flood_cannot_evict_guard_records),
        cmocka_unit_test(test_clock_steps),
        cmocka_unit_test(test_reserve_refund_each_kind),
        cmocka_unit_test(test_gcra),
        cmocka_unit_test(test_headers_draft10_and_problem),
        cmocka_unit_test(test_lockout_reports_and_unlock),
        cmocka_unit_test(test_guard_full_tables_fail_closed),
        cmocka_unit_test(test_shm_small_tmpfs_and_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
