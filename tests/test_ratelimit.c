/* ratelimit: boundaries, multi-rule atomicity, exactness against a brute-force
 * reference, counter error bound, bounded memory, threads, shared memory. */
#include "support/testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal/ratelimit.h"

static prd_limiter *one_rule(uint64_t limit, int64_t window_ms, prd_rl_algorithm alg, size_t max_keys)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "r", limit, window_ms, alg));
    if (max_keys)
        assert_ok(prd_limiter_config_set_max_keys(cfg, max_keys));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    return l;
}

static prd_status hit(prd_limiter *l, const char *key, uint64_t cost, int64_t t, prd_rl_decision *d)
{
    prd_rl_key k = {key, strlen(key)};
    return prd_limiter_check_at(l, &k, 1, cost, t, d);
}

static void test_exact_boundaries(void **state)
{
    (void)state;
    prd_limiter *l = one_rule(3, 1000, PRD_RL_EXACT, 0);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(hit(l, "k", 1, 100, &d));
    assert_int_equal(d.remaining, 2);
    assert_int_equal(d.reset_ms, 1000);
    assert_ok(hit(l, "k", 1, 200, &d));
    assert_ok(hit(l, "k", 1, 300, &d));
    assert_int_equal(d.remaining, 0);
    assert_status(hit(l, "k", 1, 300, &d), PRD_ELIMITED);
    assert_false(d.allowed);
    assert_int_equal(d.retry_after_ms, 800);       /* the unit of t=100 leaves at 1100 */
    assert_status(hit(l, "k", 1, 1099, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 1);
    assert_ok(hit(l, "k", 1, 1100, &d));           /* (100, 1100]: 100 is out */
    /* Costs: 2 units need two to leave. */
    assert_status(hit(l, "k", 2, 1150, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 1300 - 1150); /* units of 200 and 300 */
    assert_ok(hit(l, "k", 2, 1300, &d));
    assert_int_equal(d.remaining, 0);
    /* A cost over the limit can never pass. */
    assert_status(hit(l, "k", 4, 99999, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, -1);
    /* Keys are independent. */
    assert_ok(hit(l, "other", 3, 1300, &d));
    assert_status(hit(l, "k", 0, 1300, &d), PRD_EINVAL);
    prd_limiter_free(l);
}

static void test_counter_semantics(void **state)
{
    (void)state;
    prd_limiter *l = one_rule(10, 1000, PRD_RL_COUNTER, 0);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (int i = 0; i < 10; i++)
        assert_ok(hit(l, "k", 1, 500, &d));
    assert_status(hit(l, "k", 1, 999, &d), PRD_ELIMITED);
    /* Next window: the previous 10 weigh (1000-250)/1000 at t=1250 -> 7.5. */
    assert_ok(hit(l, "k", 1, 1250, &d));   /* 7.5 + 0 + 1 <= 10 */
    assert_ok(hit(l, "k", 1, 1250, &d));   /* 7.5 + 1 + 1 <= 10 */
    assert_status(hit(l, "k", 1, 1250, &d), PRD_ELIMITED); /* 7.5 + 2 + 1 > 10 */
    /* Fits when 10*(1000-el)/1000 + 2 + 1 <= 10, i.e. el >= 300: t = 1300. */
    assert_int_equal(d.retry_after_ms, 50);
    assert_status(hit(l, "k", 1, 1299, &d), PRD_ELIMITED);
    assert_ok(hit(l, "k", 1, 1300, &d));
    /* Two windows later nothing remains. */
    assert_ok(hit(l, "k", 10, 3000, &d));
    prd_limiter_free(l);
}

/* Brute-force reference: the exact rule over a trace, one key. */
static int reference_allows(const int64_t *admitted, size_t n, int64_t t, int64_t W, uint64_t N,
                            uint64_t cost)
{
    uint64_t in = 0;
    for (size_t i = 0; i < n; i++)
        if (admitted[i] > t - W && admitted[i] <= t)
            in++;
    return in + cost <= N;
}

static void test_exact_matches_brute_force_and_never_exceeds(void **state)
{
    (void)state;
    const uint64_t N = 7;
    const int64_t W = 1000;
    prd_limiter *l = one_rule(N, W, PRD_RL_EXACT, 0);
    int64_t *admitted = malloc(200000 * sizeof *admitted);
    size_t n_adm = 0;
    uint64_t seed = 42;
    int64_t t = 0;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        t += (int64_t)((seed >> 33) % 300); /* bursts (gap 0) and lulls */
        uint64_t cost = 1 + (seed >> 60) % 3;
        int want = reference_allows(admitted, n_adm, t, W, N, cost);
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_status st = hit(l, "key", cost, t, &d);
        if ((st == PRD_OK) != want)
            fail_msg("step %d t=%lld cost=%llu: limiter %s, reference %s", i, (long long)t,
                     (unsigned long long)cost, st == PRD_OK ? "allowed" : "denied",
                     want ? "allows" : "denies");
        if (st == PRD_OK)
            for (uint64_t c = 0; c < cost; c++)
                admitted[n_adm++] = t;
        else if (d.retry_after_ms > 0) {
            /* retry_after is exact: at t + retry it fits, one ms earlier it does not. */
            assert_true(reference_allows(admitted, n_adm, t + d.retry_after_ms, W, N, cost));
            assert_false(reference_allows(admitted, n_adm, t + d.retry_after_ms - 1, W, N, cost));
        }
    }
    /* No window of length W ever held more than N admitted units. */
    for (size_t i = 0, j = 0; i < n_adm; i++) {
        while (admitted[j] <= admitted[i] - W)
            j++;
        assert_true(i - j + 1 <= N);
    }
    free(admitted);
    prd_limiter_free(l);
}

static void test_counter_error_bound(void **state)
{
    (void)state;
    const uint64_t N = 50;
    const int64_t W = 1000;
    prd_limiter *l = one_rule(N, W, PRD_RL_COUNTER, 0);
    int64_t *admitted = malloc(400000 * sizeof *admitted);
    size_t n_adm = 0;
    uint64_t seed = 7;
    int64_t t = 0;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        t += (int64_t)((seed >> 33) % 15);
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        if (hit(l, "key", 1, t, &d) == PRD_OK)
            admitted[n_adm++] = t;
    }
    /* Documented worst case: fewer than 2N in any window of length W. */
    size_t worst = 0;
    for (size_t i = 0, j = 0; i < n_adm; i++) {
        while (admitted[j] <= admitted[i] - W)
            j++;
        if (i - j + 1 > worst)
            worst = i - j + 1;
    }
    print_message("# counter: worst window held %zu of limit %llu\n", worst, (unsigned long long)N);
    assert_true(worst < 2 * N);
    /* Over the whole trace it admits close to N per W (steady offered load
     * far above the limit): within 10%. */
    double per_window = (double)n_adm / ((double)t / (double)W);
    assert_true(per_window > 0.9 * (double)N && per_window < 1.1 * (double)N);
    free(admitted);
    prd_limiter_free(l);
}

static void test_multi_rule_atomic(void **state)
{
    (void)state;
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "account", 5, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_add_rule(cfg, "ip", 8, 3600000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_add_rule(cfg, "global", 1000, 60000, PRD_RL_COUNTER));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    prd_rl_key a1[3] = {{"alice", 5}, {"1.2.3.4", 7}, {NULL, 0}};
    prd_rl_key a2[3] = {{"bob", 3}, {"1.2.3.4", 7}, {NULL, 0}};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (int i = 0; i < 5; i++)
        assert_ok(prd_limiter_check_at(l, a1, 3, 1, 1000 + i, &d));
    /* alice is out; the denied request must not consume from ip or global. */
    for (int i = 0; i < 10; i++) {
        assert_status(prd_limiter_check_at(l, a1, 3, 1, 2000, &d), PRD_ELIMITED);
        assert_int_equal(d.rule, 0);
    }
    /* The IP has 3 left (8 - 5): bob gets exactly 3. */
    assert_ok(prd_limiter_check_at(l, a2, 3, 1, 3000, &d));
    assert_ok(prd_limiter_check_at(l, a2, 3, 1, 3000, &d));
    assert_ok(prd_limiter_check_at(l, a2, 3, 1, 3000, &d));
    assert_int_equal(d.rule, 1); /* fewest left: the ip rule */
    assert_int_equal(d.remaining, 0);
    assert_status(prd_limiter_check_at(l, a2, 3, 1, 3000, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 1);
    assert_int_equal(d.retry_after_ms, 1000 + 3600000 - 3000); /* first unit of the IP leaves */
    /* Headers. */
    char buf[256];
    prd_limiter_policy_header(l, buf, sizeof buf);
    assert_string_equal(buf, "\"account\";q=5;w=60, \"ip\";q=8;w=3600, \"global\";q=1000;w=60");
    prd_limiter_ratelimit_header(l, &d, buf, sizeof buf);
    assert_string_equal(buf, "\"ip\";r=0;t=3598"); /* until quota is available again */
    prd_limiter_retry_after_header(&d, buf, sizeof buf);
    assert_string_equal(buf, "3598");
    prd_rl_decision bad = PRD_RL_DECISION_INIT;
    assert_status(prd_limiter_check_at(l, a2, 2, 1, 3000, &bad), PRD_EINVAL); /* key count */
    char small[4] = "xyz";
    assert_true(prd_limiter_policy_header(l, small, sizeof small) > 3);
    assert_string_equal(small, "");
    prd_limiter_free(l);
}

static void test_bounded_memory_under_key_spray(void **state)
{
    (void)state;
    const size_t max = 10000;
    prd_limiter *l = one_rule(5, 60000, PRD_RL_COUNTER, max);
    size_t region = l->map_bytes;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char key[32];
    /* 10^6 fresh keys within one window: every one of them still
     * constrains its key, so once max keys are tracked the rest are
     * refused, none evicted. */
    size_t busy = 0;
    for (int i = 0; i < 1000000; i++) {
        int n = snprintf(key, sizeof key, "spray-%d", i);
        prd_rl_key k = {key, (size_t)n};
        prd_status st = prd_limiter_check_at(l, &k, 1, 1, 1000 + i / 1000, &d);
        if (st == PRD_EBUSY)
            busy++;
        else
            assert_ok(st);
    }
    size_t count = prd_limiter_key_count(l, 0);
    print_message("# 1e6 keys sprayed: %zu tracked (max %zu), %zu refused, %zu bytes/key\n", count,
                  max, busy, prd_limiter_bytes_per_key(l, 0));
    assert_int_equal(count, max);          /* exactly max_keys, no shard quota short of it */
    assert_int_equal(busy, 1000000 - max); /* the rest refused, none evicted */
    assert_int_equal(prd_limiter_refused(l, 0), busy);
    assert_int_equal(l->map_bytes, region); /* the region never grows */
    /* The first keys are still limited: their history was kept. */
    for (int i = 0; i < 5; i++) {
        prd_rl_key k = {"spray-0", 7};
        prd_status st = prd_limiter_check_at(l, &k, 1, 1, 2000, &d);
        assert_true(st == PRD_OK || st == PRD_ELIMITED);
    }
    assert_status(hit(l, "spray-0", 1, 2000, &d), PRD_ELIMITED);
    /* Once the windows pass, decayed state is reclaimed and new keys fit.
     * A shard judges other keys' decay by its own clock, which the first
     * request after a long pause moves (one stray future time must not
     * expire everyone): a few requests in a shard later, room is found. */
    prd_status st;
    int tries = 0;
    while ((st = hit(l, "late", 1, 1000 + 3 * 60000, &d)) == PRD_EBUSY)
        assert_true(++tries <= 3);
    assert_ok(st);
    prd_limiter_free(l);

    /* Under PRD_RL_DENY_NEW too; and max_keys holds exactly. */
    prd_limiter_config *cfg = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "r", 5, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_set_max_keys(cfg, 4096));
    assert_ok(prd_limiter_config_set_full_policy(cfg, PRD_RL_DENY_NEW));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    int refused = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        st = hit(l, key, 1, 1000, &d);
        if (st == PRD_EBUSY)
            refused++;
        else
            assert_ok(st);
        if (i < 4096)
            assert_int_equal(refused, 0); /* none refused before max_keys */
    }
    assert_int_equal(refused, 5000 - 4096);
    /* DENY_NEW frees room only by incremental reclamation (two slots a
     * check), which takes a few checks to reach a decayed key. */
    tries = 0;
    while (hit(l, "late", 1, 1000 + 60000 + 1000, &d) == PRD_EBUSY)
        assert_true(++tries < 4096);
    prd_limiter_free(l);
}

static void test_reclaims_expired_incrementally(void **state)
{
    (void)state;
    /* Under 1024 keys the table is one shard, so every check's two-slot
     * step visits the same table and the outcome does not depend on which
     * shards the random SipHash key sends the live keys to. */
    prd_limiter *l = one_rule(5, 1000, PRD_RL_EXACT, 1000);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        assert_ok(hit(l, key, 1, 0, &d));
    }
    assert_int_equal(prd_limiter_key_count(l, 0), 500);
    /* Long after, ordinary traffic on 50 keys sweeps the dead ones a few
     * slots per check, shard by shard, with no full pass anywhere. */
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "live-%d", i % 50);
        hit(l, key, 1, 5000 + i, &d);
    }
    size_t left = prd_limiter_key_count(l, 0);
    print_message("# after the sweep: %zu keys (50 live)\n", left);
    assert_true(left <= 50 + 4); /* the live keys, and at most a few not yet reached */
    prd_limiter_free(l);
}

struct hammer {
    prd_limiter *l;
    int id;
    uint64_t allowed;
};

static void *hammer_thread(void *p)
{
    struct hammer *h = p;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char key[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "shared-%d", i % 10);
        prd_rl_key k = {key, strlen(key)};
        if (prd_limiter_check_at(h->l, &k, 1, 1, 1000, &d) == PRD_OK)
            h->allowed++;
    }
    return NULL;
}

static void test_threads_conserve_totals(void **state)
{
    (void)state;
    prd_limiter *l = one_rule(1000, 60000, PRD_RL_EXACT, 0);
    struct hammer h[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        h[i] = (struct hammer){l, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
    }
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += h[i].allowed;
    }
    /* 10 shared keys x 1000 each: exactly 10000 admitted, never more. */
    assert_int_equal(total, 10000);
    prd_limiter_free(l);
}

static void test_shared_memory_across_fork_and_sigkill(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "/prd-test-%d", (int)getpid());
    prd_limiter_config *cfg = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "r", 100, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_set_max_keys(cfg, 1024));
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_new_shm(cfg, name, 1, &l));
    /* Four worker processes share the budget of one key. */
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            prd_limiter *c = NULL;
            if (prd_limiter_new_shm(cfg, name, 0, &c) != PRD_OK)
                _exit(100);
            int ok = 0;
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            for (int j = 0; j < 60; j++)
                if (hit(c, "shared", 1, 1000, &d) == PRD_OK)
                    ok++;
            prd_limiter_free(c);
            _exit(ok);
        }
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 100);
        total += WEXITSTATUS(status);
    }
    assert_int_equal(total, 100);
    /* A worker killed while holding the key's lock must not wedge the others. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t victim = fork();
    if (victim == 0) {
        prd_limiter *c = NULL;
        if (prd_limiter_new_shm(cfg, name, 0, &c) != PRD_OK)
            _exit(1);
        for (uint64_t s = 0; s < c->hdr->rules[0].shards; s++)
            prd__rl_lock(prd__rl_shard(c, 0, s));
        if (write(pipefd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char ch;
    assert_int_equal(read(pipefd[0], &ch, 1), 1);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    alarm(20); /* a wedged lock would hang here: fail loudly instead */
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(hit(l, "after-crash", 1, 2000, &d));
    assert_status(hit(l, "shared", 1, 2000, &d), PRD_ELIMITED); /* state survived */
    alarm(0);
    close(pipefd[0]);
    close(pipefd[1]);
    /* Attaching with other rules is refused; a missing segment is ENOTFOUND. */
    prd_limiter_config *other = NULL;
    assert_ok(prd_limiter_config_new(&other));
    assert_ok(prd_limiter_config_add_rule(other, "r", 99, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_set_max_keys(other, 1024));
    prd_limiter *bad = NULL;
    assert_status(prd_limiter_new_shm(other, name, 0, &bad), PRD_EINVAL);
    prd_limiter_config_free(other);
    prd_limiter_free(l);
    assert_ok(prd_limiter_shm_unlink(name));
    assert_status(prd_limiter_new_shm(cfg, name, 0, &bad), PRD_ENOTFOUND);
    assert_status(prd_limiter_new_shm(cfg, "no-slash", 1, &bad), PRD_EINVAL);
    prd_limiter_config_free(cfg);
}

static void test_config_validation(void **state)
{
    (void)state;
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_status(prd_limiter_new(cfg, &l), PRD_EINVAL); /* no rules */
    assert_status(prd_limiter_config_add_rule(cfg, "", 5, 1000, PRD_RL_EXACT), PRD_EINVAL);
    assert_status(prd_limiter_config_add_rule(cfg, "a b", 5, 1000, PRD_RL_EXACT), PRD_EINVAL);
    assert_status(prd_limiter_config_add_rule(cfg, "a", 0, 1000, PRD_RL_EXACT), PRD_EINVAL);
    assert_status(prd_limiter_config_add_rule(cfg, "a", 5, 0, PRD_RL_EXACT), PRD_EINVAL);
    assert_status(prd_limiter_config_add_rule(cfg, "a", PRD_RL_EXACT_MAX_LIMIT + 1, 1000, PRD_RL_EXACT), PRD_EINVAL);
    assert_ok(prd_limiter_config_add_rule(cfg, "a", PRD_RL_EXACT_MAX_LIMIT + 1, 1000, PRD_RL_COUNTER));
    for (int i = 1; i < PRD_RL_MAX_RULES; i++)
        assert_ok(prd_limiter_config_add_rule(cfg, "b", 1, 1000, PRD_RL_COUNTER));
    assert_status(prd_limiter_config_add_rule(cfg, "c", 1, 1000, PRD_RL_COUNTER), PRD_ETOOBIG);
    assert_status(prd_limiter_config_set_max_keys(cfg, 3), PRD_EINVAL);
    assert_status(prd_limiter_config_set_full_policy(cfg, (prd_rl_full_policy)7), PRD_EINVAL);
    prd_limiter_config_free(cfg);
    /* Over-long keys are refused. */
    l = one_rule(5, 1000, PRD_RL_EXACT, 0);
    char *big = calloc(1, PRD_RL_KEY_MAX + 1);
    prd_rl_key k = {big, PRD_RL_KEY_MAX + 1};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_status(prd_limiter_check_at(l, &k, 1, 1, 0, &d), PRD_EINVAL);
    free(big);
    prd_limiter_free(l);
}

static void test_system_and_manual_clock(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, 5000000000, &c));
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "r", 2, 1000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_set_clock(cfg, c));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    prd_rl_key k = {"x", 1};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(prd_limiter_check(l, &k, 1, 1, &d));
    assert_ok(prd_limiter_check(l, &k, 1, 1, &d));
    assert_status(prd_limiter_check(l, &k, 1, 1, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, 1000);
    assert_ok(prd_clock_manual_advance(c, 1000 * 1000000));
    assert_ok(prd_limiter_check(l, &k, 1, 1, &d));
    prd_limiter_free(l);
    prd_clock_free(c);
}

static prd_status attempt(prd_login_guard *g, const char *user, const char *src, int ok,
                          prd_rl_decision *d)
{
    prd_login_attempt att;
    prd_status st = prd_login_guard_check(g, user, strlen(user), src, strlen(src), &att, d);
    if (st == PRD_OK)
        assert_ok(ok ? prd_login_guard_success(g, &att) : prd_login_guard_failure(g, &att));
    return st;
}

static void test_login_guard(void **state)
{
    (void)state;
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, 1000000000, &c));
    prd_login_guard *g = NULL;
    assert_ok(prd_login_guard_new(1024, &g));
    assert_ok(prd_login_guard_set_clock(g, c));
    assert_ok(prd_login_guard_set_limits(g, 1000, 3600000, 10, 900000));
    assert_ok(prd_login_guard_set_backoff(g, 3, 1000, 8000));
    const char *user = "alice", *home = "198.51.100.7", *evil = "203.0.113.9";
    prd_rl_decision d = PRD_RL_DECISION_INIT;
#define SEC_NS INT64_C(1000000000)
    /* Alice logs in from home once: home becomes familiar. */
    assert_ok(attempt(g, user, home, 1, &d));
    /* Backoff per (account, source): 3 free attempts, then 1 s, 2 s, 4 s, 8 s (cap). */
    int64_t expect[] = {0, 0, 1000, 2000, 4000, 8000, 8000, 8000};
    for (int i = 0; i < 8; i++) {
        assert_ok(attempt(g, user, evil, 0, &d));
        prd_login_attempt att;
        prd_status st = prd_login_guard_check(g, user, 5, evil, strlen(evil), &att, &d);
        if (expect[i] == 0) {
            assert_ok(st);
            assert_ok(prd_login_guard_abandon(g, &att)); /* this probe does not count */
        } else {
            assert_status(st, PRD_ELIMITED);
            assert_int_equal(d.rule, 2);
            if (d.retry_after_ms != expect[i])
                fail_msg("after failure %d: wait %lld want %lld", i + 1,
                         (long long)d.retry_after_ms, (long long)expect[i]);
        }
        assert_ok(prd_clock_manual_advance(c, (st == PRD_OK ? 0 : d.retry_after_ms) * 1000000));
    }
    /* The attacker's failures never make alice wait at home. */
    assert_ok(attempt(g, user, home, 1, &d));
    /* ... while 10 failures from unfamiliar sources (8 above, 2 here) stop
     * other new sources. */
    for (int i = 0; i < 2; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        assert_ok(attempt(g, user, ip, 0, &d));
    }
    prd_login_attempt att;
    assert_status(prd_login_guard_check(g, user, 5, "192.0.2.200", 11, &att, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 1);
    assert_true(d.retry_after_ms > 0 && d.retry_after_ms <= 900000);
    char buf[PRD_RL_HEADER_SIZE];
    prd_login_guard_ratelimit_header(g, &d, buf, sizeof buf);
    assert_true(strncmp(buf, "\"login-account\";r=0;t=", 22) == 0);
    prd_login_guard_policy_header(g, buf, sizeof buf);
    assert_string_equal(buf, "\"login-source\";q=1000;w=3600, \"login-account\";q=10;w=900");
    assert_ok(attempt(g, user, home, 1, &d)); /* home still fine */
    /* Nothing is indefinite: after the window, new sources may try again. */
    assert_ok(prd_clock_manual_advance(c, 900 * SEC_NS));
    assert_ok(attempt(g, user, "192.0.2.200", 0, &d));
    /* Success resets the pair's backoff. */
    assert_ok(prd_clock_manual_advance(c, 20 * SEC_NS));
    assert_ok(attempt(g, user, evil, 1, &d));
    assert_ok(attempt(g, user, evil, 0, &d));
    assert_ok(attempt(g, user, evil, 0, &d));
    /* Per-source attempts. */
    assert_ok(prd_login_guard_set_limits(g, 3, 60000, 10, 900000));
    for (int i = 0; i < 3; i++)
        assert_ok(attempt(g, "bob", "10.0.0.1", 1, &d));
    assert_status(attempt(g, "bob", "10.0.0.1", 1, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 0);
    /* Settling twice, or an attempt that was never checked, is refused. */
    assert_ok(prd_clock_manual_advance(c, 3600 * SEC_NS));
    assert_ok(prd_login_guard_check(g, "carol", 5, "10.0.0.2", 8, &att, &d));
    assert_ok(prd_login_guard_failure(g, &att));
    assert_status(prd_login_guard_failure(g, &att), PRD_EINVAL);
    assert_status(prd_login_guard_success(g, &att), PRD_EINVAL);
    memset(&att, 0, sizeof att);
    assert_status(prd_login_guard_success(g, &att), PRD_EINVAL);
    assert_status(prd_login_guard_check(g, "x", 1, "y", 1, NULL, &d), PRD_EINVAL);
    assert_status(prd_login_guard_new(1, NULL), PRD_EINVAL);
    assert_true(prd_login_guard_count(g, PRD_LOGIN_COUNT_DENIED) > 0);
    prd_login_guard_free(g);
    prd_clock_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_boundaries),
        cmocka_unit_test(test_counter_semantics),
        cmocka_unit_test(test_exact_matches_brute_force_and_never_exceeds),
        cmocka_unit_test(test_counter_error_bound),
        cmocka_unit_test(test_multi_rule_atomic),
        cmocka_unit_test(test_bounded_memory_under_key_spray),
        cmocka_unit_test(test_reclaims_expired_incrementally),
        cmocka_unit_test(test_threads_conserve_totals),
        cmocka_unit_test(test_shared_memory_across_fork_and_sigkill),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_system_and_manual_clock),
        cmocka_unit_test(test_login_guard),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
