/* ratelimit memory as stated: the resident memory a limiter gains per
 * tracked key, measured with RSS over 10^6 keys, equals what
 * prd_limiter_bytes_per_key reports (within 10%), for every rule kind.
 * Not run under sanitizers or valgrind, whose shadow memory would count. */
#include "support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Resident bytes now (not the high-water mark: that cannot fall, so a
 * test of growth against it could never fail). */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, resident = 0;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void measure(prd_rl_algorithm alg, uint64_t limit, size_t keys)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "m", limit, 60000, alg));
    assert_ok(prd_limiter_config_set_max_keys(cfg, keys));
    assert_ok(prd_limiter_new(cfg, &l));
    prd_limiter_config_free(cfg);
    size_t before = rss_bytes();
    char key[32];
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (size_t i = 0; i < keys; i++) {
        int n = snprintf(key, sizeof key, "key-%zu", i);
        prd_rl_key k = {key, (size_t)n};
        assert_ok(prd_limiter_check_at(l, &k, 1, 1, 1000, &d));
    }
    assert_int_equal(prd_limiter_key_count(l, 0), keys);
    double per_key = (double)(rss_bytes() - before) / (double)keys;
    size_t stated = prd_limiter_bytes_per_key(l, 0);
    print_message("# %s N=%llu: %zu keys, RSS %.1f bytes/key, stated %zu\n",
                  alg == PRD_RL_EXACT ? "exact" : alg == PRD_RL_COUNTER ? "counter" : "gcra",
                  (unsigned long long)limit, keys, per_key, stated);
    if (per_key > 1.1 * (double)stated || per_key < 0.9 * (double)stated)
        fail_msg("measured %.1f bytes/key, stated %zu", per_key, stated);
    prd_limiter_free(l);
}

static void test_bytes_per_key_as_stated(void **state)
{
    (void)state;
    measure(PRD_RL_GCRA, 100, 1000000);
    measure(PRD_RL_COUNTER, 100, 1000000);
    measure(PRD_RL_EXACT, 16, 1000000);
    measure(PRD_RL_EXACT, 100, 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_per_key_as_stated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
