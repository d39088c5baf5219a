/* pg: the protocol features services use, against the real server: COPY
 * in and out of 10^6 rows in bounded memory, row streaming, binary
 * results, LISTEN/NOTIFY across a reconnect. */
#include "support/testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "prodready/pg.h"
#include "pg/pgtest.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_MEANINGFUL 0 /* the sanitizers' shadow memory swamps it */
#else
#define RSS_MEANINGFUL 1
#endif

#define MILLION 1000000

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static prd_pg_pool *pool_default(void)
{
    prd_pg_config *cfg = pgt_config();
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    return pool;
}

struct tally {
    uint64_t n, bytes, sum;
    uint64_t stop_after;
};

static prd_status count_copy(void *ud, const char *data, size_t len)
{
    struct tally *t = ud;
    t->n++;
    t->bytes += len;
    t->sum += strtoull(data, NULL, 10);
    assert_true(len > 0 && data[len - 1] == '\n');
    return t->stop_after && t->n >= t->stop_after ? PRD_ECLOSED : PRD_OK;
}

static prd_status count_row(void *ud, const prd_pg_result *row)
{
    struct tally *t = ud;
    int64_t v;
    assert_int_equal(prd_pg_result_rows(row), 1);
    assert_ok(prd_pg_result_int64(row, 0, 0, &v));
    t->n++;
    t->sum += (uint64_t)v;
    return t->stop_after && t->n >= t->stop_after ? PRD_ECLOSED : PRD_OK;
}

static void test_copy_a_million_rows_in_bounded_memory(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS prd_copy");
    pgt_exec("CREATE TABLE prd_copy (id int, name text)");
    prd_pg_pool *pool = pool_default();
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    long rss0 = peak_rss_kb();
    assert_ok(prd_pg_copy_in_start(c, "COPY prd_copy (id, name) FROM STDIN"));
    assert_int_equal(prd_pg_query(c, "SELECT 1", NULL, NULL), PRD_EINVAL); /* COPY in progress */
    assert_int_equal(prd_pg_copy_in_start(c, "COPY prd_copy FROM STDIN"), PRD_EINVAL);
    assert_int_equal(prd_pg_query_each(c, "SELECT 1", NULL, count_row, NULL, NULL), PRD_EINVAL);
    char buf[65536];
    size_t len = 0;
    for (int i = 0; i < MILLION; i++) {
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d\tname-%d\n", i, i);
        if (len > sizeof buf - 64) {
            /* split anywhere, even inside a row */
            assert_ok(prd_pg_copy_in_put(c, buf, len / 2));
            assert_ok(prd_pg_copy_in_put(c, buf + len / 2, len - len / 2));
            len = 0;
        }
    }
    assert_ok(prd_pg_copy_in_put(c, buf, len));
    uint64_t rows = 0;
    assert_ok(prd_pg_copy_in_end(c, NULL, &rows));
    assert_int_equal(rows, MILLION);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_copy"), MILLION);
    assert_int_equal(pgt_scalar("SELECT sum(id) FROM prd_copy"), (long)MILLION * (MILLION - 1) / 2);

    /* out again, a row at a time */
    struct tally t = {0, 0, 0, 0};
    assert_ok(prd_pg_copy_out(c, "COPY prd_copy TO STDOUT", count_copy, &t, &rows));
    assert_int_equal(rows, MILLION);
    assert_int_equal(t.n, MILLION);
    assert_int_equal(t.sum, (uint64_t)MILLION * (MILLION - 1) / 2);
    /* the connection goes on */
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    long grown = peak_rss_kb() - rss0;
    print_message("COPY of 10^6 rows in and out: peak RSS grew %ld KB\n", grown);
    if (RSS_MEANINGFUL)
        assert_true(grown < 16 * 1024);

    /* stopping midway drops the connection, not the pool */
    struct tally stop = {0, 0, 0, 10};
    assert_int_equal(prd_pg_copy_out(c, "COPY prd_copy TO STDOUT", count_copy, &stop, NULL),
                     PRD_ECLOSED);
    assert_int_equal(stop.n, 10);
    assert_false(prd_pg_conn_ok(c));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE prd_copy");
}

static void test_copy_errors(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS prd_copy_e");
    pgt_exec("CREATE TABLE prd_copy_e (id int)");
    prd_pg_pool *pool = pool_default();
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_int_equal(prd_pg_copy_in_start(c, "SELECT 1"), PRD_EINVAL);
    assert_int_equal(prd_pg_copy_in_start(c, "COPY prd_copy_e TO STDOUT"), PRD_EINVAL);
    assert_int_equal(prd_pg_copy_out(c, "COPY prd_copy_e FROM STDIN", count_copy, NULL, NULL),
                     PRD_EINVAL);
    assert_true(prd_pg_conn_ok(c)); /* both ended cleanly */
    assert_int_equal(prd_pg_copy_in_put(c, "1\n", 2), PRD_EINVAL); /* not started */
    assert_int_equal(prd_pg_copy_in_start(c, "COPY nonexistent FROM STDIN"), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(prd_pg_conn_error(c)), "42P01");
    /* bad data: the server's error at the end, nothing stored */
    assert_ok(prd_pg_copy_in_start(c, "COPY prd_copy_e FROM STDIN"));
    assert_ok(prd_pg_copy_in_put(c, "1\nnot a number\n", 15));
    assert_int_equal(prd_pg_copy_in_end(c, NULL, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(prd_pg_conn_error(c)), "22P02");
    /* an abort on purpose */
    assert_ok(prd_pg_copy_in_start(c, "COPY prd_copy_e FROM STDIN"));
    assert_ok(prd_pg_copy_in_put(c, "1\n2\n", 4));
    uint64_t rows = 99;
    assert_ok(prd_pg_copy_in_end(c, "changed my mind", &rows));
    assert_int_equal(rows, 0);
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_copy_e"), 0);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE prd_copy_e");
}

static prd_status copy_in_tx(prd_pg_conn *c, void *ud)
{
    (void)ud;
    PRD_PG_TRY(prd_pg_copy_in_start(c, "COPY prd_copy_tx FROM STDIN"));
    PRD_PG_TRY(prd_pg_copy_in_put(c, "7\n8\n", 4));
    return prd_pg_copy_in_end(c, NULL, NULL);
}

static void test_copy_inside_a_transaction(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS prd_copy_tx");
    pgt_exec("CREATE TABLE prd_copy_tx (id int)");
    prd_pg_pool *pool = pool_default();
    assert_ok(prd_pg_tx_run(pool, NULL, copy_in_tx, NULL, NULL));
    assert_int_equal(pgt_scalar("SELECT sum(id) FROM prd_copy_tx"), 15);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE prd_copy_tx");
}

static void test_rows_streamed_one_at_a_time(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_default();
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    long rss0 = peak_rss_kb();
    struct tally t = {0, 0, 0, 0};
    uint64_t rows = 0;
    prd_pg_params *p = NULL;
    assert_ok(prd_pg_params_new(&p));
    assert_ok(prd_pg_params_add_int64(p, MILLION));
    assert_ok(prd_pg_query_each(c, "SELECT g, repeat('x', 100) FROM generate_series(1, $1) g", p,
                                count_row, &t, &rows));
    assert_int_equal(rows, MILLION);
    assert_int_equal(t.sum, (uint64_t)MILLION * (MILLION + 1) / 2);
    long grown = peak_rss_kb() - rss0;
    print_message("10^6 rows of 100 bytes streamed: peak RSS grew %ld KB\n", grown);
    if (RSS_MEANINGFUL)
        assert_true(grown < 16 * 1024);
    /* binary rows too */
    assert_ok(prd_pg_params_set_binary_results(p, 1));
    struct tally b = {0, 0, 0, 0};
    assert_ok(prd_pg_query_each(c, "SELECT g FROM generate_series(1, $1) g", p, count_row, &b,
                                NULL));
    assert_int_equal(b.sum, t.sum);
    /* errors come back as statuses */
    assert_int_equal(prd_pg_query_each(c, "SELECT 1/0", NULL, count_row, &b, NULL), PRD_EDB);
    assert_string_equal(prd_pg_error_sqlstate(prd_pg_conn_error(c)), "22012");
    /* stopping early */
    struct tally stop = {0, 0, 0, 5};
    assert_int_equal(prd_pg_query_each(c, "SELECT g FROM generate_series(1, 1000000) g", NULL,
                                       count_row, &stop, &rows),
                     PRD_ECLOSED);
    assert_int_equal(rows, 5);
    assert_false(prd_pg_conn_ok(c));
    prd_pg_params_free(p);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
}

static void check_types(const prd_pg_result *r)
{
    int64_t i;
    double d;
    int b;
    assert_ok(prd_pg_result_int64(r, 0, 0, &i));
    assert_int_equal(i, -2);
    assert_ok(prd_pg_result_int64(r, 0, 1, &i));
    assert_int_equal(i, -70000);
    assert_ok(prd_pg_result_int64(r, 0, 2, &i));
    assert_true(i == INT64_C(-9000000000000000000));
    assert_ok(prd_pg_result_double(r, 0, 3, &d));
    assert_true(d == 1.5);
    assert_ok(prd_pg_result_double(r, 0, 4, &d));
    assert_true(d == -2.25);
    assert_ok(prd_pg_result_bool(r, 0, 5, &b));
    assert_int_equal(b, 1);
    unsigned char bytes[8];
    size_t n;
    assert_ok(prd_pg_result_bytea(r, 0, 6, bytes, sizeof bytes, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(bytes, "\xde\xad\xbe\xef", 4);
    uint8_t u[PRD_PG_UUID_SIZE];
    assert_ok(prd_pg_result_uuid(r, 0, 7, u));
    assert_memory_equal(u, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78\x9a\xbc\xde\xf0", 16);
    int64_t us;
    assert_ok(prd_pg_result_timestamp_us(r, 0, 8, &us));
    assert_true(us == INT64_C(1764583200123456)); /* 2025-12-01T10:00:00.123456Z */
    assert_ok(prd_pg_result_timestamp_us(r, 0, 9, &us));
    assert_true(us == INT64_C(1764583200123456));
    assert_int_equal(prd_pg_result_timestamp_us(r, 0, 10, &us), PRD_EINVAL); /* infinity */
    assert_int_equal(prd_pg_result_timestamp_us(r, 0, 0, &us), PRD_EINVAL);  /* an int2 */
    assert_int_equal(prd_pg_result_uuid(r, 0, 0, u), PRD_EINVAL);
    assert_int_equal(prd_pg_result_int64(r, 0, 11, &i), PRD_ENOTFOUND);      /* NULL */
}

static void test_binary_and_text_results(void **state)
{
    (void)state;
    prd_pg_pool *pool = pool_default();
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SET TimeZone = 'Asia/Kolkata'", NULL, NULL)); /* +05:30 in text */
    const char *sql = "SELECT (-2)::int2, (-70000)::int4, (-9000000000000000000)::int8, "
                      "1.5::float8, (-2.25)::float4, true, '\\xdeadbeef'::bytea, "
                      "'12345678-9abc-def0-1234-56789abcdef0'::uuid, "
                      "'2025-12-01 10:00:00.123456+00'::timestamptz, "
                      "'2025-12-01 10:00:00.123456'::timestamp, 'infinity'::timestamptz, "
                      "NULL::int8";
    prd_pg_result *r = NULL;
    assert_ok(prd_pg_query(c, sql, NULL, &r));
    check_types(r);
    prd_pg_result_free(r);
    prd_pg_params *p = NULL;
    assert_ok(prd_pg_params_new(&p));
    assert_int_equal(prd_pg_params_set_binary_results(NULL, 1), PRD_EINVAL);
    assert_ok(prd_pg_params_set_binary_results(p, 1));
    assert_ok(prd_pg_query(c, sql, p, &r));
    check_types(r);
    prd_pg_result_free(r);
    prd_pg_params_free(p);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
}

/* ---- LISTEN/NOTIFY ---- */

struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int n, reconnects;
    char last_channel[64], last_payload[64];
};

static void on_notify(void *ud, const char *channel, const char *payload, int pid)
{
    struct inbox *in = ud;
    pthread_mutex_lock(&in->mu);
    if (!channel) {
        in->reconnects++;
    } else {
        in->n++;
        assert_true(pid > 0);
        snprintf(in->last_channel, sizeof in->last_channel, "%s", channel);
        snprintf(in->last_payload, sizeof in->last_payload, "%s", payload);
    }
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->mu);
}

static int wait_for(struct inbox *in, int *field, int want)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&in->mu);
    while (*field < want)
        if (pthread_cond_timedwait(&in->cond, &in->mu, &ts) != 0)
            break;
    int ok = *field >= want;
    pthread_mutex_unlock(&in->mu);
    return ok;
}

static void notify(prd_pg_pool *pool, const char *ch, const char *payload)
{
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_notify(c, ch, payload));
    prd_pg_pool_release(c);
}

static void test_listen_notify_across_a_reconnect(void **state)
{
    (void)state;
    struct inbox in = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, "", ""};
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_listener"));
    prd_pg_listener *l = NULL;
    assert_int_equal(prd_pg_listener_new(cfg, NULL, &in, &l, NULL), PRD_EINVAL);
    assert_ok(prd_pg_listener_new(cfg, on_notify, &in, &l, NULL));
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_notifier"));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    assert_int_equal(prd_pg_listener_listen(l, ""), PRD_EINVAL);
    char too_long[80];
    memset(too_long, 'c', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_int_equal(prd_pg_listener_listen(l, too_long), PRD_EINVAL);
    assert_int_equal(prd_pg_listener_listen(NULL, "x"), PRD_EINVAL);
    {
        prd_pg_conn *nc = NULL;
        assert_ok(prd_pg_acquire(pool, &nc, NULL));
        assert_int_equal(prd_pg_notify(nc, "", "x"), PRD_EINVAL);
        assert_int_equal(prd_pg_notify(nc, "ch", NULL), PRD_EINVAL);
        assert_int_equal(prd_pg_notify(NULL, "ch", "x"), PRD_EINVAL);
        prd_pg_pool_release(nc);
    }
    assert_ok(prd_pg_listener_listen(l, "Orders \"new\""));
    assert_ok(prd_pg_listener_listen(l, "other"));
    notify(pool, "Orders \"new\"", "id=1");
    assert_true(wait_for(&in, &in.n, 1));
    assert_string_equal(in.last_channel, "Orders \"new\"");
    assert_string_equal(in.last_payload, "id=1");

    /* the listener's session is killed: it reconnects, says so, listens again */
    pgt_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'prd_listener'");
    assert_true(wait_for(&in, &in.reconnects, 1));
    notify(pool, "other", "after");
    assert_true(wait_for(&in, &in.n, 2));
    assert_string_equal(in.last_channel, "other");
    assert_string_equal(in.last_payload, "after");

    assert_ok(prd_pg_listener_unlisten(l, "other"));
    notify(pool, "other", "unheard");
    notify(pool, "Orders \"new\"", "heard");
    assert_true(wait_for(&in, &in.n, 3));
    assert_string_equal(in.last_payload, "heard");
    prd_pg_listener_free(l);
    prd_pg_listener_free(NULL);
    prd_pg_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_a_million_rows_in_bounded_memory),
        cmocka_unit_test(test_copy_errors),
        cmocka_unit_test(test_copy_inside_a_transaction),
        cmocka_unit_test(test_rows_streamed_one_at_a_time),
        cmocka_unit_test(test_binary_and_text_results),
        cmocka_unit_test(test_listen_notify_across_a_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
