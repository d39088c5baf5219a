/* The PostgreSQL stores against the real server: migrations (applied
 * once by processes racing, an edited one refused, a failing one leaving
 * nothing), and the rate limiter's store (the three algorithms, several
 * rules at once, processes with their own pools enforcing one limit
 * together, failing open or closed when the database cannot be reached,
 * decayed rows cleaned by later checks). */
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg/faultproxy.h"
#include "pg/pgtest.h"
#include "support/token_cases.h"
#include "internal/stores.h"
#include "prodready/ratelimit.h"
#include "prodready/token.h"

static prd_pg_pool *pool_for_test(uint32_t max_size)
{
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, max_size));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0)); /* children fork */
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    return pool;
}

static void fresh_stores(void)
{
    pgt_exec("DROP FUNCTION IF EXISTS prd_rl_check");
    pgt_exec("DROP TABLE IF EXISTS prd_rl_state");
    pgt_exec("DROP SEQUENCE IF EXISTS prd_rl_sweep");
    pgt_exec("DROP FUNCTION IF EXISTS prd_rl_sweep");
    pgt_exec("DROP FUNCTION IF EXISTS prd_login_sweep");
    pgt_exec("DROP FUNCTION IF EXISTS prd_sweep_start");
    pgt_exec("DROP FUNCTION IF EXISTS prd_token_sweep");
    pgt_exec("DROP FUNCTION IF EXISTS prd_revoked_sweep");
    pgt_exec("DROP SEQUENCE IF EXISTS prd_rl_sweep_at, prd_login_sweep_at");
    pgt_exec("DROP TABLE IF EXISTS prd_token_records");
    pgt_exec("DROP FUNCTION IF EXISTS prd_login_check");
    pgt_exec("DROP FUNCTION IF EXISTS prd_login_settle");
    pgt_exec("DROP FUNCTION IF EXISTS prd_login_unlock");
    pgt_exec("DROP TABLE IF EXISTS prd_login_pairs, prd_login_familiar");
    pgt_exec("DROP FUNCTION IF EXISTS prd_token_refresh");
    pgt_exec("DROP TABLE IF EXISTS prd_token_revoked");
    pgt_exec("CREATE TABLE IF NOT EXISTS prd_schema_migrations (migration_set text NOT NULL,"
             " version integer NOT NULL, name text NOT NULL, checksum text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (migration_set, version))");
    pgt_exec("DELETE FROM prd_schema_migrations WHERE migration_set = 'prodready'");
}

/* Fork n children that run child(i, arg, report) at once, each writing
 * one line of report back; the parent waits for all and gets the lines. */
#define REPORT_MAX 96
typedef void (*child_fn)(int i, const void *arg, char report[REPORT_MAX]);

static void run_children(int n, child_fn child, const void *arg, char (*reports)[REPORT_MAX])
{
    int fds[16][2];
    pid_t kids[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) {
        assert_int_equal(pipe(fds[i]), 0);
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char report[REPORT_MAX] = "child failed";
            child(i, arg, report);
            size_t len = strlen(report);
            _exit(write(fds[i][1], report, len) == (ssize_t)len ? 0 : 3);
        }
        close(fds[i][1]);
    }
    for (int i = 0; i < n; i++) {
        ssize_t got = read(fds[i][0], reports[i], REPORT_MAX - 1);
        reports[i][got > 0 ? got : 0] = '\0';
        close(fds[i][0]);
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* A child's own pool (max_size connections, 0: the default), or NULL. */
static prd_pg_pool *child_pool(uint32_t max_size)
{
    prd_pg_config *cfg = NULL;
    prd_pg_pool *p = NULL;
    if (prd_pg_config_new(pgt_conninfo(), &cfg) != PRD_OK ||
        (max_size && prd_pg_config_set_max_size(cfg, max_size) != PRD_OK) ||
        prd_pg_pool_new(cfg, &p, NULL) != PRD_OK)
        p = NULL;
    prd_pg_config_free(cfg);
    return p;
}

/* In a child: a pool of its own and a store of one exact rule on it. */
static prd_rl_pg *child_store(uint32_t max_size, const char *rule, uint64_t limit,
                              prd_pg_pool **pool)
{
    prd_limiter_config *lc = NULL;
    prd_rl_pg *s = NULL;
    *pool = child_pool(max_size);
    if (*pool && prd_limiter_config_new(&lc) == PRD_OK &&
        prd_limiter_config_add_rule(lc, rule, limit, 60000, PRD_RL_EXACT) == PRD_OK &&
        prd_rl_pg_new(lc, *pool, &s) != PRD_OK)
        s = NULL; /* the child reports a NULL store */
    prd_limiter_config_free(lc);
    return s;
}

/* ---- migrations ---- */

static void test_migrate_once_and_refuse_edits(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS mig_a, mig_b");
    pgt_exec("CREATE TABLE IF NOT EXISTS prd_schema_migrations (migration_set text NOT NULL,"
             " version integer NOT NULL, name text NOT NULL, checksum text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (migration_set, version))");
    pgt_exec("DELETE FROM prd_schema_migrations WHERE migration_set = 'test_app'");
    prd_pg_pool *pool = pool_for_test(2);
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    prd_pg_migration m[] = {
        PRD_PG_MIGRATION(1, "a", "CREATE TABLE mig_a (id int); INSERT INTO mig_a VALUES (1), (2)"),
        PRD_PG_MIGRATION(2, "b", "CREATE TABLE mig_b (id int)"),
    };
    uint32_t applied = 99;
    assert_ok(prd_pg_migrate(pool, "test_app", m, 2, &applied, err));
    assert_int_equal(applied, 2);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM mig_a"), 2);
    assert_ok(prd_pg_migrate(pool, "test_app", m, 2, &applied, err)); /* idempotent */
    assert_int_equal(applied, 0);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM mig_a"), 2);
    /* an edited migration is refused, and what follows it does not run */
    prd_pg_migration edited[] = {
        PRD_PG_MIGRATION(1, "a", "CREATE TABLE mig_a (id int); INSERT INTO mig_a VALUES (1), (2), (3)"),
        PRD_PG_MIGRATION(2, "b", "CREATE TABLE mig_b (id int)"),
        PRD_PG_MIGRATION(3, "c", "CREATE TABLE mig_c (id int)"),
    };
    assert_int_equal(prd_pg_migrate(pool, "test_app", edited, 3, &applied, err), PRD_ECONFLICT);
    assert_non_null(strstr(prd_pg_error_message(err), "edited"));
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'mig_c'"), 0);
    /* a failing migration leaves nothing behind: its own transaction */
    prd_pg_migration bad[] = {
        PRD_PG_MIGRATION(1, "a", m[0].sql),
        PRD_PG_MIGRATION(2, "b", m[1].sql),
        PRD_PG_MIGRATION(3, "c", "CREATE TABLE mig_c (id int); SELECT * FROM no_such_table"),
    };
    assert_int_equal(prd_pg_migrate(pool, "test_app", bad, 3, &applied, err), PRD_EDB);
    assert_non_null(strstr(prd_pg_error_message(err), "migration 3"));
    assert_string_equal(prd_pg_error_sqlstate(err), "42P01");
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'mig_c'"), 0);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_schema_migrations WHERE migration_set = "
                                "'test_app'"),
                     2);
    /* versions out of order, and other misuse */
    prd_pg_migration disorder[] = {PRD_PG_MIGRATION(2, "b", "SELECT 1"), PRD_PG_MIGRATION(1, "a", "SELECT 1")};
    assert_int_equal(prd_pg_migrate(pool, "test_app", disorder, 2, NULL, err), PRD_EINVAL);
    prd_pg_migration zero[] = {PRD_PG_MIGRATION(0, "z", "SELECT 1")};
    assert_int_equal(prd_pg_migrate(pool, "test_app", zero, 1, NULL, err), PRD_EINVAL);
    prd_pg_migration nosql[] = {PRD_PG_MIGRATION(1, "z", NULL)};
    assert_int_equal(prd_pg_migrate(pool, "test_app", nosql, 1, NULL, err), PRD_EINVAL);
    /* entries without their size (not made with PRD_PG_MIGRATION), or of two sizes */
    prd_pg_migration unsized[] = {{0, 1, "a", "SELECT 1"}};
    assert_int_equal(prd_pg_migrate(pool, "test_app", unsized, 1, NULL, err), PRD_EINVAL);
    prd_pg_migration huge[] = {{SIZE_MAX / 2, 1, "a", "SELECT 1"}};
    assert_int_equal(prd_pg_migrate(pool, "test_app", huge, 1, NULL, err), PRD_EINVAL);
    prd_pg_migration mixed[] = {PRD_PG_MIGRATION(1, "a", "SELECT 1"), {8, 2, "b", "SELECT 1"}};
    assert_int_equal(prd_pg_migrate(pool, "test_app", mixed, 2, NULL, err), PRD_EINVAL);
    assert_int_equal(prd_pg_migrate(pool, "", m, 2, NULL, err), PRD_EINVAL);
    assert_int_equal(prd_pg_migrate(NULL, "x", m, 2, NULL, err), PRD_EINVAL);
    prd_pg_error_free(err);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE mig_a, mig_b");
}

static void migrate_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)i;
    const prd_pg_migration *m = arg;
    prd_pg_config *cfg = NULL;
    prd_pg_pool *pool = NULL;
    uint32_t applied = 0;
    prd_status st = prd_pg_config_new(pgt_conninfo(), &cfg);
    if (st == PRD_OK)
        st = prd_pg_pool_new(cfg, &pool, NULL);
    if (st == PRD_OK)
        st = prd_pg_migrate(pool, "race", m, 2, &applied, NULL);
    snprintf(report, REPORT_MAX, "%d %u", (int)st, applied);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* Several processes start at once and migrate: each version runs once. */
static void test_migrate_processes_race(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS mig_race, mig_race_log");
    pgt_exec("CREATE TABLE mig_race_log (pid int)");
    pgt_exec("DELETE FROM prd_schema_migrations WHERE migration_set = 'race'");
    prd_pg_migration m[] = {
        PRD_PG_MIGRATION(1, "slow", "INSERT INTO mig_race_log VALUES (pg_backend_pid()); SELECT pg_sleep(0.2); "
                    "CREATE TABLE mig_race (id int)"),
        PRD_PG_MIGRATION(2, "second", "INSERT INTO mig_race_log VALUES (pg_backend_pid()); "
                      "ALTER TABLE mig_race ADD COLUMN v text"),
    };
    char reports[4][REPORT_MAX];
    run_children(4, migrate_child, m, reports);
    unsigned total = 0;
    for (int i = 0; i < 4; i++) {
        int st = -1;
        unsigned applied = 0;
        assert_int_equal(sscanf(reports[i], "%d %u", &st, &applied), 2);
        assert_int_equal(st, PRD_OK);
        total += applied;
    }
    assert_int_equal(total, 2); /* each version by exactly one of them */
    assert_int_equal(pgt_scalar("SELECT count(*) FROM mig_race_log"), 2);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_schema_migrations WHERE migration_set = "
                                "'race'"),
                     2);
    pgt_exec("DROP TABLE mig_race, mig_race_log");
}

/* ---- the rate limiter's store ---- */

static prd_rl_pg *store_of(prd_pg_pool *pool, const char *name, uint64_t limit, int64_t window_ms,
                           prd_rl_algorithm algo)
{
    prd_limiter_config *cfg = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, name, limit, window_ms, algo));
    prd_rl_pg *s = NULL;
    assert_ok(prd_rl_pg_new(cfg, pool, &s));
    prd_limiter_config_free(cfg);
    return s;
}

static prd_status check1(prd_rl_pg *s, const char *key, uint64_t cost, prd_rl_decision *d)
{
    prd_rl_key k = {key, strlen(key)};
    return prd_rl_pg_check(s, &k, 1, cost, d);
}

static void test_stores_migrate_idempotent(void **state)
{
    (void)state;
    fresh_stores();
    prd_pg_pool *pool = pool_for_test(2);
    uint32_t applied = 0;
    assert_ok(prd_pg_stores_migrate(pool, &applied, NULL));
    assert_int_equal(applied, 6);
    assert_ok(prd_pg_stores_migrate(pool, &applied, NULL));
    assert_int_equal(applied, 0);
    /* rate-limit state is unlogged on purpose (docs/scaling.md) */
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_class WHERE relname = 'prd_rl_state' AND "
                                "relpersistence = 'u'"),
                     1);
    /* token records are logged: a crash must not log everyone out */
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_class WHERE relname = 'prd_token_records' "
                                "AND relpersistence = 'p'"),
                     1);
    /* failure streaks may be forgiven by a crash; familiar sources not */
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_class WHERE relname = 'prd_login_pairs' "
                                "AND relpersistence = 'u'"),
                     1);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM pg_class WHERE relname = "
                                "'prd_login_familiar' AND relpersistence = 'p'"),
                     1);
    prd_pg_pool_free(pool);
}

static void test_exact_store(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_rl_pg *s = store_of(pool, "exact_t", 5, 60000, PRD_RL_EXACT);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    /* a peek records nothing */
    prd_rl_key k = {"alice", 5};
    assert_ok(prd_rl_pg_peek(s, &k, 1, 1, &d));
    assert_int_equal(d.remaining, 4);
    for (int i = 0; i < 5; i++) {
        assert_ok(check1(s, "alice", 1, &d));
        assert_int_equal(d.allowed, 1);
        assert_int_equal(d.remaining, (uint64_t)(4 - i));
        assert_int_equal(d.limit, 5);
    }
    assert_int_equal(check1(s, "alice", 1, &d), PRD_ELIMITED);
    assert_int_equal(d.allowed, 0);
    assert_true(d.retry_after_ms > 59000 && d.retry_after_ms <= 60000);
    assert_true(d.reset_ms > 59000 && d.reset_ms <= 60000);
    /* another key is untouched; a cost over the limit can never pass */
    assert_ok(check1(s, "bob", 1, &d));
    assert_int_equal(check1(s, "carol", 6, &d), PRD_ELIMITED);
    assert_int_equal(d.retry_after_ms, -1);
    /* bad input */
    assert_int_equal(check1(s, "alice", 0, &d), PRD_EINVAL);
    prd_rl_key two[2] = {{"a", 1}, {"b", 1}};
    assert_int_equal(prd_rl_pg_check(s, two, 2, 1, &d), PRD_EINVAL);
    char big[PRD_RL_KEY_MAX + 1];
    memset(big, 'k', sizeof big);
    prd_rl_key bk = {big, sizeof big};
    assert_int_equal(prd_rl_pg_check(s, &bk, 1, 1, &d), PRD_EINVAL);
    /* binary keys, NUL bytes and all, are keys like any other */
    prd_rl_key bin = {"\0\x01\xff\"\\{}", 8};
    assert_ok(prd_rl_pg_check(s, &bin, 1, 5, &d));
    assert_int_equal(prd_rl_pg_check(s, &bin, 1, 1, &d), PRD_ELIMITED);
    assert_int_equal(prd_rl_pg_failures(s), 0);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
}

static void test_window_slides(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_rl_pg *s = store_of(pool, "slide_t", 3, 400, PRD_RL_EXACT);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (int i = 0; i < 3; i++)
        assert_ok(check1(s, "k", 1, &d));
    assert_int_equal(check1(s, "k", 1, &d), PRD_ELIMITED);
    usleep((useconds_t)(d.retry_after_ms + 20) * 1000);
    assert_ok(check1(s, "k", 1, &d)); /* retry_after was right */
    prd_rl_pg_free(s);
    /* GCRA: a burst, then one unit every W/N */
    prd_limiter_config *cfg = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_gcra(cfg, "gcra_t", 10, 1000, 3)); /* one per 100 ms */
    assert_ok(prd_rl_pg_new(cfg, pool, &s));
    prd_limiter_config_free(cfg);
    for (int i = 0; i < 3; i++)
        assert_ok(check1(s, "g", 1, &d));
    assert_int_equal(check1(s, "g", 1, &d), PRD_ELIMITED);
    assert_true(d.retry_after_ms > 0 && d.retry_after_ms <= 100);
    usleep((useconds_t)(d.retry_after_ms + 10) * 1000);
    assert_ok(check1(s, "g", 1, &d));
    prd_rl_pg_free(s);
    /* counter: never more than 2N in a window, exactly N for a burst */
    s = store_of(pool, "counter_t", 4, 60000, PRD_RL_COUNTER);
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += check1(s, "c", 1, &d) == PRD_OK;
    assert_int_equal(ok, 4);
    assert_true(d.retry_after_ms > 0);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
}

/* A single exact or counter rule is checked by one statement, not the
 * function: its decisions must be the function's. Each check is compared
 * with a look (the function, recording nothing) taken just before it,
 * across window turns. The two read the database's clock at two moments
 * (a fraction of a millisecond apart, several under a sanitizer on a busy
 * machine), so what that gap can change is allowed, and no more: a
 * remaining count may differ by the one unit the moment can free, a
 * denial may turn into an admission when the look's own retry_after has
 * passed by the time of the check, and an exact rule's reset may move by
 * the gap. (A look at a counter reports the reset of the state it did not
 * record, so a counter's reset is checked against its bounds instead.) */
static void test_fast_path_matches_function(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'fast_%'");
    static const prd_rl_algorithm algos[] = {PRD_RL_EXACT, PRD_RL_COUNTER};
    static const char *const names[] = {"fast_exact", "fast_counter"};
    for (int a = 0; a < 2; a++) {
        prd_rl_pg *s = store_of(pool, names[a], 6, 600, algos[a]);
        prd_rl_key k = {"k", 1};
        int allowed = 0, denied = 0;
        for (int i = 0; i < 24; i++) {
            prd_rl_decision look = PRD_RL_DECISION_INIT, d = PRD_RL_DECISION_INIT;
            int64_t t0 = prd_clock_mono_ns(NULL);
            prd_status sl = prd_rl_pg_peek(s, &k, 1, 1 + (i % 3 == 2), &look);
            prd_status sc = prd_rl_pg_check(s, &k, 1, 1 + (i % 3 == 2), &d);
            int64_t gap_ms = (prd_clock_mono_ns(NULL) - t0) / 1000000 + 1;
            int freed = !look.allowed && d.allowed && sl == PRD_ELIMITED && sc == PRD_OK &&
                        look.retry_after_ms >= 0 && look.retry_after_ms <= gap_ms;
            int64_t reset_moved = d.reset_ms > look.reset_ms ? d.reset_ms - look.reset_ms
                                                             : look.reset_ms - d.reset_ms;
            if ((!freed && (sl != sc || look.allowed != d.allowed)) || look.limit != d.limit ||
                (d.remaining > look.remaining ? d.remaining - look.remaining
                                              : look.remaining - d.remaining) > 1 ||
                (d.allowed && !freed && a == 0 && reset_moved > gap_ms) ||
                (d.allowed && a == 1 && (d.reset_ms <= 0 || d.reset_ms > 2 * 600)))
                fail_msg("%s check %d: look %d/%d rem %llu reset %lld retry %lld, check %d/%d rem "
                         "%llu reset %lld, %lld ms apart",
                         names[a], i, (int)sl, look.allowed, (unsigned long long)look.remaining,
                         (long long)look.reset_ms, (long long)look.retry_after_ms, (int)sc,
                         d.allowed, (unsigned long long)d.remaining, (long long)d.reset_ms,
                         (long long)gap_ms);
            allowed += d.allowed;
            denied += !d.allowed;
            usleep(60 * 1000);
        }
        assert_true(allowed > 0 && denied > 0); /* both paths were taken */
        prd_rl_pg_free(s);
    }
    prd_pg_pool_free(pool);
}

/* A counter's fast statement makes its admission test in int8 only when
 * the rule's numbers keep it from overflowing, in numeric otherwise: a
 * rule at the int8 side's edge (the largest even N with N·W <= 2^61,
 * units of N/2) and one far past it (N = 2^48, where b·W alone passes
 * 2^63) must both admit exactly N and then deny, with the function's
 * numbers. Both over 30 days, so no window turns between the checks. */
#define WIDE_W (INT64_C(30) * 86400 * 1000)

static void test_counter_wide_numbers(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(1);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'wide_%'");
    static const struct {
        const char *name;
        uint64_t limit;
        int64_t window_ms;
    } rules[] = {
        {"wide_int8_edge", ((UINT64_C(1) << 61) / WIDE_W) & ~UINT64_C(1), WIDE_W},
        {"wide_numeric", UINT64_C(1) << 48, WIDE_W},
    };
    for (size_t i = 0; i < 2; i++) {
        prd_rl_pg *s = store_of(pool, rules[i].name, rules[i].limit, rules[i].window_ms,
                                PRD_RL_COUNTER);
        uint64_t half = rules[i].limit / 2;
        prd_rl_decision d = PRD_RL_DECISION_INIT, look = PRD_RL_DECISION_INIT;
        assert_ok(check1(s, "w", half, &d));
        assert_int_equal(d.remaining, half);
        prd_rl_key k = {"w", 1};
        assert_ok(prd_rl_pg_peek(s, &k, 1, half, &look)); /* the function, recording nothing */
        assert_int_equal(look.remaining, 0);
        assert_ok(check1(s, "w", half, &d));
        assert_int_equal(d.remaining, look.remaining);
        assert_true(d.reset_ms > rules[i].window_ms && d.reset_ms <= 2 * rules[i].window_ms);
        assert_int_equal(check1(s, "w", 1, &d), PRD_ELIMITED);
        assert_true(d.retry_after_ms > 0);
        assert_int_equal(prd_rl_pg_failures(s), 0);
        prd_rl_pg_free(s);
    }
    prd_pg_pool_free(pool);
}

/* Two rules at once: a denial by one records nothing in the other. */
static void test_rules_atomic(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_limiter_config *cfg = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "acct_t", 3, 60000, PRD_RL_EXACT));
    assert_ok(prd_limiter_config_add_rule(cfg, "ip_t", 100, 60000, PRD_RL_COUNTER));
    prd_rl_pg *s = NULL;
    assert_ok(prd_rl_pg_new(cfg, pool, &s));
    prd_limiter_config_free(cfg);
    prd_rl_key keys[2] = {{"acct1", 5}, {"10.0.0.1", 8}};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    for (int i = 0; i < 3; i++) {
        assert_ok(prd_rl_pg_check(s, keys, 2, 1, &d));
        assert_int_equal(d.rule, 0); /* the rule with the fewest left */
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(prd_rl_pg_check(s, keys, 2, 1, &d), PRD_ELIMITED);
        assert_int_equal(d.rule, 0);
    }
    /* the ip rule saw 3 units, not 8 */
    prd_rl_key other[2] = {{"acct2", 5}, {"10.0.0.1", 8}};
    assert_ok(prd_rl_pg_peek(s, other, 2, 1, &d));
    prd_rl_pg_free(s);
    s = NULL;
    assert_ok(prd_limiter_config_new(&cfg));
    assert_ok(prd_limiter_config_add_rule(cfg, "ip_t", 100, 60000, PRD_RL_COUNTER));
    assert_ok(prd_rl_pg_new(cfg, pool, &s));
    prd_limiter_config_free(cfg);
    prd_rl_key ip = {"10.0.0.1", 8};
    assert_ok(prd_rl_pg_peek(s, &ip, 1, 1, &d));
    assert_int_equal(d.remaining, 100 - 3 - 1);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
}

#define SHARED_LIMIT 37

static void limit_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)i;
    (void)arg;
    prd_pg_pool *p = NULL;
    prd_rl_pg *s = child_store(4, "shared_t", SHARED_LIMIT, &p);
    int allowed = 0, errors = 0;
    if (s) {
        for (int t = 0; t < 60; t++) {
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            prd_status st = check1(s, "one-account", 1, &d);
            if (st == PRD_OK)
                allowed++;
            else if (st != PRD_ELIMITED)
                errors++;
        }
        snprintf(report, REPORT_MAX, "%d %d", allowed, errors);
    }
    prd_rl_pg_free(s);
    prd_pg_pool_free(p);
}

/* Processes with pools of their own enforce one limit together. */
static void test_processes_share_a_limit(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_pg_pool_free(pool);
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'shared_t:%'");
    char reports[4][REPORT_MAX];
    run_children(4, limit_child, NULL, reports);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int allowed = 0, errors = -1;
        assert_int_equal(sscanf(reports[i], "%d %d", &allowed, &errors), 2);
        assert_int_equal(errors, 0);
        total += allowed;
    }
    assert_int_equal(total, SHARED_LIMIT); /* not the limit per process: exactly it in all */
}

/* A pool through the fault proxy (short waits, nothing connected before
 * the test), with the stores' schema applied. */
static prd_pg_pool *proxied_stores_pool(struct fproxy **fp)
{
    pgt_conninfo();
    *fp = fproxy_start("127.0.0.1", fproxy_server_port());
    char ci[512];
    fproxy_conninfo(*fp, ci, sizeof ci);
    prd_pg_config *cfg = NULL;
    assert_ok(prd_pg_config_new(ci, &cfg));
    assert_ok(prd_pg_config_set_min_size(cfg, 0));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 300));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    return pool;
}

/* The database cannot be reached: closed says so and denies; open
 * admits; both count. */
static void test_fail_closed_and_open(void **state)
{
    (void)state;
    struct fproxy *fp = NULL;
    prd_pg_pool *pool = proxied_stores_pool(&fp);
    prd_rl_pg *s = store_of(pool, "fail_t", 100, 60000, PRD_RL_EXACT);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(check1(s, "k", 1, &d));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    assert_int_equal(check1(s, "k", 1, &d), PRD_EDB); /* closed by default */
    assert_int_equal(d.allowed, 0);
    assert_true(d.retry_after_ms > 0);
    assert_ok(prd_rl_pg_set_fail_open(s, 1));
    assert_ok(check1(s, "k", 1, &d));
    assert_int_equal(d.allowed, 1);
    assert_int_equal(prd_rl_pg_failures(s), 2);
    /* the database back: the store works again, with what it had */
    fproxy_set_mode(fp, FP_PASS);
    usleep(200 * 1000); /* past the pool's reconnect backoff */
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        ok = check1(s, "k", 1, &d) == PRD_OK && prd_rl_pg_failures(s) == 2;
        if (!ok)
            usleep(100 * 1000);
    }
    assert_true(ok);
    assert_int_equal(d.remaining, 100 - 2);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* ---- reservations on the store ---- */

static prd_status reserve1(prd_rl_pg *s, const char *key, uint64_t cost, prd_rl_reservation *r)
{
    prd_rl_key k = {key, strlen(key)};
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    return prd_rl_pg_reserve(s, &k, 1, cost, &d, r);
}

static prd_status refund1(prd_rl_pg *s, const char *key, prd_rl_reservation *r)
{
    prd_rl_key k = {key, strlen(key)};
    return prd_rl_pg_refund(s, &k, 1, r);
}

/* Reserve, then commit or refund, for each algorithm: a refund gives the
 * units back, a commit keeps them, a reservation is settled once. */
static void test_store_reservations(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'resv_%'");
    static const prd_rl_algorithm algos[] = {PRD_RL_EXACT, PRD_RL_COUNTER, PRD_RL_GCRA};
    static const char *const names[] = {"resv_exact", "resv_counter", "resv_gcra"};
    for (int a = 0; a < 3; a++) {
        prd_rl_pg *s = store_of(pool, names[a], 3, 60000, algos[a]);
        prd_rl_reservation r[4];
        for (int i = 0; i < 3; i++)
            assert_ok(reserve1(s, "k", 1, &r[i]));
        assert_status(reserve1(s, "k", 1, &r[3]), PRD_ELIMITED);
        assert_ok(refund1(s, "k", &r[0]));
        assert_status(refund1(s, "k", &r[0]), PRD_EINVAL); /* settled once */
        assert_ok(reserve1(s, "k", 1, &r[3])); /* the unit came back */
        assert_ok(prd_rl_pg_commit(s, &r[1]));
        assert_status(prd_rl_pg_commit(s, &r[1]), PRD_EINVAL);
        assert_status(refund1(s, "other", &r[2]), PRD_EINVAL); /* not its keys */
        prd_rl_pg *other = store_of(pool, names[a], 3, 60000, algos[a]);
        assert_status(prd_rl_pg_commit(other, &r[2]), PRD_EINVAL); /* not its store */
        prd_rl_pg_free(other);
        assert_ok(refund1(s, "k", &r[2]));
        assert_ok(refund1(s, "k", &r[3]));
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        assert_ok(prd_rl_pg_peek(s, &(prd_rl_key){"k", 1}, 1, 1, &d));
        assert_int_equal(d.remaining, 3 - 1 - 1); /* the committed one counts */
        prd_rl_pg_free(s);
    }
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'resv_%'");
    prd_pg_pool_free(pool);
}

#define RESV_LIMIT 20

/* Each child: 30 reservations on one key, half committed, half refunded;
 * reports the committed ones and the most it saw in flight. */
static void reserve_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)arg;
    prd_pg_pool *p = NULL;
    prd_rl_pg *s = child_store(2, "resv_shared", RESV_LIMIT, &p);
    int committed = 0, errors = 0;
    if (s) {
        for (int t = 0; t < 30; t++) {
            prd_rl_reservation r;
            prd_status st = reserve1(s, "one", 1, &r);
            if (st == PRD_ELIMITED)
                continue;
            if (st != PRD_OK) {
                errors++;
                continue;
            }
            if ((t + i) % 2 == 0) {
                errors += prd_rl_pg_commit(s, &r) != PRD_OK;
                committed++;
            } else {
                errors += refund1(s, "one", &r) != PRD_OK;
            }
        }
        snprintf(report, REPORT_MAX, "%d %d", committed, errors);
    }
    prd_rl_pg_free(s);
    prd_pg_pool_free(p);
}

/* Four processes reserving and settling on one limit: exactly the limit
 * is kept in all, and the table holds exactly the committed units. */
static void test_store_reservations_shared(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_pg_pool_free(pool);
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'resv_shared:%'");
    char reports[4][REPORT_MAX];
    run_children(4, reserve_child, NULL, reports);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int committed = 0, errors = -1;
        assert_int_equal(sscanf(reports[i], "%d %d", &committed, &errors), 2);
        assert_int_equal(errors, 0);
        total += committed;
    }
    assert_int_equal(total, RESV_LIMIT);
    assert_int_equal(pgt_scalar("SELECT cardinality(stamps) FROM prd_rl_state WHERE rule LIKE "
                                "'resv_shared:%'"),
                     RESV_LIMIT);
}

/* A refund the database does not take leaves the units counted and the
 * reservation live; tried again once it is back, it gives them back. */
static void test_store_refund_database_down(void **state)
{
    (void)state;
    struct fproxy *fp = NULL;
    prd_pg_pool *pool = proxied_stores_pool(&fp);
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'resv_down%'");
    prd_rl_pg *s = store_of(pool, "resv_down", 2, 60000, PRD_RL_EXACT);
    prd_rl_reservation r;
    assert_ok(reserve1(s, "k", 2, &r));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    assert_status(refund1(s, "k", &r), PRD_EDB);
    fproxy_set_mode(fp, FP_PASS);
    usleep(200 * 1000);
    prd_status st = PRD_EDB;
    for (int i = 0; i < 20 && st != PRD_OK; i++) {
        st = refund1(s, "k", &r);
        if (st != PRD_OK)
            usleep(100 * 1000);
    }
    assert_ok(st);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    assert_ok(check1(s, "k", 2, &d)); /* both units back */
    /* failed open: admitted, nothing recorded, nothing to give back */
    assert_ok(prd_rl_pg_set_fail_open(s, 1));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    assert_ok(reserve1(s, "k", 1, &r));
    assert_ok(refund1(s, "k", &r));
    fproxy_set_mode(fp, FP_PASS);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* ---- the local pre-check ---- */

#define LEASE_LIMIT 60

/* 40 checks on one key with leases of 5; reports "allowed local errors". */
static void lease_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)i;
    (void)arg;
    prd_pg_pool *p = NULL;
    prd_rl_pg *s = child_store(2, "lease_shared", LEASE_LIMIT, &p);
    int allowed = 0, errors = 0;
    if (s && prd_rl_pg_set_local_lease(s, 5000, 5) == PRD_OK) {
        for (int t = 0; t < 40; t++) {
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            prd_status st = check1(s, "hot", 1, &d);
            if (st == PRD_OK)
                allowed++;
            else if (st != PRD_ELIMITED)
                errors++;
        }
        snprintf(report, REPORT_MAX, "%d %llu %d", allowed,
                 (unsigned long long)prd_rl_pg_local(s), errors);
    }
    prd_rl_pg_free(s); /* gives back what is left of its lease */
    prd_pg_pool_free(p);
}

/* One process: most checks of a hot key are answered locally, and at
 * free the database holds exactly what was admitted. Four processes: the
 * limit is never exceeded in all, at most a lease each is held back, and
 * the database again holds exactly what was admitted. */
static void test_store_local_lease(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'lease_%'");
    prd_rl_pg *s = store_of(pool, "lease_one", 100, 60000, PRD_RL_EXACT);
    assert_ok(prd_rl_pg_set_local_lease(s, 5000, 10));
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    int allowed = 0;
    for (int i = 0; i < 60; i++)
        allowed += check1(s, "hot", 1, &d) == PRD_OK;
    assert_int_equal(allowed, 60);
    assert_true(prd_rl_pg_local(s) >= 40);
    assert_int_equal(d.remaining, 40); /* what is left for everyone, this lease included */
    assert_true(pgt_scalar("SELECT cardinality(stamps) FROM prd_rl_state WHERE rule LIKE "
                           "'lease_one:%'") > 60); /* the lease is counted while held */
    prd_rl_pg_free(s);
    assert_int_equal(pgt_scalar("SELECT cardinality(stamps) FROM prd_rl_state WHERE rule LIKE "
                                "'lease_one:%'"),
                     60);
    assert_status(prd_rl_pg_set_local_lease(NULL, 10, 1), PRD_EINVAL);
    prd_pg_pool_free(pool);

    char reports[4][REPORT_MAX];
    run_children(4, lease_child, NULL, reports);
    int total = 0;
    unsigned long long local = 0;
    for (int i = 0; i < 4; i++) {
        int a = 0, errors = -1;
        unsigned long long l = 0;
        assert_int_equal(sscanf(reports[i], "%d %llu %d", &a, &l, &errors), 3);
        assert_int_equal(errors, 0);
        total += a;
        local += l;
    }
    assert_true(total <= LEASE_LIMIT);
    assert_true(total >= LEASE_LIMIT - 4 * 5);
    assert_true(local > 0);
    assert_int_equal(pgt_scalar("SELECT cardinality(stamps) FROM prd_rl_state WHERE rule LIKE "
                                "'lease_shared:%'"),
                     total);
}

/* Rows whose state decayed go, a few at each later check. */
static void test_decayed_rows_cleaned(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state");
    prd_rl_pg *s = store_of(pool, "decay_t", 5, 50, PRD_RL_EXACT);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char key[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "old%d", i);
        assert_ok(check1(s, key, 1, &d));
    }
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state"), 20);
    usleep(1200 * 1000); /* past the window and the cleaner's second of grace */
    for (int i = 0; i < PRD__SWEEP_EVERY; i++) {
        snprintf(key, sizeof key, "new%d", i);
        assert_ok(check1(s, key, 1, &d));
    }
    /* every PRD__SWEEP_EVERY-th check sweeps the next pages (here the
     * table's one page): the 20 old ones are gone */
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE key::text LIKE '%6f6c64%'"),
                     0);
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
}

/*
 * A sweep's work does not grow with the table: each one reads the next
 * PRD__SWEEP_PAGES pages in turn (v6), so in a table of hundreds of pages
 * the rows one sweep deletes all lie in that many neighbouring pages, and
 * a round of sweeps deletes every decayed row and no live one. sweep_sql is the table's
 * sweep, called as a statement; it returns the number deleted.
 */
static void check_bounded_sweep(const char *table, const char *fill_sql, const char *sweep_sql,
                                const char *dead_sql)
{
    pgt_exec(fill_sql);
    char q[512];
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE %s", table, dead_sql);
    long dead = pgt_scalar(q);
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE NOT (%s)", table, dead_sql);
    long live = pgt_scalar(q);
    snprintf(q, sizeof q, "SELECT pg_relation_size('%s') / current_setting('block_size')::int",
             table);
    long pages = pgt_scalar(q);
    assert_true(pages >= 8 * PRD__SWEEP_PAGES);
    assert_true(dead > PRD__SWEEP_MAX_ROWS * 4);
    /* the decayed rows' pages, before one sweep and after it */
    snprintf(q, sizeof q,
             "CREATE TABLE prd_test_sweep_before AS SELECT ctid AS at, (ctid::text::point)[0]::int "
             "AS page FROM %s WHERE %s", table, dead_sql);
    pgt_exec("DROP TABLE IF EXISTS prd_test_sweep_before");
    pgt_exec(q);
    long gone = pgt_scalar(sweep_sql);
    assert_true(gone > 0 && gone <= PRD__SWEEP_MAX_ROWS);
    snprintf(q, sizeof q,
             "SELECT coalesce(max(page) - min(page), 0) FROM prd_test_sweep_before b WHERE NOT EXISTS "
             "(SELECT 1 FROM %s x WHERE x.ctid = b.at)", table);
    assert_true(pgt_scalar(q) < PRD__SWEEP_PAGES);
    /* one round of sweeps (PRD__SWEEP_PAGES pages each, the pages
     * divided by that rounded up) takes every decayed row: fewer than
     * PRD__SWEEP_MAX_ROWS lie in any window here */
    for (long i = 0; i < (pages + PRD__SWEEP_PAGES - 1) / PRD__SWEEP_PAGES; i++) {
        gone = pgt_scalar(sweep_sql);
        assert_true(gone >= 0 && gone < PRD__SWEEP_MAX_ROWS);
    }
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE %s", table, dead_sql);
    assert_int_equal(pgt_scalar(q), 0);
    snprintf(q, sizeof q, "SELECT count(*) FROM %s", table);
    assert_int_equal(pgt_scalar(q), live);
    pgt_exec("DROP TABLE prd_test_sweep_before");
}

/* A flood of fresh keys (each check a new row) cannot outgrow the
 * sweeps: in a table of 20,000 rows, every 8th decayed (as where keys
 * come and go: fewer than PRD__SWEEP_MAX_ROWS in any window), the
 * checks' own sweeps take every decayed row within about one round of the
 * table, PRD__SWEEP_PAGES pages every PRD__SWEEP_EVERY-th check, while
 * the checks add well under a page a round and keep every live row. */
static void test_flood_of_fresh_keys_swept(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state");
    pgt_exec("VACUUM prd_rl_state");
    pgt_exec("INSERT INTO prd_rl_state (rule, key, expires_ms) SELECT 'flood_old', int4send(i), "
             "CASE WHEN i % 8 = 0 THEN 0 ELSE 9e15::int8 END FROM generate_series(1, 20000) i");
    long pages = pgt_scalar("SELECT pg_relation_size('prd_rl_state') / "
                            "current_setting('block_size')::int");
    prd_rl_pg *s = store_of(pool, "flood_t", 5, 60000, PRD_RL_EXACT);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    char key[32];
    long checks = 0, left = 2500;
    /* a round is pages / PRD__SWEEP_PAGES sweeps; the table grows by the
     * new rows' pages meanwhile, and the first window may start anywhere */
    long bound = ((pages + PRD__SWEEP_PAGES - 1) / PRD__SWEEP_PAGES + 2) * PRD__SWEEP_EVERY;
    while (left > 0 && checks < bound) {
        for (int i = 0; i < PRD__SWEEP_EVERY; i++, checks++) {
            snprintf(key, sizeof key, "fresh%ld", checks);
            assert_ok(check1(s, key, 1, &d));
        }
        left = pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE expires_ms = 0");
    }
    print_message("flood: 2500 decayed rows on %ld pages, %ld left after %ld fresh keys (bound %ld)\n",
                  pages, left, checks, bound);
    assert_int_equal(left, 0);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE rule = 'flood_old'"), 17500);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE rule <> 'flood_old'"),
                     checks);
    pgt_exec("DELETE FROM prd_rl_state");
    prd_rl_pg_free(s);
    prd_pg_pool_free(pool);
}

/*
 * The one-statement checks sweep at the pace of the rows they make: one
 * sweep in every PRD__SWEEP_EVERY new rows (a flood of fresh keys, as
 * above) and one in every PRD__SWEEP_STEADY_EVERY checks of keys that
 * have rows, for both rules. A sweep is one step of prd_rl_sweep_at
 * (the table here holds more windows than the steps taken, so none wraps
 * round). What a flood left goes by the steady pace alone too.
 */
static void test_sweep_paced_by_new_rows(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    const uint32_t algos[2] = {PRD_RL_EXACT, PRD_RL_COUNTER};
    for (int a = 0; a < 2; a++) {
        pgt_exec("DELETE FROM prd_rl_state");
        pgt_exec("VACUUM prd_rl_state");
        pgt_exec("INSERT INTO prd_rl_state (rule, key, expires_ms) SELECT 'pace_live', int4send(i), "
                 "9e15::int8 FROM generate_series(1, 20000) i");
        assert_true(pgt_scalar("SELECT pg_relation_size('prd_rl_state') / "
                               "current_setting('block_size')::int") > 4 * PRD__SWEEP_PAGES);
        prd_rl_pg *s = store_of(pool, a ? "pace_c" : "pace_e", 4 * PRD__SWEEP_STEADY_EVERY, 600000,
                                algos[a]);
        prd_rl_pg *one = store_of(pool, a ? "pace_c1" : "pace_e1", 1, 600000, algos[a]);
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        /* the keys' rows made first: every check below but the fresh
         * keys' is of a key with a row */
        assert_ok(check1(s, "steady", 1, &d));
        assert_ok(check1(one, "once", 1, &d));
        pgt_exec("SELECT setval('prd_rl_sweep_at', 1)");
        for (int i = 0; i < PRD__SWEEP_STEADY_EVERY; i++)
            assert_ok(check1(s, "steady", 1, &d));
        assert_int_equal(pgt_scalar("SELECT last_value FROM prd_rl_sweep_at"), 2);
        char key[32];
        for (int i = 0; i < PRD__SWEEP_EVERY; i++) {
            snprintf(key, sizeof key, "pace_new%d", i);
            assert_ok(check1(s, key, 1, &d));
        }
        assert_int_equal(pgt_scalar("SELECT last_value FROM prd_rl_sweep_at"), 3);
        /* denials (no row returned) are steady checks too */
        for (int i = 0; i < PRD__SWEEP_STEADY_EVERY; i++)
            assert_int_equal(check1(one, "once", 1, &d), PRD_ELIMITED);
        assert_int_equal(pgt_scalar("SELECT last_value FROM prd_rl_sweep_at"), 4);
        assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE rule = 'pace_live'"),
                         20000);
        prd_rl_pg_free(one);
        /* what a flood left, swept by checks of one key alone */
        pgt_exec("DELETE FROM prd_rl_state");
        pgt_exec("VACUUM prd_rl_state");
        pgt_exec("INSERT INTO prd_rl_state (rule, key, expires_ms) SELECT 'pace_old', int4send(i), 0 "
                 "FROM generate_series(1, 20) i");
        assert_ok(check1(s, "steady", 1, &d));
        for (int i = 0; i < PRD__SWEEP_STEADY_EVERY; i++)
            assert_ok(check1(s, "steady", 1, &d));
        assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state WHERE rule = 'pace_old'"), 0);
        assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_rl_state"), 1);
        prd_rl_pg_free(s);
    }
    pgt_exec("DELETE FROM prd_rl_state");
    prd_pg_pool_free(pool);
}

/* sql's one number on connection c. */
static long conn_scalar(prd_pg_conn *c, const char *sql)
{
    prd_pg_result *r = NULL;
    assert_ok(prd_pg_query(c, sql, NULL, &r));
    int64_t v = -1;
    assert_ok(prd_pg_result_int64(r, 0, 0, &v));
    prd_pg_result_free(r);
    return (long)v;
}

/* A connection that first swept a table while it was empty (its sweeps'
 * plans made then, kept by PL/pgSQL) still sweeps the grown table by
 * ctid or the expiry's index, with no sequential scan of it (one was 4 ms
 * a sweep at 100,000 rows): the rate-limit state, the login guard's two
 * tables, token records and revoked jtis. The scans are counted in the
 * connection's own transaction. */
static void test_sweeps_keep_to_their_pages(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(1);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("TRUNCATE prd_rl_state, prd_login_pairs, prd_login_familiar, prd_token_records, "
             "prd_token_revoked");
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    for (int i = 0; i < 8; i++) { /* past the five calls after which a plan is kept */
        conn_scalar(c, "SELECT prd_rl_sweep()");
        conn_scalar(c, "SELECT prd_login_sweep(100, 100)");
        conn_scalar(c, "SELECT prd_token_sweep(100)");
        conn_scalar(c, "SELECT prd_revoked_sweep()");
    }
    pgt_exec("INSERT INTO prd_token_records (digest, kind, subject, created_ns, last_used_ns, "
             "idle_ns, expires_ns, state) SELECT int4send(i), 1, 's', 0, 0, 0, CASE WHEN i % 9 = 0 "
             "THEN 5 ELSE 9e15::int8 END, 0 FROM generate_series(1, 30000) i");
    pgt_exec("INSERT INTO prd_token_revoked (jti, expires_ns) SELECT int4send(i), CASE WHEN "
             "i % 9 = 0 THEN 5 ELSE 9e15::int8 END FROM generate_series(1, 30000) i");
    pgt_exec("INSERT INTO prd_rl_state (rule, key, expires_ms) SELECT 'plan_t', int4send(i), "
             "CASE WHEN i % 9 = 0 THEN 0 ELSE 9e15::int8 END FROM generate_series(1, 30000) i");
    pgt_exec("INSERT INTO prd_login_pairs (account, source, failures, last_ms) SELECT int4send(i), "
             "int4send(i), 1, CASE WHEN i % 9 = 0 THEN 5 ELSE 9e15::int8 END "
             "FROM generate_series(1, 30000) i");
    pgt_exec("INSERT INTO prd_login_familiar (account, source, until_ms) SELECT int4send(i), "
             "int4send(i), CASE WHEN i % 9 = 0 THEN 5 ELSE 9e15::int8 END "
             "FROM generate_series(1, 30000) i");
    assert_ok(prd_pg_query(c, "BEGIN", NULL, NULL));
    long gone = 0;
    for (int i = 0; i < 4; i++) {
        gone += conn_scalar(c, "SELECT prd_rl_sweep()");
        gone += conn_scalar(c, "SELECT prd_login_sweep(100, 100)");
        gone += conn_scalar(c, "SELECT prd_token_sweep(100)");
        gone += conn_scalar(c, "SELECT prd_revoked_sweep()");
    }
    long seq = conn_scalar(c, "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables "
                              "WHERE relname IN ('prd_rl_state', 'prd_login_pairs', "
                              "'prd_login_familiar', 'prd_token_records', 'prd_token_revoked')");
    assert_ok(prd_pg_query(c, "COMMIT", NULL, NULL));
    prd_pg_pool_release(c);
    assert_true(gone > 0);
    assert_int_equal(seq, 0);
    pgt_exec("TRUNCATE prd_rl_state, prd_login_pairs, prd_login_familiar, prd_token_records, "
             "prd_token_revoked");
    prd_pg_pool_free(pool);
}

static void test_sweeps_bounded_and_complete(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state");
    /* 60,000 rows (several hundred pages), every 13th decayed long ago */
    check_bounded_sweep("prd_rl_state",
                        "INSERT INTO prd_rl_state (rule, key, expires_ms) SELECT 'sweep_t', "
                        "int4send(i), CASE WHEN i % 13 = 0 THEN 0 ELSE 9e15::int8 END "
                        "FROM generate_series(1, 60000) i",
                        "SELECT prd_rl_sweep()", "expires_ms = 0");
    pgt_exec("DELETE FROM prd_rl_state");
    pgt_exec("DELETE FROM prd_login_pairs");
    check_bounded_sweep("prd_login_pairs",
                        "INSERT INTO prd_login_pairs (account, source, failures, last_ms) SELECT "
                        "int4send(i), int4send(i), 1, CASE WHEN i % 13 = 0 THEN 5 ELSE 9e15::int8 "
                        "END FROM generate_series(1, 60000) i",
                        "SELECT prd_login_sweep(100, 0)", "last_ms = 5");
    pgt_exec("DELETE FROM prd_login_pairs");
    prd_pg_pool_free(pool);
}

/* ---- the login guard in PostgreSQL ---- */

#define GUARD_ACCOUNT_LIMIT 6

/* A guard on its own pool, its state in the database: source limit
 * src_limit an hour, GUARD_ACCOUNT_LIMIT failures per 15 minutes, 3 free
 * failures then 1 s doubling. */
static prd_login_guard *guard_on(prd_pg_pool *pool, uint64_t src_limit)
{
    prd_login_guard *g = NULL;
    if (prd_login_guard_new(1024, &g) != PRD_OK ||
        prd_login_guard_set_limits(g, src_limit, 3600 * 1000, GUARD_ACCOUNT_LIMIT,
                                   15 * 60 * 1000) != PRD_OK ||
        prd_login_guard_set_pg(g, pool) != PRD_OK) {
        prd_login_guard_free(g);
        return NULL;
    }
    return g;
}

static prd_status try_login(prd_login_guard *g, const char *account, const char *source,
                            int outcome, prd_rl_decision *d)
{
    prd_login_attempt att;
    prd_status st = prd_login_guard_check(g, account, strlen(account), source, strlen(source),
                                          &att, d);
    if (st != PRD_OK)
        return st;
    if (outcome == 1)
        return prd_login_guard_success(g, &att);
    if (outcome == 2)
        return prd_login_guard_abandon(g, &att);
    return prd_login_guard_failure(g, &att);
}

struct guard_job {
    const char *account; /* NULL: a different account each attempt */
    const char *source;  /* NULL: a different source each attempt */
    uint64_t src_limit;
};

/* 30 failed guesses from this process; reports "allowed errors". */
static void guess_child(int i, const void *arg, char report[REPORT_MAX])
{
    const struct guard_job *job = arg;
    prd_pg_pool *p = NULL;
    prd_login_guard *g = NULL;
    int allowed = 0, errors = 0;
    if ((p = child_pool(2)) != NULL &&
        (g = guard_on(p, job->src_limit)) != NULL) {
        for (int t = 0; t < 30; t++) {
            char acct[32], src[32];
            snprintf(acct, sizeof acct, "acct-%d-%d", i, t);
            snprintf(src, sizeof src, "10.0.%d.%d", i, t);
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            prd_status st = try_login(g, job->account ? job->account : acct,
                                      job->source ? job->source : src, 0, &d);
            if (st == PRD_OK)
                allowed++;
            else if (st != PRD_ELIMITED)
                errors++;
        }
        snprintf(report, REPORT_MAX, "%d %d", allowed, errors);
    }
    prd_login_guard_free(g);
    prd_pg_pool_free(p);
}

static int children_allowed(const struct guard_job *job)
{
    char reports[4][REPORT_MAX];
    run_children(4, guess_child, job, reports);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int allowed = 0, errors = -1;
        assert_int_equal(sscanf(reports[i], "%d %d", &allowed, &errors), 2);
        assert_int_equal(errors, 0);
        total += allowed;
    }
    return total;
}

/* Four processes guessing at one account from 120 sources get the
 * account's limit in all, not per process; one source guessing at 120
 * accounts through four processes gets the source's limit in all. */
static void test_login_guard_shared(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_pg_pool_free(pool);
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'login.%'");
    pgt_exec("DELETE FROM prd_login_pairs");
    struct guard_job victim = {"victim", NULL, 1000};
    assert_int_equal(children_allowed(&victim), GUARD_ACCOUNT_LIMIT);
    struct guard_job sprayer = {NULL, "203.0.113.9", 17};
    assert_int_equal(children_allowed(&sprayer), 17);
}

/* Backoff, familiar sources, abandon and unlock, each seen through
 * another pool than the one that caused it. */
static void test_login_guard_store_semantics(void **state)
{
    (void)state;
    prd_pg_pool *a = pool_for_test(2), *b = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(a, NULL, NULL));
    pgt_exec("DELETE FROM prd_rl_state WHERE rule LIKE 'login.%'");
    pgt_exec("DELETE FROM prd_login_pairs");
    pgt_exec("DELETE FROM prd_login_familiar");
    prd_login_guard *ga = guard_on(a, 1000), *gb = guard_on(b, 1000);
    assert_non_null(ga);
    assert_non_null(gb);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    /* backoff: three free failures on A, the fourth attempt waits on B */
    for (int i = 0; i < 3; i++)
        assert_ok(try_login(ga, "bob", "198.51.100.1", 0, &d));
    assert_int_equal(try_login(gb, "bob", "198.51.100.1", 0, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 2);
    assert_true(d.retry_after_ms > 800 && d.retry_after_ms <= 1000);
    /* another source is not held back by bob's pair */
    assert_ok(try_login(gb, "bob", "198.51.100.2", 0, &d));
    /* abandoned attempts count against nothing but the source */
    for (int i = 0; i < 10; i++)
        assert_ok(try_login(ga, "carol", "198.51.100.3", 2, &d));
    assert_int_equal(d.rule, 2); /* the pair's free failures are the fewest left */
    assert_int_equal(d.remaining, 2);
    /* familiar: alice logs in from home on A; guesses from strangers lock
     * her account on B; home still gets in on B, a stranger does not */
    assert_ok(try_login(ga, "alice", "home", 1, &d));
    /* a success refunds its failure: this one leaves the account's count
     * at 0, or the last of the guesses below would be refused */
    assert_ok(try_login(gb, "alice", "192.0.2.100", 1, &d));
    for (int i = 0; i < GUARD_ACCOUNT_LIMIT; i++) {
        char src[32];
        snprintf(src, sizeof src, "192.0.2.%d", i);
        assert_ok(try_login(gb, "alice", src, 0, &d));
    }
    assert_int_equal(try_login(gb, "alice", "192.0.2.200", 0, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 1);
    assert_true(d.retry_after_ms > 0);
    assert_ok(try_login(gb, "alice", "home", 1, &d));
    assert_ok(try_login(ga, "alice", "192.0.2.100", 0, &d)); /* familiar since its success */
    assert_int_equal(try_login(ga, "alice", "192.0.2.201", 0, &d), PRD_ELIMITED);
    /* unlock (the recovery path) on A lifts the lockout seen on B: the
     * account's count starts again from nothing */
    assert_ok(prd_login_guard_unlock(ga, "alice", 5));
    for (int i = 0; i < GUARD_ACCOUNT_LIMIT; i++) {
        char src[32];
        snprintf(src, sizeof src, "192.0.2.%d", 210 + i);
        assert_ok(try_login(gb, "alice", src, 0, &d));
    }
    assert_int_equal(try_login(gb, "alice", "192.0.2.250", 0, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 1);
    assert_int_equal(prd_login_guard_count(ga, PRD_LOGIN_COUNT_DB_FAILED), 0);
    prd_login_guard_free(ga);
    prd_login_guard_free(gb);
    prd_pg_pool_free(a);
    prd_pg_pool_free(b);
}

/* The database gone: the guard fails closed and counts it; back, it works
 * with the state it had. */
static void test_login_guard_database_down(void **state)
{
    (void)state;
    struct fproxy *fp = NULL;
    prd_pg_pool *pool = proxied_stores_pool(&fp);
    pgt_exec("DELETE FROM prd_login_pairs");
    prd_login_guard *g = guard_on(pool, 1000);
    assert_non_null(g);
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    prd_login_attempt att;
    assert_ok(try_login(g, "dave", "198.51.100.7", 0, &d));
    assert_ok(prd_login_guard_check(g, "dave", 4, "198.51.100.7", 12, &att, &d));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    assert_int_equal(prd_login_guard_success(g, &att), PRD_EDB);
    assert_int_equal(try_login(g, "dave", "198.51.100.7", 0, &d), PRD_EDB);
    assert_int_equal(d.allowed, 0);
    assert_int_equal(d.retry_after_ms, 1000);
    assert_int_equal(prd_login_guard_count(g, PRD_LOGIN_COUNT_DB_FAILED), 2);
    fproxy_set_mode(fp, FP_PASS);
    usleep(200 * 1000);
    prd_status st = PRD_EDB;
    for (int i = 0; i < 20 && st == PRD_EDB; i++) {
        st = try_login(g, "dave", "198.51.100.7", 0, &d);
        if (st == PRD_EDB)
            usleep(100 * 1000);
    }
    /* two failures stood (the success could not be recorded): the third
     * of the streak is the last free one */
    assert_ok(st);
    assert_int_equal(try_login(g, "dave", "198.51.100.7", 0, &d), PRD_ELIMITED);
    assert_int_equal(d.rule, 2);
    prd_login_guard_free(g);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* ---- the token store ---- */

static prd_token_sessions *sessions_on(prd_pg_pool *pool, prd_token_store **store)
{
    assert_ok(prd_token_store_new_pg(pool, store));
    prd_token_sessions *s = NULL;
    assert_ok(prd_token_sessions_new(*store, "sess", &s));
    return s;
}

struct token_job {
    char token[PRD_OPAQUE_TOKEN_SIZE];
};

/* A child with its own pool redeems the token: "1" when it won. */
static void consume_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)i;
    const struct token_job *job = arg;
    prd_pg_pool *p = NULL;
    prd_token_store *store = NULL;
    prd_token_sessions *s = NULL;
    if ((p = child_pool(0)) != NULL &&
        prd_token_store_new_pg(p, &store) == PRD_OK &&
        prd_token_sessions_new(store, "sess", &s) == PRD_OK) {
        char who[PRD_SESSION_SUBJECT_SIZE];
        prd_status st = prd_token_single_use_consume(s, "password-reset", job->token,
                                                     strlen(job->token), NULL, 0, who, sizeof who);
        snprintf(report, REPORT_MAX, "%d %.40s", st == PRD_OK ? 1 : st == PRD_EBADTOKEN ? 0 : -1,
                 st == PRD_OK ? who : "-");
    }
    prd_token_sessions_free(s);
    prd_token_store_free(store);
    prd_pg_pool_free(p);
}

/* Sessions and single-use tokens shared by processes through the store:
 * one redemption of a token wins among four processes at once; a session
 * made here is seen there, "log out everywhere" there is seen here. */
static void test_token_store_shared(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_token_records");
    prd_token_store *store = NULL;
    prd_token_sessions *s = sessions_on(pool, &store);
    for (int round = 0; round < 5; round++) {
        struct token_job job;
        assert_ok(prd_token_single_use_issue(s, "password-reset", "dana", 15 * 60 * 1000, NULL, 0,
                                             job.token, sizeof job.token));
        char reports[4][REPORT_MAX];
        run_children(4, consume_child, &job, reports);
        int won = 0;
        for (int i = 0; i < 4; i++) {
            int w = -1;
            char who[64] = "";
            assert_int_equal(sscanf(reports[i], "%d %63s", &w, who), 2);
            assert_true(w == 0 || w == 1);
            if (w == 1)
                assert_string_equal(who, "dana");
            won += w;
        }
        assert_int_equal(won, 1);
    }
    /* the token never reaches the table: only its digest */
    char a[PRD_OPAQUE_TOKEN_SIZE], b[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_session_create(s, "erin", a, sizeof a));
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM prd_token_records WHERE position(convert_to('%s', 'UTF8') in "
             "digest) > 0 OR subject = '%s'",
             a + 5, a);
    assert_int_equal(pgt_scalar(sql), 0);
    /* another store on another pool (another instance) sees the session */
    prd_pg_pool *pool2 = pool_for_test(2);
    prd_token_store *store2 = NULL;
    prd_token_sessions *s2 = sessions_on(pool2, &store2);
    char who[PRD_SESSION_SUBJECT_SIZE];
    assert_ok(prd_token_session_validate(s2, a, strlen(a), who, sizeof who));
    assert_string_equal(who, "erin");
    /* rotated there: dead here at once, the new one valid here */
    assert_ok(prd_token_session_rotate(s2, a, strlen(a), b, sizeof b));
    assert_int_equal(prd_token_session_validate(s, a, strlen(a), NULL, 0), PRD_EBADTOKEN);
    assert_ok(prd_token_session_validate(s, b, strlen(b), NULL, 0));
    /* log out everywhere there: sessions and single-use tokens here end */
    char reset[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_single_use_issue(s, "password-reset", "erin", 15 * 60 * 1000, NULL, 0, reset,
                                         sizeof reset));
    size_t n = 0;
    assert_ok(prd_token_session_revoke_subject(s2, "erin", &n));
    assert_int_equal(n, 2);
    assert_int_equal(prd_token_session_validate(s, b, strlen(b), NULL, 0), PRD_EBADTOKEN);
    assert_int_equal(prd_token_single_use_consume(s, "password-reset", reset, strlen(reset), NULL,
                                                  0, NULL, 0),
                     PRD_EBADTOKEN);
    assert_int_equal(prd_token_store_count(store), 0);
    prd_token_sessions_free(s2);
    prd_token_store_free(store2);
    prd_pg_pool_free(pool2);
    prd_token_sessions_free(s);
    prd_token_store_free(store);
    prd_pg_pool_free(pool);
}

/* The database gone: a system error, never a session accepted. */
/* Refresh families and session listing: the cases the memory store
 * passes, through PostgreSQL. */
static void test_token_store_refresh_and_listing(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    pgt_exec("DELETE FROM prd_token_records");
    prd_token_store *store = NULL;
    assert_ok(prd_token_store_new_pg(pool, &store));
    token_cases_refresh(store);
    token_cases_listing(store);
    prd_token_store_free(store);
    prd_pg_pool_free(pool);
}

/* Present the job's refresh token once; report "status reused". */
static void refresh_child(int i, const void *arg, char report[REPORT_MAX])
{
    (void)i;
    const struct token_job *job = arg;
    prd_pg_pool *p = NULL;
    prd_token_store *store = NULL;
    prd_token_sessions *s = NULL;
    if ((p = child_pool(0)) != NULL &&
        prd_token_store_new_pg(p, &store) == PRD_OK &&
        prd_token_sessions_new(store, "sess", &s) == PRD_OK) {
        char next[80];
        int reused = -1;
        prd_status st = prd_token_refresh_rotate(s, job->token, strlen(job->token), next,
                                                 sizeof next, NULL, 0, &reused);
        snprintf(report, REPORT_MAX, "%d %d %.60s", (int)st, reused, st == PRD_OK ? next : "-");
    }
    prd_token_sessions_free(s);
    prd_token_store_free(store);
    prd_pg_pool_free(p);
}

/* Four processes present one refresh token at once: one rotates, the
 * others are reuse (or find the family gone), and the family is revoked,
 * the winner's new token with it: a stolen token raced against its owner
 * ends the sign-in for both. */
static void test_refresh_race_across_processes(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(pool, NULL, NULL));
    prd_token_store *store = NULL;
    prd_token_sessions *s = sessions_on(pool, &store);
    for (int round = 0; round < 5; round++) {
        struct token_job job;
        assert_ok(prd_token_refresh_issue(s, "racer", job.token, sizeof job.token));
        char reports[4][REPORT_MAX];
        run_children(4, refresh_child, &job, reports);
        int ok = 0, reuse = 0;
        char winner[80] = "";
        for (int i = 0; i < 4; i++) {
            int st = -1, reused = -1;
            char next[80];
            assert_int_equal(sscanf(reports[i], "%d %d %79s", &st, &reused, next), 3);
            if (st == PRD_OK) {
                ok++;
                strcpy(winner, next);
            } else {
                assert_int_equal(st, PRD_EBADTOKEN);
                reuse += reused;
            }
        }
        if (ok != 1 || reuse < 1)
            fail_msg("round %d: %s | %s | %s | %s", round, reports[0], reports[1], reports[2],
                     reports[3]);
        char next[80];
        assert_status(prd_token_refresh_rotate(s, winner, strlen(winner), next, sizeof next, NULL,
                                               0, NULL),
                      PRD_EBADTOKEN);
    }
    prd_token_sessions_free(s);
    prd_token_store_free(store);
    prd_pg_pool_free(pool);
}

/* ---- the jti revocation list ---- */

static prd_token_revocations *revocations_on(prd_pg_pool *pool, int64_t refresh_ms,
                                             int64_t max_stale_ms)
{
    prd_token_revocations *rv = NULL;
    assert_ok(prd_token_revocations_new(pool, &rv));
    assert_ok(prd_token_revocations_set_refresh(rv, refresh_ms, max_stale_ms));
    return rv;
}

static int64_t in_an_hour(void)
{
    return prd_clock_wall_ns(NULL) + INT64_C(3600) * 1000000000;
}

/* A jti revoked through one pool is refused through another within the
 * refresh bound, and at once by a list that has not merged yet. */
static void test_revocations_shared(void **state)
{
    (void)state;
    prd_pg_pool *a = pool_for_test(2), *b = pool_for_test(2);
    assert_ok(prd_pg_stores_migrate(a, NULL, NULL));
    pgt_exec("DELETE FROM prd_token_revoked");
    prd_token_revocations *ra = revocations_on(a, 100, 5000);
    prd_token_revocations *rb = revocations_on(b, 100, 5000);
    assert_ok(prd_token_revoke_jti(ra, "first", in_an_hour()));
    assert_status(prd_token_jti_check(ra, "first"), PRD_EBADTOKEN);
    assert_status(prd_token_jti_check(rb, "first"), PRD_EBADTOKEN); /* its first merge */
    assert_ok(prd_token_jti_check(rb, "second"));
    assert_ok(prd_token_revoke_jti(ra, "second", in_an_hour()));
    /* within the bound B may still pass it; after it, never */
    usleep(150 * 1000);
    assert_status(prd_token_jti_check(rb, "second"), PRD_EBADTOKEN);
    /* many at once from A arrive whole */
    char jti[32];
    for (int i = 0; i < 300; i++) {
        snprintf(jti, sizeof jti, "bulk-%d", i);
        assert_ok(prd_token_revoke_jti(ra, jti, in_an_hour()));
    }
    usleep(150 * 1000);
    for (int i = 0; i < 300; i++) {
        snprintf(jti, sizeof jti, "bulk-%d", i);
        assert_status(prd_token_jti_check(rb, jti), PRD_EBADTOKEN);
    }
    assert_int_equal(prd_token_revocations_count(rb), 302);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_token_revoked"), 302);
    prd_token_revocations_free(ra);
    prd_token_revocations_free(rb);
    prd_pg_pool_free(a);
    prd_pg_pool_free(b);
}

/* The database gone: checks go on from the copy for max_stale, then fail
 * closed; revoking says it failed; back, all is current again. A list
 * that never merged fails closed at once. */
static void test_revocations_database_down(void **state)
{
    (void)state;
    struct fproxy *fp = NULL;
    prd_pg_pool *pool = proxied_stores_pool(&fp);
    prd_token_revocations *rv = revocations_on(pool, 50, 600);
    assert_ok(prd_token_revoke_jti(rv, "down-1", in_an_hour()));
    assert_ok(prd_token_jti_check(rv, "other"));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    usleep(100 * 1000);
    assert_ok(prd_token_jti_check(rv, "other")); /* stale, within the bound */
    assert_status(prd_token_jti_check(rv, "down-1"), PRD_EBADTOKEN);
    assert_status(prd_token_revoke_jti(rv, "down-2", in_an_hour()), PRD_EDB);
    usleep(700 * 1000);
    assert_status(prd_token_jti_check(rv, "other"), PRD_EDB);
    assert_true(prd_token_revocations_stale_refusals(rv) >= 1);
    prd_token_revocations *fresh = revocations_on(pool, 50, 600);
    assert_status(prd_token_jti_check(fresh, "other"), PRD_EDB);
    fproxy_set_mode(fp, FP_PASS);
    usleep(200 * 1000);
    prd_status st = PRD_EDB;
    for (int i = 0; i < 30 && st != PRD_OK; i++) {
        st = prd_token_jti_check(rv, "other");
        if (st != PRD_OK)
            usleep(100 * 1000);
    }
    assert_ok(st);
    assert_ok(prd_token_jti_check(fresh, "down-2")); /* never revoked: it said so */
    assert_status(prd_token_jti_check(fresh, "down-1"), PRD_EBADTOKEN);
    prd_token_revocations_free(fresh);
    prd_token_revocations_free(rv);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

static void test_token_store_database_down(void **state)
{
    (void)state;
    struct fproxy *fp = NULL;
    prd_pg_pool *pool = proxied_stores_pool(&fp);
    prd_token_store *store = NULL;
    prd_token_sessions *s = sessions_on(pool, &store);
    char a[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_session_create(s, "fay", a, sizeof a));
    fproxy_set_mode(fp, FP_REFUSE);
    fproxy_cut_all(fp);
    prd_status st = prd_token_session_validate(s, a, strlen(a), NULL, 0);
    assert_true(st == PRD_EDB || st == PRD_ETIMEOUT);
    assert_false(prd_status_is_client_error(st)); /* a 5xx, not "bad token" */
    fproxy_set_mode(fp, FP_PASS);
    int ok = 0;
    for (int i = 0; i < 30 && !ok; i++) {
        ok = prd_token_session_validate(s, a, strlen(a), NULL, 0) == PRD_OK;
        if (!ok)
            usleep(100 * 1000);
    }
    assert_true(ok); /* nothing was lost */
    prd_token_sessions_free(s);
    prd_token_store_free(store);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_once_and_refuse_edits),
        cmocka_unit_test(test_migrate_processes_race),
        cmocka_unit_test(test_stores_migrate_idempotent),
        cmocka_unit_test(test_exact_store),
        cmocka_unit_test(test_window_slides),
        cmocka_unit_test(test_fast_path_matches_function),
        cmocka_unit_test(test_counter_wide_numbers),
        cmocka_unit_test(test_rules_atomic),
        cmocka_unit_test(test_processes_share_a_limit),
        cmocka_unit_test(test_fail_closed_and_open),
        cmocka_unit_test(test_decayed_rows_cleaned),
        cmocka_unit_test(test_sweeps_bounded_and_complete),
        cmocka_unit_test(test_flood_of_fresh_keys_swept),
        cmocka_unit_test(test_sweep_paced_by_new_rows),
        cmocka_unit_test(test_sweeps_keep_to_their_pages),
        cmocka_unit_test(test_store_reservations),
        cmocka_unit_test(test_store_reservations_shared),
        cmocka_unit_test(test_store_refund_database_down),
        cmocka_unit_test(test_store_local_lease),
        cmocka_unit_test(test_login_guard_shared),
        cmocka_unit_test(test_login_guard_store_semantics),
        cmocka_unit_test(test_login_guard_database_down),
        cmocka_unit_test(test_token_store_shared),
        cmocka_unit_test(test_token_store_database_down),
        cmocka_unit_test(test_token_store_refresh_and_listing),
        cmocka_unit_test(test_refresh_race_across_processes),
        cmocka_unit_test(test_revocations_shared),
        cmocka_unit_test(test_revocations_database_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
