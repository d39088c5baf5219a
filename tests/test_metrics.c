/*
 * Every module's counters as Prometheus text: the values are the
 * counters', the snprintf contract holds (a cut text, the size needed),
 * bad prefixes are refused, and Prometheus' own parser
 * (python3-prometheus-client) reads every text whole.
 */
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prodready.h"

typedef size_t (*prom_fn)(const void *obj, const char *prefix, char *out, size_t size);

/* The whole text of fn(obj), checked against the snprintf contract. */
static char *text_of(prom_fn fn, const void *obj, const char *prefix)
{
    size_t need = fn(obj, prefix, NULL, 0);
    assert_true(need > 0);
    char *text = malloc(need + 1);
    assert_non_null(text);
    assert_int_equal(fn(obj, prefix, text, need + 1), need);
    assert_int_equal(strlen(text), need);
    /* cut: the same length reported, a prefix of the text written */
    char small[40];
    assert_int_equal(fn(obj, prefix, small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, text, sizeof small - 1);
    /* a prefix that is not a metric name prefix, and NULL objects */
    assert_int_equal(fn(obj, "bad prefix", text, need + 1), 0);
    assert_int_equal(fn(obj, "9starts_with_digit", text, need + 1), 0);
    assert_int_equal(fn(NULL, NULL, text, need + 1), 0);
    assert_int_equal(fn(obj, NULL, NULL, 5), 0);
    assert_int_equal(fn(obj, prefix, text, need + 1), need);
    return text;
}

/* Run Prometheus' parser over text; `checks` is Python run with the
 * families in `by` (name -> family) and must raise to fail. */
static void parse_with_prometheus(const char *text, const char *checks)
{
    if (system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") != 0) {
        if (getenv("PRD_TEST_REQUIRE"))
            fail_msg("python3-prometheus-client is missing (scripts/bootstrap)");
        skip();
    }
    char tpath[] = "/tmp/prd-prom-XXXXXX", cpath[] = "/tmp/prd-promc-XXXXXX";
    int fd = mkstemp(tpath), cfd = mkstemp(cpath);
    assert_true(fd >= 0 && cfd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(write(cfd, checks, strlen(checks)), (ssize_t)strlen(checks));
    close(fd);
    close(cfd);
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys\n"
             "from prometheus_client.parser import text_string_to_metric_families as p\n"
             "fams = list(p(open(sys.argv[1]).read()))\n"
             "assert fams and all(f.documentation for f in fams)\n"
             "by = {f.name: f for f in fams}\n"
             "v = lambda n, **l: [s.value for s in by[n].samples if s.name == n + \"_total\" or "
             "s.name == n if all(s.labels.get(k) == x for k, x in l.items())][0]\n"
             "exec(open(sys.argv[2]).read())' %s %s",
             tpath, cpath);
    int rc = system(cmd);
    unlink(tpath);
    unlink(cpath);
    assert_int_equal(rc, 0);
}

static size_t pw_prom(const void *o, const char *p, char *out, size_t n)
{
    return prd_password_policy_prometheus(o, p, out, n);
}
static size_t lim_prom(const void *o, const char *p, char *out, size_t n)
{
    return prd_limiter_prometheus(o, p, out, n);
}
static size_t guard_prom(const void *o, const char *p, char *out, size_t n)
{
    return prd_login_guard_prometheus(o, p, out, n);
}
static size_t log_prom(const void *o, const char *p, char *out, size_t n)
{
    return prd_logger_prometheus(o, p, out, n);
}
static size_t rev_prom(const void *o, const char *p, char *out, size_t n)
{
    return prd_token_revocations_prometheus(o, p, out, n);
}

static void test_password(void **state)
{
    (void)state;
    prd_password_policy *pol;
    assert_ok(prd_password_policy_new("owasp", &pol));
    assert_ok(prd_password_policy_set_params(pol, 1, 1024, 1));
    char h[PRD_PASSWORD_HASH_SIZE];
    for (int i = 0; i < 3; i++)
        assert_ok(prd_password_hash(pol, "correct horse", 13, h, sizeof h));
    char *t = text_of(pw_prom, pol, NULL);
    assert_non_null(strstr(t, "# TYPE prodready_password_hashes_total counter\n"
                              "prodready_password_hashes_total 3\n"));
    assert_non_null(strstr(t, "prodready_password_hashes_in_flight 0\n"));
    /* the peak is in bytes: at least one 1 MiB hash's memory */
    assert_non_null(strstr(t, "prodready_password_memory_peak_bytes 1048576\n"));
    /* The arena of the last hash is kept (when ours computes). */
    char arena[64];
    snprintf(arena, sizeof arena, "prodready_password_arena_bytes %llu\n",
             (unsigned long long)prd_password_stat_get(pol, PRD_PASSWORD_STAT_ARENA_KIB) * 1024u);
    assert_non_null(strstr(t, arena));
    parse_with_prometheus(t, "assert v('prodready_password_hashes') == 3\n"
                             "assert by['prodready_password_budget_waiting'].type == 'gauge'\n");
    free(t);
    t = text_of(pw_prom, pol, "svc:pw_");
    assert_non_null(strstr(t, "svc:pw_hashes_total 3\n"));
    free(t);
    prd_password_policy_free(pol);
}

static void test_limiter(void **state)
{
    (void)state;
    prd_limiter_config *cfg;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "per-ip", 2, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_add_gcra(cfg, "global", 1000, 1000, 10));
    assert_ok(prd_limiter_config_set_max_keys(cfg, 16));
    prd_limiter *lim;
    assert_ok(prd_limiter_new(cfg, &lim));
    prd_limiter_config_free(cfg);
    char ip[16];
    prd_status st = PRD_OK;
    /* 17 distinct keys: the 17th is refused by both full rules */
    for (int i = 0; i < 17; i++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", i);
        prd_rl_key keys[2] = {{ip, strlen(ip)}, {ip, strlen(ip)}};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        st = prd_limiter_check(lim, keys, 2, 1, &d);
    }
    assert_int_equal(st, PRD_EBUSY);
    char *t = text_of(lim_prom, lim, NULL);
    assert_non_null(strstr(t, "prodready_ratelimit_keys{rule=\"per-ip\"} 16\n"));
    assert_non_null(strstr(t, "prodready_ratelimit_keys_max{rule=\"global\"} 16\n"));
    assert_non_null(strstr(t, "prodready_ratelimit_keys_refused_total{rule=\"per-ip\"} 1\n"));
    parse_with_prometheus(t, "assert v('prodready_ratelimit_keys', rule='global') == 16\n"
                             "assert v('prodready_ratelimit_keys_refused', rule='per-ip') == 1\n");
    free(t);
    prd_limiter_free(lim);
}

static void test_login_guard(void **state)
{
    (void)state;
    prd_login_guard *g;
    assert_ok(prd_login_guard_new(1000, &g));
    assert_ok(prd_login_guard_set_limits(g, 100, 60000, 3, 60000));
    prd_status st = PRD_OK;
    int denied = 0;
    for (int i = 0; i < 6; i++) {
        prd_login_attempt att;
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        st = prd_login_guard_check(g, "alice", 5, "10.1.1.1", 8, &att, &d);
        if (st == PRD_OK)
            assert_ok(prd_login_guard_failure(g, &att));
        else
            denied++;
    }
    assert_true(denied > 0);
    uint64_t allowed = prd_login_guard_count(g, PRD_LOGIN_COUNT_ALLOWED);
    char *t = text_of(guard_prom, g, NULL);
    char want[128];
    snprintf(want, sizeof want, "prodready_login_attempts_total{result=\"allowed\"} %llu\n",
             (unsigned long long)allowed);
    assert_non_null(strstr(t, want));
    snprintf(want, sizeof want, "prodready_login_attempts_total{result=\"denied\"} %d\n", denied);
    assert_non_null(strstr(t, want));
    char checks[400];
    snprintf(checks, sizeof checks,
             "assert v('prodready_login_attempts', result='denied') == %d\n"
             "assert sum(s.value for s in by['prodready_login_lockouts'].samples) == %llu\n",
             denied,
             (unsigned long long)(prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_SOURCE) +
                                  prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT) +
                                  prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_BACKOFF)));
    parse_with_prometheus(t, checks);
    assert_true(prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT) +
                    prd_login_guard_count(g, PRD_LOGIN_COUNT_LOCKOUT_BACKOFF) >
                0);
    free(t);
    prd_login_guard_free(g);
}

static void discard(void *ud, const char *line, size_t len)
{
    (void)ud;
    (void)line;
    (void)len;
}

static void test_logger(void **state)
{
    (void)state;
    prd_logger *lg;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_callback(lg, discard, NULL));
    assert_ok(prd_logger_redact_pattern(lg, "ticket_id", "ticket-\\d{5}"));
    prd_log_field f[2] = {PRD_F_STR("password", "hunter2"),
                          PRD_F_STR("note", "see ticket-12345")};
    prd_log(lg, PRD_LOG_INFO, "one", f, 2);
    prd_log(lg, PRD_LOG_WARN, "two", NULL, 0);
    prd_log(lg, PRD_LOG_WARN, "three", NULL, 0);
    char *t = text_of(log_prom, lg, NULL);
    assert_non_null(strstr(t, "prodready_log_lines_total{level=\"info\"} 1\n"));
    assert_non_null(strstr(t, "prodready_log_lines_total{level=\"warn\"} 2\n"));
    assert_non_null(strstr(t, "prodready_log_redactions_total{rule=\"secret_key\"} 1\n"));
    assert_non_null(strstr(t, "prodready_log_redactions_total{rule=\"ticket_id\"} 1\n"));
    assert_non_null(strstr(t, "prodready_log_redactions_total{rule=\"jwt\"} 0\n"));
    parse_with_prometheus(t, "assert v('prodready_log_lines', level='warn') == 2\n"
                             "assert v('prodready_log_redactions', rule='ticket_id') == 1\n"
                             "assert v('prodready_log_dropped') == 0\n");
    free(t);
    prd_logger_free(lg);
}

static void test_revocations(void **state)
{
    (void)state;
    prd_token_revocations *rv;
    assert_ok(prd_token_revocations_new(NULL, &rv));
    int64_t exp = (int64_t)time(NULL) * 1000000000 + 3600 * (int64_t)1000000000;
    assert_ok(prd_token_revoke_jti(rv, "jti-1", exp));
    assert_ok(prd_token_revoke_jti(rv, "jti-2", exp));
    char *t = text_of(rev_prom, rv, NULL);
    assert_non_null(strstr(t, "prodready_token_revocations_entries 2\n"));
    parse_with_prometheus(t, "assert v('prodready_token_revocations_entries') == 2\n"
                             "assert v('prodready_token_revocations_stale_refusals') == 0\n");
    free(t);
    prd_token_revocations_free(rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password),   cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_login_guard), cmocka_unit_test(test_logger),
        cmocka_unit_test(test_revocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
