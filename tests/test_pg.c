/* pg: configuration, queries, errors, statement cache, pool limits,
 * leaks, recycling, transactions and metrics against a real PostgreSQL
 * (scripts/pg-temp). Server-restart, failover and fork cases are in
 * test_pg_recovery.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/pgtest.h"
#include "support/testutil.h"

#include "internal/alloc.h"
#include "internal/pg.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- configuration ---- */

static void test_config_settings(void **state)
{
    (void)state;
    prd_pg_config *cfg;
    assert_status(prd_pg_config_new(NULL, &cfg), PRD_EINVAL);
    assert_ok(prd_pg_config_new("host=/nowhere dbname=x", &cfg));
    assert_string_equal(prd_pg_config_error(cfg), "");
    assert_status(prd_pg_config_set_max_size(cfg, 0), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "max_size"));
    assert_status(prd_pg_config_set_max_size(cfg, PRD_PG_MAX_SIZE_LIMIT + 1), PRD_EINVAL);
    assert_status(prd_pg_config_set_acquire_timeout_ms(cfg, 0), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "acquire_timeout"));
    assert_status(prd_pg_config_set_query_timeout_ms(cfg, 3000000000u), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "query_timeout"));
    assert_ok(prd_pg_config_set_query_timeout_ms(cfg, 0));
    assert_status(prd_pg_config_set_connect_timeout_ms(cfg, 0), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "connect_timeout"));
    assert_status(prd_pg_config_set_max_lifetime_ms(cfg, 1000, 51), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "max_lifetime"));
    assert_status(prd_pg_config_set_application_name(cfg, ""), PRD_EINVAL);
    assert_status(prd_pg_config_set_application_name(cfg, "bad\nname"), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "application_name"));
    assert_status(prd_pg_config_set_statement_cache_size(cfg, 5000), PRD_EINVAL);
    assert_status(prd_pg_config_set_reconnect_backoff_ms(cfg, 100, 10), PRD_EINVAL);
    assert_non_null(strstr(prd_pg_config_error(cfg), "reconnect_backoff"));
    assert_status(prd_pg_config_set_max_waiters(cfg, 2000000), PRD_EINVAL);
    assert_status(prd_pg_config_set_idle_timeout_ms(cfg, 31ull * 24 * 3600 * 1000), PRD_EINVAL);
    assert_ok(prd_pg_config_set_max_size(cfg, 3));
    assert_ok(prd_pg_config_set_min_size(cfg, 5));
    /* min > max is caught when the pool is made, naming the setting */
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    prd_pg_pool *pool = (prd_pg_pool *)1;
    assert_status(prd_pg_pool_new(cfg, &pool, err), PRD_EINVAL);
    assert_null(pool);
    assert_non_null(strstr(prd_pg_error_message(err), "min_size"));
    assert_status(prd_pg_config_set_min_size(NULL, 1), PRD_EINVAL);
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
    prd_pg_config_free(NULL);
}

static void test_config_conninfo_never_echoed(void **state)
{
    (void)state;
    prd_pg_config *cfg;
    /* libpq's own parse error would quote the word after the password */
    assert_status(prd_pg_config_new("host=x password=s3cr3tpw oops", &cfg), PRD_EINVAL);
    assert_ok(prd_pg_config_new("host=x", &cfg));
    assert_status(prd_pg_config_set_conninfo(cfg, "password=s3cr3tpw oops"), PRD_EINVAL);
    assert_null(strstr(prd_pg_config_error(cfg), "s3cr3tpw"));
    assert_null(strstr(prd_pg_config_error(cfg), "oops"));
    assert_non_null(strstr(prd_pg_config_error(cfg), "conninfo"));
    assert_status(prd_pg_config_set_conninfo(cfg, "postgresql://u:s3cr3tpw@h/db?oops=%zz"),
                  PRD_EINVAL);
    assert_null(strstr(prd_pg_config_error(cfg), "s3cr3tpw"));
    /* URIs and multi-host lists pass */
    assert_ok(prd_pg_config_set_conninfo(
        cfg, "postgresql://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write"));
    assert_ok(prd_pg_config_set_conninfo(cfg, "host=a,b port=1,2 target_session_attrs=primary"));
    char *big = malloc(PRD_PG_CONNINFO_MAX + 10);
    memset(big, 'a', PRD_PG_CONNINFO_MAX + 9);
    memcpy(big, "host=", 5);
    big[PRD_PG_CONNINFO_MAX + 9] = '\0';
    assert_status(prd_pg_config_set_conninfo(cfg, big), PRD_ETOOBIG);
    free(big);
    prd_pg_config_free(cfg);
}

static void test_wrong_password(void **state)
{
    (void)state;
    pgt_conninfo();
    const char *tcp = getenv("PRD_PG_TCP_CONNINFO");
    assert_non_null(tcp);
    char ci[1024];
    snprintf(ci, sizeof ci, "%s password=Wr0ngPassw0rd-xyz", tcp);
    struct pgt_log cap;
    prd_logger *lg = pgt_log_new(&cap);
    prd_pg_config *cfg;
    assert_ok(prd_pg_config_new(ci, &cfg));
    assert_ok(prd_pg_config_set_logger(cfg, lg));
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    prd_pg_pool *pool;
    assert_status(prd_pg_pool_new(cfg, &pool, err), PRD_EDB);
    assert_int_equal(prd_pg_error_status(err), PRD_EDB);
    assert_non_null(strstr(prd_pg_error_message(err), "password authentication failed"));
    assert_null(strstr(prd_pg_error_message(err), "Wr0ngPassw0rd"));
    assert_true(pgt_log_has(&cap, "pg connect failed"));
    assert_false(pgt_log_has(&cap, "Wr0ngPassw0rd"));
    /* a lazy pool reports the same on acquire (the deadline leaves the
     * manager's connect time to fail, under valgrind too) */
    assert_ok(prd_pg_config_set_min_size(cfg, 0));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 3000));
    assert_ok(prd_pg_pool_new(cfg, &pool, err));
    prd_pg_conn *c;
    assert_status(prd_pg_acquire(pool, &c, err), PRD_EDB);
    assert_non_null(strstr(prd_pg_error_message(err), "password authentication failed"));
    assert_null(strstr(prd_pg_error_message(err), "Wr0ngPassw0rd"));
    assert_true(prd_pg_pool_metric(pool, PRD_PG_M_CONNECT_FAILURES) >= 1);
    prd_pg_pool_free(pool);
    assert_false(pgt_log_has(&cap, "Wr0ngPassw0rd"));
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
    pgt_log_free(lg, &cap);
}

static void test_unreachable_server(void **state)
{
    (void)state;
    pgt_conninfo();
    prd_pg_config *cfg;
    /* a socket folder with no server */
    assert_ok(prd_pg_config_new("host=/nonexistent-prd port=1 user=x dbname=x", &cfg));
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    prd_pg_pool *pool;
    assert_status(prd_pg_pool_new(cfg, &pool, err), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(err), "08001");
    assert_true(strlen(prd_pg_error_message(err)) > 0);
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
}

/* ---- queries ---- */

static void test_query_types_and_nulls(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "CREATE TEMP TABLE tv (i4 int, i8 bigint, d float8, b bool, "
                              "by bytea, t text, n text)", NULL, NULL));
    prd_pg_params *p;
    assert_ok(prd_pg_params_new(&p));
    assert_ok(prd_pg_params_add_int32(p, -2147483647 - 1));
    assert_ok(prd_pg_params_add_int64(p, INT64_MAX));
    assert_ok(prd_pg_params_add_double(p, -0.125));
    assert_ok(prd_pg_params_add_bool(p, 1));
    const unsigned char bin[] = {0, 1, 0xff, 0x80, '\\', 'x'};
    assert_ok(prd_pg_params_add_bytea(p, bin, sizeof bin));
    assert_ok(prd_pg_params_add_textn(p, "h\xc3\xa9llo world", 12));
    assert_ok(prd_pg_params_add_null(p));
    assert_int_equal(prd_pg_params_count(p), 7);
    assert_status(prd_pg_params_add_textn(p, "a\0b", 3), PRD_EINVAL);
    assert_int_equal(prd_pg_params_count(p), 7);
    prd_pg_result *r;
    assert_ok(prd_pg_query(c, "INSERT INTO tv VALUES ($1, $2, $3, $4, $5, $6, $7)", p, &r));
    assert_int_equal(prd_pg_result_affected(r), 1);
    prd_pg_result_free(r);
    assert_ok(prd_pg_query(c, "SELECT i4, i8, d, b, by, t, n FROM tv", NULL, &r));
    assert_int_equal(prd_pg_result_rows(r), 1);
    assert_int_equal(prd_pg_result_cols(r), 7);
    int64_t v;
    assert_ok(prd_pg_result_int64(r, 0, 0, &v));
    assert_int_equal(v, -2147483647LL - 1);
    assert_ok(prd_pg_result_int64(r, 0, 1, &v));
    assert_true(v == INT64_MAX);
    double d;
    assert_ok(prd_pg_result_double(r, 0, 2, &d));
    assert_true(d == -0.125);
    int b;
    assert_ok(prd_pg_result_bool(r, 0, 3, &b));
    assert_int_equal(b, 1);
    unsigned char out[16];
    size_t len;
    assert_status(prd_pg_result_bytea(r, 0, 4, out, 2, &len), PRD_ENOSPACE);
    assert_int_equal(len, sizeof bin);
    assert_ok(prd_pg_result_bytea(r, 0, 4, out, sizeof out, &len));
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(out, bin, sizeof bin);
    assert_string_equal(prd_pg_result_text(r, 0, 5, &len), "h\xc3\xa9llo world");
    assert_int_equal(len, 12);
    /* NULL is told apart from every value */
    assert_true(prd_pg_result_is_null(r, 0, 6));
    assert_false(prd_pg_result_is_null(r, 0, 5));
    assert_null(prd_pg_result_text(r, 0, 6, &len));
    assert_status(prd_pg_result_int64(r, 0, 6, &v), PRD_ENOTFOUND);
    /* out of range and wrong type */
    assert_status(prd_pg_result_int64(r, 1, 0, &v), PRD_EINVAL);
    assert_status(prd_pg_result_int64(r, 0, 7, &v), PRD_EINVAL);
    assert_status(prd_pg_result_int64(r, 0, 5, &v), PRD_EINVAL);
    assert_status(prd_pg_result_bool(r, 0, 0, &b), PRD_EINVAL);
    assert_true(prd_pg_result_is_null(r, 9, 9));
    assert_string_equal(prd_pg_result_column_name(r, 4), "by");
    assert_string_equal(prd_pg_result_column_name(r, 99), "");
    assert_int_equal(prd_pg_result_column_index(r, "t"), 5);
    assert_int_equal(prd_pg_result_column_index(r, "T"), -1);
    prd_pg_result_free(r);

    /* text parameters for FFI callers, with a NULL */
    const char *vals[] = {"41", NULL};
    assert_ok(prd_pg_query_text(c, "SELECT $1::int + 1, $2::text IS NULL", 2, vals, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "42");
    assert_string_equal(prd_pg_result_text(r, 0, 1, NULL), "t");
    prd_pg_result_free(r);
    /* overflowing int8 text is refused, not wrapped */
    assert_ok(prd_pg_query(c, "SELECT '99999999999999999999'::numeric", NULL, &r));
    assert_status(prd_pg_result_int64(r, 0, 0, &v), PRD_EINVAL);
    prd_pg_result_free(r);

    /* any type by OID: text (25) in text form, int4 (23) in binary */
    prd_pg_params_reset(p);
    assert_int_equal(prd_pg_params_count(p), 0);
    const unsigned char four[4] = {0, 0, 1, 0};
    assert_ok(prd_pg_params_add_typed(p, 25, 0, "typed", 5));
    assert_ok(prd_pg_params_add_typed(p, 23, 1, four, 4));
    assert_ok(prd_pg_params_add_typed(p, 23, 1, NULL, 0)); /* NULL */
    assert_status(prd_pg_params_add_typed(p, 23, 2, four, 4), PRD_EINVAL);
    assert_status(prd_pg_params_add_typed(p, 25, 0, "a\0b", 3), PRD_EINVAL);
    assert_status(prd_pg_params_add_bytea(p, NULL, 1), PRD_EINVAL);
    assert_status(prd_pg_params_add_text(NULL, "x"), PRD_EINVAL);
    assert_int_equal(prd_pg_params_count(p), 3);
    assert_ok(prd_pg_query(c, "SELECT $1 || '!', $2 + 1, $3 IS NULL", p, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "typed!");
    assert_string_equal(prd_pg_result_text(r, 0, 1, NULL), "257");
    assert_string_equal(prd_pg_result_text(r, 0, 2, NULL), "t");
    assert_status(prd_pg_result_int64(r, 0, 1, NULL), PRD_EINVAL);
    prd_pg_result_free(r);

    prd_pg_params_reset(p);
    assert_int_equal(prd_pg_params_count(p), 0);
    prd_pg_params_free(p);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_hostile_parameter_stored_verbatim(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "CREATE TEMP TABLE victims (name text)", NULL, NULL));
    const char *hostile[] = {
        "Robert'); DROP TABLE victims;--",
        "' OR '1'='1",
        "$1; SELECT pg_sleep(10)",
        "\\'; DELETE FROM victims WHERE ''='",
        "E'\\x27'",
    };
    for (size_t i = 0; i < (sizeof hostile / sizeof *hostile); i++) {
        const char *v[] = {hostile[i]};
        assert_ok(prd_pg_query_text(c, "INSERT INTO victims VALUES ($1)", 1, v, NULL));
    }
    prd_pg_result *r;
    for (size_t i = 0; i < (sizeof hostile / sizeof *hostile); i++) {
        const char *v[] = {hostile[i]};
        assert_ok(prd_pg_query_text(c, "SELECT name FROM victims WHERE name = $1", 1, v, &r));
        assert_int_equal(prd_pg_result_rows(r), 1);
        assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), hostile[i]);
        prd_pg_result_free(r);
    }
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM victims", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "5");
    prd_pg_result_free(r);
    /* one statement per call: a second one is refused by the protocol */
    assert_status(prd_pg_query(c, "SELECT 1; DROP TABLE victims", NULL, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(prd_pg_conn_error(c)), "42601");
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM victims", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_errors_mapped(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "CREATE TEMP TABLE u (id int CONSTRAINT u_pk PRIMARY KEY, "
                              "n int CONSTRAINT n_pos CHECK (n > 0))", NULL, NULL));
    const char *a[] = {"1", "5"};
    assert_ok(prd_pg_query_text(c, "INSERT INTO u VALUES ($1, $2)", 2, a, NULL));
    assert_status(prd_pg_query_text(c, "INSERT INTO u VALUES ($1, $2)", 2, a, NULL),
                  PRD_ECONFLICT);
    const prd_pg_error *e = prd_pg_conn_error(c);
    assert_string_equal(prd_pg_error_sqlstate(e), "23505");
    assert_string_equal(prd_pg_error_constraint(e), "u_pk");
    assert_string_equal(prd_pg_error_table(e), "u");
    assert_non_null(strstr(prd_pg_error_detail(e), "already exists"));
    assert_true(prd_status_is_client_error(prd_pg_error_status(e)));
    const char *bad[] = {"2", "-1"};
    assert_status(prd_pg_query_text(c, "INSERT INTO u VALUES ($1, $2)", 2, bad, NULL),
                  PRD_ECONFLICT);
    assert_string_equal(prd_pg_error_sqlstate(e), "23514");
    assert_string_equal(prd_pg_error_constraint(e), "n_pos");
    /* NOT NULL names the column; other constraint kinds are system errors */
    assert_ok(prd_pg_query(c, "CREATE TEMP TABLE nn (v int NOT NULL)", NULL, NULL));
    assert_status(prd_pg_query(c, "INSERT INTO nn VALUES (NULL)", NULL, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(e), "23502");
    assert_string_equal(prd_pg_error_column(e), "v");
    /* the rest are system errors */
    assert_status(prd_pg_query(c, "SELEC 1", NULL, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(e), "42601");
    assert_false(prd_status_is_client_error(PRD_EDB));
    assert_status(prd_pg_query(c, "SELECT * FROM no_such_table", NULL, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(e), "42P01");
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    assert_string_equal(prd_pg_error_sqlstate(e), "");
    assert_status(prd_pg_query(c, "DO $$BEGIN RAISE EXCEPTION 'x' USING HINT = 'try y'; END$$",
                               NULL, NULL),
                  PRD_EDB);
    assert_string_equal(prd_pg_error_hint(e), "try y");
    assert_string_equal(prd_pg_error_message(e), "x");
    /* mapping table */
    assert_int_equal(prd_pg_sqlstate_status("23P01"), PRD_ECONFLICT);
    assert_int_equal(prd_pg_sqlstate_status("40001"), PRD_ERETRY);
    assert_int_equal(prd_pg_sqlstate_status("40P01"), PRD_ERETRY);
    assert_int_equal(prd_pg_sqlstate_status("55P03"), PRD_ETIMEOUT);
    assert_int_equal(prd_pg_sqlstate_status("23503"), PRD_EDB);
    assert_int_equal(prd_pg_sqlstate_status("2350"), PRD_EDB);
    assert_int_equal(prd_pg_sqlstate_status(NULL), PRD_EDB);
    assert_int_equal(prd_pg_sqlstate_status("2350a"), PRD_EDB);
    /* limits */
    char *huge = malloc(PRD_PG_SQL_MAX + 2);
    memset(huge, ' ', PRD_PG_SQL_MAX + 1);
    huge[PRD_PG_SQL_MAX + 1] = '\0';
    assert_status(prd_pg_query(c, huge, NULL, NULL), PRD_ETOOBIG);
    free(huge);
    assert_status(prd_pg_query_text(c, "SELECT 1", PRD_PG_PARAMS_MAX + 1, a, NULL), PRD_ETOOBIG);
    assert_status(prd_pg_query(NULL, "SELECT 1", NULL, NULL), PRD_EINVAL);
    assert_status(prd_pg_query(c, NULL, NULL, NULL), PRD_EINVAL);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_statement_timeout(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_statement_timeout_ms(cfg, 100));
    assert_ok(prd_pg_config_set_lock_timeout_ms(cfg, 50));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    prd_pg_result *r;
    assert_ok(prd_pg_query(c, "SHOW statement_timeout", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "100ms");
    prd_pg_result_free(r);
    assert_ok(prd_pg_query(c, "SHOW application_name", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "prd_test_pg");
    prd_pg_result_free(r);
    assert_ok(prd_pg_query(c, "SHOW lock_timeout", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "50ms");
    prd_pg_result_free(r);
    assert_ok(prd_pg_query(c, "SHOW idle_in_transaction_session_timeout", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "1min");
    prd_pg_result_free(r);
    assert_status(prd_pg_query(c, "SELECT pg_sleep(2)", NULL, NULL), PRD_ETIMEOUT);
    assert_string_equal(prd_pg_error_sqlstate(prd_pg_conn_error(c)), "57014");
    assert_true(prd_pg_conn_ok(c)); /* a cancelled statement leaves the connection fine */
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_statement_cache(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    assert_ok(prd_pg_config_set_statement_cache_size(cfg, 2));
    assert_ok(prd_pg_config_set_health_check_after_ms(cfg, 0)); /* see the reconnect below */
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    for (int i = 0; i < 20; i++)
        assert_ok(prd_pg_query(c, "SELECT 1 AS one", NULL, NULL));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_PREPARES), 1);
    prd_pg_result *r;
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM pg_prepared_statements", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "2");
    prd_pg_result_free(r);
    /* DISCARD ALL drops them on the server: the next use prepares again */
    assert_ok(prd_pg_query_text(c, "DISCARD ALL", 0, NULL, NULL));
    uint64_t before = prd_pg_pool_metric(pool, PRD_PG_M_PREPARES);
    assert_ok(prd_pg_query(c, "SELECT 1 AS one", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "1");
    prd_pg_result_free(r);
    assert_true(prd_pg_pool_metric(pool, PRD_PG_M_PREPARES) > before);
    /* eviction keeps at most 2 on the server */
    assert_ok(prd_pg_query(c, "SELECT 2", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT 3", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT 4", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM pg_prepared_statements", NULL, &r));
    assert_true(atoi(prd_pg_result_text(r, 0, 0, NULL)) <= 2);
    prd_pg_result_free(r);
    /* a plan invalidated by DDL that changes the result type */
    assert_ok(prd_pg_query(c, "CREATE TEMP TABLE shape (a int)", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT * FROM shape", NULL, NULL));
    assert_ok(prd_pg_query(c, "ALTER TABLE shape ADD COLUMN b int", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT * FROM shape", NULL, &r));
    assert_int_equal(prd_pg_result_cols(r), 2);
    prd_pg_result_free(r);
    prd_pg_pool_release(c);
    /* a new connection (after a reconnect: the check on acquire finds the
     * old one dead) prepares by itself */
    pgt_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'prd_test_pg' AND pid <> pg_backend_pid()");
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1 AS one", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);

    /* cache off: unnamed statements */
    cfg = pgt_config();
    assert_ok(prd_pg_config_set_statement_cache_size(cfg, 0));
    pool = pgt_pool(cfg);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM pg_prepared_statements", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "0");
    prd_pg_result_free(r);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* ---- pool limits ---- */

static void test_exhaustion_times_out(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 2));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 200));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *a, *b, *c;
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    assert_ok(prd_pg_acquire(pool, &b, NULL));
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    double t0 = now_ms();
    assert_status(prd_pg_acquire(pool, &c, err), PRD_ETIMEOUT);
    double waited = now_ms() - t0;
    assert_null(c);
    assert_true(waited >= 190);
    assert_non_null(strstr(prd_pg_error_message(err), "200 ms"));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_ACQUIRE_TIMEOUTS), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 2);
    prd_pg_pool_release(a);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_true(c == a); /* the warm connection comes back */
    prd_pg_pool_release(b);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);

    /* no queue at all: refused at once */
    assert_ok(prd_pg_config_set_max_waiters(cfg, 0));
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    pool = pgt_pool(cfg);
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    t0 = now_ms();
    assert_status(prd_pg_acquire(pool, &c, err), PRD_EBUSY);
    assert_true(now_ms() - t0 < 150);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_ACQUIRE_BUSY), 1);
    prd_pg_pool_release(a);
    prd_pg_pool_free(pool);
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
}

struct fifo_ctx {
    prd_pg_pool *pool;
    int id;
    pthread_mutex_t *lock;
    int *order, *n;
};

static void *fifo_waiter(void *arg)
{
    struct fifo_ctx *x = arg;
    prd_pg_conn *c;
    if (prd_pg_acquire(x->pool, &c, NULL) != PRD_OK)
        return (void *)1;
    pthread_mutex_lock(x->lock);
    x->order[(*x->n)++] = x->id;
    pthread_mutex_unlock(x->lock);
    prd_pg_pool_release(c);
    return NULL;
}

static void test_fifo_waiting(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *held;
    assert_ok(prd_pg_acquire(pool, &held, NULL));
    enum { N = 6 };
    pthread_t t[N];
    struct fifo_ctx x[N];
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int order[N], n = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (struct fifo_ctx){pool, i, &lock, order, &n};
        assert_int_equal(pthread_create(&t[i], NULL, fifo_waiter, &x[i]), 0);
        /* wait until it is queued, so arrival order is known */
        while (prd_pg_pool_metric(pool, PRD_PG_M_WAITING) < (uint64_t)i + 1)
            usleep(1000);
    }
    prd_pg_pool_release(held);
    for (int i = 0; i < N; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(order[i], i);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* ---- leaks, recycling, health checks (on an injected clock) ---- */

static void test_leak_reported_with_location(void **state)
{
    (void)state;
    struct pgt_log cap;
    prd_logger *lg = pgt_log_new(&cap);
    prd_clock *clk;
    assert_ok(prd_clock_manual_new(0, 1000000000, &clk));
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_logger(cfg, lg));
    assert_ok(prd_pg_config_set_clock(cfg, clk));
    assert_ok(prd_pg_config_set_leak_threshold_ms(cfg, 5000));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    int line = __LINE__ + 1;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_clock_manual_advance(clk, 4000000000LL));
    assert_ok(prd_pg_pool_maintain(pool));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_LEAKS), 0);
    assert_ok(prd_clock_manual_advance(clk, 2000000000LL));
    assert_ok(prd_pg_pool_maintain(pool));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_LEAKS), 1);
    char where[64];
    snprintf(where, sizeof where, "\"acquired_at_line\":%d", line);
    assert_true(pgt_log_has(&cap, "held past the leak threshold"));
    assert_true(pgt_log_has(&cap, "test_pg.c"));
    assert_true(pgt_log_has(&cap, where));
    /* reported once */
    assert_ok(prd_clock_manual_advance(clk, 60000000000LL));
    assert_ok(prd_pg_pool_maintain(pool));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_LEAKS), 1);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
    prd_clock_free(clk);
    pgt_log_free(lg, &cap);
}

static void test_idle_and_lifetime_recycling(void **state)
{
    (void)state;
    prd_clock *clk;
    assert_ok(prd_clock_manual_new(0, 1000000000, &clk));
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_clock(cfg, clk));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    assert_ok(prd_pg_config_set_min_size(cfg, 1));
    assert_ok(prd_pg_config_set_idle_timeout_ms(cfg, 10000));
    assert_ok(prd_pg_config_set_max_lifetime_ms(cfg, 60000, 10));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *a, *b, *c;
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    assert_ok(prd_pg_acquire(pool, &b, NULL));
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 3);
    prd_pg_pool_release(a);
    prd_pg_pool_release(b);
    prd_pg_pool_release(c);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IDLE), 3);
    /* idle past the timeout: closed down to min_size */
    assert_ok(prd_clock_manual_advance(clk, 11000000000LL));
    assert_ok(prd_pg_pool_maintain(pool));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_RECYCLED), 2);
    /* past the lifetime (minus at most 10% jitter): replaced */
    uint64_t connects = prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS);
    assert_ok(prd_clock_manual_advance(clk, 50000000000LL));
    assert_ok(prd_pg_pool_maintain(pool));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS), connects + 1);
    /* a connection out when its lifetime passes is closed on release */
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    assert_ok(prd_clock_manual_advance(clk, 61000000000LL));
    uint64_t recycled = prd_pg_pool_metric(pool, PRD_PG_M_RECYCLED);
    prd_pg_pool_release(a);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_RECYCLED), recycled + 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 0);
    assert_ok(prd_pg_pool_maintain(pool)); /* min_size refilled */
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 1);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
    prd_clock_free(clk);
}

static void test_health_check_replaces_dead_idle(void **state)
{
    (void)state;
    prd_clock *clk;
    assert_ok(prd_clock_manual_new(0, 1000000000, &clk));
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_clock(cfg, clk));
    assert_ok(prd_pg_config_set_health_check_after_ms(cfg, 1000));
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_health"));
    prd_pg_pool *pool = pgt_pool(cfg);
    pgt_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'prd_health'");
    assert_ok(prd_clock_manual_advance(clk, 2000000000LL));
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_BROKEN), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS), 2);
    /* a connection killed while out: the query fails, release drops it */
    pgt_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'prd_health'");
    assert_status(prd_pg_query(c, "SELECT 1", NULL, NULL), PRD_EDB);
    assert_false(prd_pg_conn_ok(c));
    prd_pg_pool_release(c);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 0);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
    prd_clock_free(clk);
}

/* ---- close ---- */

static void *release_later(void *arg)
{
    usleep(100000);
    prd_pg_pool_release(arg);
    return NULL;
}

static void test_close_drains(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *a, *b;
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    assert_ok(prd_pg_acquire(pool, &b, NULL));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_later, a), 0);
    prd_pg_pool_release(b);
    assert_ok(prd_pg_pool_close(pool, 5000));
    pthread_join(t, NULL);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_OPEN), 0);
    prd_pg_conn *c;
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));
    assert_status(prd_pg_acquire(pool, &c, err), PRD_ECLOSED);
    assert_status(prd_pg_pool_maintain(pool), PRD_ECLOSED);
    prd_pg_pool_free(pool);

    /* a connection still out when the drain time ends: ETIMEOUT, and the
     * late release (even after free) is safe */
    pool = pgt_pool(cfg);
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    assert_status(prd_pg_pool_close(pool, 50), PRD_ETIMEOUT);
    assert_ok(prd_pg_query(a, "SELECT 1", NULL, NULL)); /* still the caller's to finish */
    prd_pg_pool_free(pool);
    prd_pg_pool_release(a);
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
}

struct waiter_ctx {
    prd_pg_pool *pool;
    prd_status st;
};

static void *acquire_in_thread(void *arg)
{
    struct waiter_ctx *w = arg;
    prd_pg_conn *c;
    w->st = prd_pg_acquire(w->pool, &c, NULL);
    if (w->st == PRD_OK)
        prd_pg_pool_release(c);
    return NULL;
}

static void test_close_wakes_waiters(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 30000));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *a;
    assert_ok(prd_pg_acquire(pool, &a, NULL));
    struct waiter_ctx w = {pool, PRD_OK};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, acquire_in_thread, &w), 0);
    while (prd_pg_pool_metric(pool, PRD_PG_M_WAITING) < 1)
        usleep(1000);
    double t0 = now_ms();
    assert_status(prd_pg_pool_close(pool, 0), PRD_ETIMEOUT);
    pthread_join(t, NULL);
    assert_true(now_ms() - t0 < 5000);
    assert_int_equal(w.st, PRD_ECLOSED);
    prd_pg_pool_release(a);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* ---- transactions ---- */

struct tx_ctx {
    int attempts;
    int fail_times;
    const char *code;
    int inner_fail;
};

static prd_status tx_insert(prd_pg_conn *c, void *ud)
{
    struct tx_ctx *x = ud;
    x->attempts++;
    prd_pg_result *r;
    PRD_PG_TRY(prd_pg_query(c, "SELECT current_setting('transaction_isolation'), "
                               "current_setting('transaction_read_only')", NULL, &r));
    int serializable = !strcmp(prd_pg_result_text(r, 0, 0, NULL), "serializable");
    prd_pg_result_free(r);
    if (!serializable)
        return PRD_EINTERNAL;
    PRD_PG_TRY(prd_pg_query(c, "INSERT INTO txt (v) VALUES ('a')", NULL, NULL));
    if (x->attempts <= x->fail_times) {
        char sql[128];
        snprintf(sql, sizeof sql, "DO $$BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '%s'; END$$",
                 x->code);
        PRD_PG_TRY(prd_pg_query(c, sql, NULL, NULL));
    }
    return PRD_OK;
}

static prd_status tx_app_fails(prd_pg_conn *c, void *ud)
{
    (void)ud;
    PRD_PG_TRY(prd_pg_query(c, "INSERT INTO txt (v) VALUES ('never')", NULL, NULL));
    return PRD_ENOTFOUND; /* the application's own reason to abort */
}

static prd_status sp_inner(prd_pg_conn *c, void *ud)
{
    struct tx_ctx *x = ud;
    PRD_PG_TRY(prd_pg_query(c, "INSERT INTO txt (v) VALUES ('inner')", NULL, NULL));
    if (x->inner_fail)
        return prd_pg_query(c, "INSERT INTO txt (id, v) VALUES (1, 'dup')", NULL, NULL);
    return PRD_OK;
}

static prd_status tx_with_savepoint(prd_pg_conn *c, void *ud)
{
    PRD_PG_TRY(prd_pg_query(c, "INSERT INTO txt (v) VALUES ('outer')", NULL, NULL));
    prd_status st = prd_pg_savepoint_run(c, sp_inner, ud);
    if (st != PRD_OK && st != PRD_ECONFLICT)
        return st;
    return prd_pg_query(c, "INSERT INTO txt (v) VALUES ('after')", NULL, NULL);
}

static prd_status tx_read_deferrable(prd_pg_conn *c, void *ud)
{
    struct tx_ctx *x = ud;
    x->attempts++;
    prd_pg_result *r;
    PRD_PG_TRY(prd_pg_query(c, "SELECT current_setting('transaction_deferrable'), "
                               "current_setting('transaction_read_only')", NULL, &r));
    int ok = !strcmp(prd_pg_result_text(r, 0, 0, NULL), "on") &&
             !strcmp(prd_pg_result_text(r, 0, 1, NULL), "on");
    prd_pg_result_free(r);
    return ok ? PRD_OK : PRD_EINTERNAL;
}

static prd_status tx_nothing(prd_pg_conn *c, void *ud)
{
    (void)c;
    (void)ud;
    return PRD_OK;
}

static prd_status tx_ignores_error(prd_pg_conn *c, void *ud)
{
    (void)ud;
    /* the failed statement's status is dropped on purpose: the test is
     * that the transaction still sees the failure at commit */
    prd_status dropped = prd_pg_query(c, "SELECT * FROM no_such_table", NULL, NULL);
    (void)dropped;
    return PRD_OK;
}

static void test_transactions(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS txt; CREATE TABLE txt (id serial PRIMARY KEY, v text)");
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_tx_options *o;
    assert_ok(prd_pg_tx_options_new(&o));
    assert_ok(prd_pg_tx_options_set_isolation(o, PRD_PG_SERIALIZABLE));
    assert_status(prd_pg_tx_options_set_isolation(o, (prd_pg_isolation)7), PRD_EINVAL);
    assert_status(prd_pg_tx_options_set_max_attempts(o, 0), PRD_EINVAL);
    assert_ok(prd_pg_tx_options_set_backoff_ms(o, 1, 5));
    prd_pg_error *err;
    assert_ok(prd_pg_error_new(&err));

    /* commit */
    struct tx_ctx x = {0, 0, "40001", 0};
    assert_ok(prd_pg_tx_run(pool, o, tx_insert, &x, err));
    assert_int_equal(x.attempts, 1);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt"), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_COMMITS), 1);

    /* serialization failures and deadlocks rerun the whole function */
    x = (struct tx_ctx){0, 2, "40001", 0};
    assert_ok(prd_pg_tx_run(pool, o, tx_insert, &x, err));
    assert_int_equal(x.attempts, 3);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt"), 2); /* applied once */
    assert_int_equal(prd_pg_pool_retries_by_sqlstate(pool, "40001"), 2);
    x = (struct tx_ctx){0, 1, "40P01", 0};
    assert_ok(prd_pg_tx_run(pool, o, tx_insert, &x, err));
    assert_int_equal(x.attempts, 2);
    assert_int_equal(prd_pg_pool_retries_by_sqlstate(pool, "40P01"), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_RETRIES), 3);

    /* exhausted */
    assert_ok(prd_pg_tx_options_set_max_attempts(o, 3));
    x = (struct tx_ctx){0, 100, "40001", 0};
    assert_status(prd_pg_tx_run(pool, o, tx_insert, &x, err), PRD_ERETRY);
    assert_int_equal(x.attempts, 3);
    assert_int_equal(prd_pg_error_status(err), PRD_ERETRY);
    assert_string_equal(prd_pg_error_sqlstate(err), "40001");
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt"), 3);

    /* other errors are not retried */
    x = (struct tx_ctx){0, 100, "23505", 0};
    assert_status(prd_pg_tx_run(pool, o, tx_insert, &x, err), PRD_ECONFLICT);
    assert_int_equal(x.attempts, 1);
    assert_string_equal(prd_pg_error_sqlstate(err), "23505");

    /* the function's own failure rolls back and is returned as is */
    uint64_t rb = prd_pg_pool_metric(pool, PRD_PG_M_ROLLBACKS);
    assert_status(prd_pg_tx_run(pool, o, tx_app_fails, NULL, err), PRD_ENOTFOUND);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt WHERE v = 'never'"), 0);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_ROLLBACKS), rb + 1);

    /* a function that ignores a failed statement does not commit */
    assert_status(prd_pg_tx_run(pool, o, tx_ignores_error, NULL, err), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(err), "42P01");

    /* nothing sent, nothing to commit */
    assert_ok(prd_pg_tx_run(pool, NULL, tx_nothing, NULL, err));

    /* savepoints: the inner failure is undone, the rest commits */
    pgt_exec("TRUNCATE txt; INSERT INTO txt (id, v) VALUES (1, 'first')");
    x = (struct tx_ctx){0, 0, "", 1};
    assert_ok(prd_pg_tx_run(pool, o, tx_with_savepoint, &x, err));
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt WHERE v IN ('outer', 'after')"), 2);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt WHERE v = 'inner'"), 0);
    x.inner_fail = 0;
    assert_ok(prd_pg_tx_run(pool, o, tx_with_savepoint, &x, err));
    assert_int_equal(pgt_scalar("SELECT count(*) FROM txt WHERE v = 'inner'"), 1);

    /* a READ ONLY transaction that writes: the application's mistake, not
     * a demoted server: no retry, no failover */
    prd_pg_tx_options *ro;
    assert_ok(prd_pg_tx_options_new(&ro));
    assert_ok(prd_pg_tx_options_set_read_only(ro, 1));
    assert_status(prd_pg_tx_run(pool, ro, tx_app_fails, NULL, err), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(err), "25006");
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_FAILOVERS), 0);
    /* SERIALIZABLE READ ONLY DEFERRABLE: a safe snapshot, reads fine */
    assert_ok(prd_pg_tx_options_set_isolation(ro, PRD_PG_SERIALIZABLE));
    assert_ok(prd_pg_tx_options_set_deferrable(ro, 1));
    x = (struct tx_ctx){0, 0, "40001", 0};
    assert_ok(prd_pg_tx_run(pool, ro, tx_read_deferrable, &x, err));
    assert_int_equal(x.attempts, 1);
    assert_status(prd_pg_tx_options_set_read_only(NULL, 1), PRD_EINVAL);
    assert_status(prd_pg_tx_options_set_backoff_ms(ro, 10, 5), PRD_EINVAL);
    prd_pg_tx_options_free(ro);

    /* outside a transaction there is no savepoint */
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_status(prd_pg_savepoint_run(c, sp_inner, &x), PRD_EINVAL);
    prd_pg_pool_release(c);

    assert_status(prd_pg_tx_run(NULL, o, tx_nothing, NULL, err), PRD_EINVAL);
    assert_status(prd_pg_tx_run(pool, o, NULL, NULL, err), PRD_EINVAL);
    prd_pg_tx_options_free(o);
    prd_pg_error_free(err);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* Round trips of a transaction, counted in libpq's protocol trace: each
 * Sync or simple Query the client sends is one wait for the server. */
static FILE *trace_file;

static prd_status tx_traced(prd_pg_conn *c, void *ud)
{
    (void)ud;
    trace_file = tmpfile();
    PQtrace(c->pg, trace_file);
    return prd_pg_query(c, "SELECT 1", NULL, NULL);
}

static void test_begin_costs_no_round_trip(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_tx_options *o;
    assert_ok(prd_pg_tx_options_new(&o));
    assert_ok(prd_pg_tx_options_set_isolation(o, PRD_PG_REPEATABLE_READ));
    assert_ok(prd_pg_tx_run(pool, o, tx_traced, NULL, NULL));
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    PQuntrace(c->pg);
    prd_pg_pool_release(c);
    rewind(trace_file);
    char line[512];
    int waits = 0, begin = 0, commit = 0;
    while (fgets(line, sizeof line, trace_file)) {
        if (!strstr(line, "\tF\t")) /* client to server */
            continue;
        if (strstr(line, "\tSync") || strstr(line, "\tQuery\t"))
            waits++;
        if (strstr(line, "BEGIN ISOLATION LEVEL REPEATABLE READ"))
            begin++;
        if (strstr(line, "COMMIT"))
            commit++;
    }
    fclose(trace_file);
    /* BEGIN + Parse + Bind/Execute + Sync, then COMMIT: two waits */
    assert_int_equal(begin, 1);
    assert_int_equal(commit, 1);
    assert_int_equal(waits, 2);
    prd_pg_tx_options_free(o);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_release_rolls_back_open_transaction(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS rb; CREATE TABLE rb (v int)");
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 1));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "BEGIN", NULL, NULL));
    assert_ok(prd_pg_query(c, "INSERT INTO rb VALUES (1)", NULL, NULL));
    prd_pg_pool_release(c);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    prd_pg_result *r;
    assert_ok(prd_pg_query(c, "SELECT count(*), now() = statement_timestamp() FROM rb", NULL, &r));
    assert_string_equal(prd_pg_result_text(r, 0, 0, NULL), "0");
    prd_pg_result_free(r);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

/* ---- metrics ---- */

static void test_metrics_prometheus(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_status(prd_pg_config_set_name(cfg, "bad name"), PRD_EINVAL);
    assert_ok(prd_pg_config_set_name(cfg, "orders"));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 1);
    prd_pg_pool_release(c);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IDLE), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_ACQUIRED), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_QUERIES), 1);
    int64_t ub;
    uint64_t n;
    assert_ok(prd_pg_pool_histogram_bucket(pool, PRD_PG_H_QUERY, 16, &ub, &n));
    assert_true(ub == INT64_MAX);
    assert_int_equal(n, 1);
    assert_status(prd_pg_pool_histogram_bucket(pool, PRD_PG_H_QUERY, 17, &ub, &n), PRD_ENOTFOUND);
    assert_true(prd_pg_pool_histogram_sum_ns(pool, PRD_PG_H_QUERY) > 0);
    assert_string_equal(prd_pg_metric_name(PRD_PG_M_ACQUIRED), "acquired_total");
    assert_null(prd_pg_metric_name((prd_pg_metric)(PRD_PG_METRIC_MAX + 1)));
    size_t need = prd_pg_pool_prometheus(pool, NULL, NULL, 0);
    assert_true(need > 100);
    char *text = malloc(need + 1);
    assert_int_equal(prd_pg_pool_prometheus(pool, NULL, text, need + 1), need);
    assert_int_equal(strlen(text), need);
    assert_non_null(strstr(text, "# TYPE prodready_pg_acquired_total counter\n"
                                 "prodready_pg_acquired_total{pool=\"orders\"} 1\n"));
    assert_non_null(strstr(text, "prodready_pg_idle{pool=\"orders\"} 1\n"));
    assert_non_null(
        strstr(text, "prodready_pg_query_seconds_bucket{pool=\"orders\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "prodready_pg_query_seconds_count{pool=\"orders\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE prodready_pg_acquire_wait_seconds histogram"));
    /* Prometheus' own parser (python3-prometheus-client) reads all of it */
    char path[] = "/tmp/prd-prom-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, need), (ssize_t)need);
    close(fd);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '"
             "import sys\n"
             "from prometheus_client.parser import text_string_to_metric_families as p\n"
             "fams = list(p(open(sys.argv[1]).read()))\n"
             "by = {f.name: f for f in fams}\n"
             "assert len(fams) == %d, len(fams)\n"
             "assert all(f.documentation for f in fams)\n"
             "assert all(s.labels.get(\"pool\") == \"orders\" for f in fams for s in f.samples)\n"
             "a = by[\"prodready_pg_acquired\"]\n"
             "assert a.type == \"counter\" and a.samples[0].value == 1\n"
             "h = by[\"prodready_pg_query_seconds\"]\n"
             "assert h.type == \"histogram\"\n"
             "' %s",
             PRD_PG_METRIC_MAX + 1 + 1 + 2, path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
    /* cut short: still NUL-terminated, same length reported */
    char small[32];
    assert_int_equal(prd_pg_pool_prometheus(pool, "app_", small, sizeof small),
                     prd_pg_pool_prometheus(pool, "app_", NULL, 0));
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(prd_pg_pool_prometheus(pool, "bad prefix", text, need), 0);
    free(text);
    assert_int_equal(prd_pg_pool_metric(NULL, PRD_PG_M_ACQUIRED), 0);
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
}

static void test_slow_query_logged_without_values(void **state)
{
    (void)state;
    struct pgt_log cap;
    prd_logger *lg = pgt_log_new(&cap);
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_logger(cfg, lg));
    assert_ok(prd_pg_config_set_slow_query_ms(cfg, 50));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_conn *c;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    const char *v[] = {"hunter2-secret-value"};
    assert_ok(prd_pg_query_text(c, "SELECT pg_sleep(0.1), $1::text", 1, v, NULL));
    assert_ok(prd_pg_query_text(c, "SELECT $1::text", 1, v, NULL));
    prd_pg_pool_release(c);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_SLOW_QUERIES), 1);
    assert_true(pgt_log_has(&cap, "pg slow query"));
    assert_true(pgt_log_has(&cap, "SELECT pg_sleep(0.1), $1::text"));
    assert_true(pgt_log_has(&cap, "\"duration_ms\":"));
    assert_false(pgt_log_has(&cap, "hunter2"));
    prd_pg_pool_free(pool);
    prd_pg_config_free(cfg);
    pgt_log_free(lg, &cap);
}

/* ---- out of memory ---- */

static void test_out_of_memory(void **state)
{
    (void)state;
    /* every allocation of config, pool and params fails in turn */
    for (long n = 1; n < 200; n++) {
        prd_pg_config *cfg = NULL;
        prd__alloc_fail_after(n);
        prd_status st = prd_pg_config_new(pgt_conninfo(), &cfg);
        prd_pg_pool *pool = NULL;
        if (st == PRD_OK)
            st = prd_pg_pool_new(cfg, &pool, NULL);
        prd_pg_params *p = NULL;
        if (st == PRD_OK)
            st = prd_pg_params_new(&p);
        for (int i = 0; st == PRD_OK && i < 40; i++)
            st = prd_pg_params_add_text(p, "value");
        prd__alloc_fail_after(0);
        if (st != PRD_OK)
            assert_int_equal(st, PRD_ENOMEM);
        if (p)
            assert_true(prd_pg_params_count(p) <= 40);
        prd_pg_params_free(p);
        prd_pg_pool_free(pool);
        prd_pg_config_free(cfg);
        if (st == PRD_OK)
            break;
    }
    assert_true(prd__alloc_failures() > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_settings),
        cmocka_unit_test(test_config_conninfo_never_echoed),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_query_types_and_nulls),
        cmocka_unit_test(test_hostile_parameter_stored_verbatim),
        cmocka_unit_test(test_errors_mapped),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_exhaustion_times_out),
        cmocka_unit_test(test_fifo_waiting),
        cmocka_unit_test(test_leak_reported_with_location),
        cmocka_unit_test(test_idle_and_lifetime_recycling),
        cmocka_unit_test(test_health_check_replaces_dead_idle),
        cmocka_unit_test(test_close_drains),
        cmocka_unit_test(test_close_wakes_waiters),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_begin_costs_no_round_trip),
        cmocka_unit_test(test_release_rolls_back_open_transaction),
        cmocka_unit_test(test_metrics_prometheus),
        cmocka_unit_test(test_slow_query_logged_without_values),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
