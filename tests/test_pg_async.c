/* pg from an event loop (prd_pg_async_*): a plain epoll loop drives the
 * driver against the real server, directly and through the fault proxy.
 * What must hold: the loop never blocks (every process call is short),
 * every request ends by its deadline with its callback run exactly once,
 * 1,000 concurrent queries share 8 connections, a failing query in a
 * pipeline fails no other, connections go back to the pool, and the
 * driver refuses to work in a forked child. */
#include "support/testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg/faultproxy.h"
#include "pg/pgtest.h"

/* How far past its deadline a request may end, and how long one process
 * call may take (it never waits: anything longer is blocking). Under
 * valgrind everything runs some 20 times slower, so the bounds widen;
 * the checks stay. */
static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload");
}
#define SLACK_MS (under_valgrind() ? 1000 : 50)
/* A process call must never wait on the network: a call that blocked on
 * a black-holed connect or a frozen link would last the whole deadline
 * (300 ms and more). Under ASan and TSan a call that does not block still
 * took over 20 ms once on this 2-core VM (CI, test_black_hole_connect), so
 * sanitized builds get 100 ms, which still tells the two apart. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif
#define PROCESS_MAX_MS (under_valgrind() ? 400 : SANITIZED ? 100 : 20)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the loop ---- */

static int64_t longest_process_ms;

/* Run the loop until *done reaches want or max_ms passes; the epoll
 * descriptor is the caller's, as a server's would be. */
static void loop_until(prd_pg_async *a, const int *done, int want, int max_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    struct epoll_event e = {.events = EPOLLIN};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, prd_pg_async_fd(a), &e), 0);
    int64_t end = now_ms() + max_ms;
    while (*done < want && now_ms() < end) {
        int t = prd_pg_async_timeout_ms(a);
        int left = (int)(end - now_ms());
        if (t < 0 || t > left)
            t = left > 0 ? left : 0;
        struct epoll_event ev;
        epoll_wait(ep, &ev, 1, t);
        int64_t t0 = now_ms();
        assert_ok(prd_pg_async_process(a));
        int64_t took = now_ms() - t0;
        if (took > longest_process_ms)
            longest_process_ms = took;
    }
    close(ep);
}

/* ---- callbacks ---- */

struct outcome {
    int done;           /* callbacks run */
    int in_submit;      /* set around submits: a callback must never see it */
    int ran_in_submit;
    prd_status st;
    int64_t value;
    char sqlstate[6];
    int64_t at_ms;
    int calls;
};

static void on_value(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    struct outcome *o = ud;
    o->calls++;
    o->st = st;
    o->at_ms = now_ms();
    if (o->in_submit)
        o->ran_in_submit = 1;
    if (st == PRD_OK) {
        assert_non_null(res);
        assert_null(err);
        if (prd_pg_result_rows(res) > 0 && !prd_pg_result_is_null(res, 0, 0))
            assert_ok(prd_pg_result_int64(res, 0, 0, &o->value));
    } else {
        assert_null(res);
        assert_non_null(err);
        assert_int_equal(prd_pg_error_status(err), st);
        snprintf(o->sqlstate, sizeof o->sqlstate, "%s", prd_pg_error_sqlstate(err));
    }
    prd_pg_result_free(res);
    o->done++;
}

static prd_pg_params *int_param(int64_t v)
{
    prd_pg_params *p = NULL;
    assert_ok(prd_pg_params_new(&p));
    assert_ok(prd_pg_params_add_int64(p, v));
    return p;
}

/* stmt_cache 0: the default; housekeeping 0: no maintenance thread. */
static prd_pg_pool *configured_pool(uint32_t max_size, uint32_t stmt_cache, int housekeeping)
{
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, max_size));
    if (stmt_cache)
        assert_ok(prd_pg_config_set_statement_cache_size(cfg, stmt_cache));
    if (!housekeeping)
        assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    return pool;
}

static prd_pg_pool *make_pool(uint32_t max_size)
{
    return configured_pool(max_size, 0, 1);
}

/* ---- basics ---- */

static void test_query_roundtrip(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(4);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 2, &a));
    assert_true(prd_pg_async_fd(a) >= 0);
    assert_int_equal(prd_pg_async_timeout_ms(a), -1); /* nothing timed yet */
    struct outcome o = {0};
    prd_pg_params *p = int_param(41);
    o.in_submit = 1;
    assert_ok(prd_pg_async_query(a, "SELECT $1::int8 + 1", p, 0, on_value, &o));
    o.in_submit = 0;
    prd_pg_params_free(p); /* copied at submit */
    assert_int_equal(prd_pg_async_pending(a), 1);
    assert_int_equal(o.done, 0);
    loop_until(a, &o.done, 1, 5000);
    assert_int_equal(o.calls, 1);
    assert_false(o.ran_in_submit);
    assert_int_equal(o.st, PRD_OK);
    assert_int_equal(o.value, 42);
    assert_int_equal(prd_pg_async_pending(a), 0);
    /* idle again: the connection went back to the pool */
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

static void test_refusals(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(4);
    prd_pg_async *a = NULL;
    assert_int_equal(prd_pg_async_new(NULL, 1, &a), PRD_EINVAL);
    assert_int_equal(prd_pg_async_new(pool, 0, &a), PRD_EINVAL);
    assert_int_equal(prd_pg_async_new(pool, 5, &a), PRD_EINVAL); /* above max_size */
    assert_null(a);
    assert_ok(prd_pg_async_new(pool, 1, &a));
    assert_int_equal(prd_pg_async_set_pipeline_depth(a, 0), PRD_EINVAL);
    assert_int_equal(prd_pg_async_set_pipeline_depth(a, PRD_PG_ASYNC_DEPTH_MAX + 1), PRD_EINVAL);
    assert_int_equal(prd_pg_async_set_max_queued(a, 0), PRD_EINVAL);
    struct outcome o = {0};
    assert_int_equal(prd_pg_async_query(a, NULL, NULL, 0, on_value, &o), PRD_EINVAL);
    assert_int_equal(prd_pg_async_query(a, "SELECT 1", NULL, 0, NULL, &o), PRD_EINVAL);
    assert_int_equal(prd_pg_async_acquire(a, 0, NULL, NULL), PRD_EINVAL);
    assert_int_equal(prd_pg_async_query(a, "SELECT 1", NULL, 3600001, on_value, &o), PRD_EINVAL);
    size_t big = (size_t)PRD_PG_SQL_MAX + 10;
    char *sql = malloc(big + 1);
    assert_non_null(sql);
    memset(sql, ' ', big);
    sql[big] = '\0';
    assert_int_equal(prd_pg_async_query(a, sql, NULL, 0, on_value, &o), PRD_ETOOBIG);
    free(sql);
    /* a connection that is not the driver's */
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_int_equal(prd_pg_async_conn_query(a, c, "SELECT 1", NULL, 0, on_value, &o),
                     PRD_EINVAL);
    assert_int_equal(prd_pg_async_release(a, c), PRD_EINVAL);
    prd_pg_pool_release(c);
    /* the queue's bound */
    assert_ok(prd_pg_async_set_max_queued(a, 3));
    for (int i = 0; i < 3; i++)
        assert_ok(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o));
    assert_int_equal(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o), PRD_EBUSY);
    loop_until(a, &o.done, 3, 5000);
    assert_int_equal(o.done, 3);
    assert_ok(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o)); /* room again */
    loop_until(a, &o.done, 4, 5000);
    assert_int_equal(o.calls, 4);
    assert_int_equal(o.done, 4);
    assert_int_equal(prd_pg_async_process(NULL), PRD_EINVAL);
    assert_int_equal(prd_pg_async_fd(NULL), -1);
    prd_pg_async_free(a);
    prd_pg_async_free(NULL);
    prd_pg_pool_free(pool);
}

/* ---- 1,000 at once on 8 connections ---- */

struct many {
    int done, ok;
    int64_t want[1000], got[1000];
    int pids[64];
    int n_pids, bad_pid;
};

struct one_of_many {
    struct many *m;
    int i;
};

static void on_many(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    (void)err;
    struct one_of_many *x = ud;
    struct many *m = x->m;
    if (st == PRD_OK) {
        int64_t v = -1, pid = 0;
        if (prd_pg_result_int64(res, 0, 0, &v) == PRD_OK &&
            prd_pg_result_int64(res, 0, 1, &pid) == PRD_OK) {
            m->got[x->i] = v;
            int seen = 0;
            for (int k = 0; k < m->n_pids; k++)
                seen |= m->pids[k] == (int)pid;
            if (!seen) {
                if (m->n_pids < 64)
                    m->pids[m->n_pids++] = (int)pid;
                else
                    m->bad_pid = 1;
            }
            m->ok++;
        }
    }
    prd_pg_result_free(res);
    m->done++;
}

static void run_many(uint32_t depth)
{
    prd_pg_pool *pool = make_pool(16);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 8, &a));
    assert_ok(prd_pg_async_set_pipeline_depth(a, depth));
    static struct many m;
    static struct one_of_many xs[1000];
    memset(&m, 0, sizeof m);
    prd_pg_params *p = NULL;
    assert_ok(prd_pg_params_new(&p));
    for (int i = 0; i < 1000; i++) {
        m.want[i] = (int64_t)i * 7919 + 3;
        m.got[i] = -1;
        xs[i] = (struct one_of_many){&m, i};
        prd_pg_params_reset(p);
        assert_ok(prd_pg_params_add_int64(p, m.want[i]));
        assert_ok(prd_pg_async_query(a, "SELECT $1::int8, pg_backend_pid()", p, 20000, on_many,
                                     &xs[i]));
    }
    prd_pg_params_free(p);
    assert_int_equal(prd_pg_async_pending(a), 1000);
    longest_process_ms = 0;
    loop_until(a, &m.done, 1000, 30000);
    assert_int_equal(m.done, 1000);
    assert_int_equal(m.ok, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(m.got[i], m.want[i]);
    assert_false(m.bad_pid);
    assert_true(m.n_pids >= 1);
    assert_true(m.n_pids <= 8); /* never more sessions than the driver may use */
    assert_true(prd_pg_pool_metric(pool, PRD_PG_M_OPEN) <= 8);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    /* a busy call runs many callbacks: five times the idle bound, which
     * stays what it was (100 ms) in sanitized builds */
    if (longest_process_ms > (SANITIZED ? 100 : PROCESS_MAX_MS * 5))
        fail_msg("a process call took %lld ms", (long long)longest_process_ms);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

static void test_thousand_on_eight(void **state)
{
    (void)state;
    run_many(1);
}

static void test_thousand_on_eight_pipelined(void **state)
{
    (void)state;
    run_many(8);
}

/* ---- failures stay with their query ---- */

static void test_pipeline_failure_isolated(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(2);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    assert_ok(prd_pg_async_set_pipeline_depth(a, 16));
    struct outcome o[12];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 12; i++) {
        prd_pg_params *p = int_param(i % 4 == 2 ? 0 : i + 1); /* every fourth divides by zero */
        assert_ok(prd_pg_async_query(a, "SELECT 100 / $1::int8", p, 0, on_value, &o[i]));
        prd_pg_params_free(p);
    }
    int done = 0;
    int64_t end = now_ms() + 5000;
    while (done < 12 && now_ms() < end) {
        loop_until(a, &o[11].done, 1, 100);
        done = 0;
        for (int i = 0; i < 12; i++)
            done += o[i].done;
    }
    for (int i = 0; i < 12; i++) {
        assert_int_equal(o[i].calls, 1);
        if (i % 4 == 2) {
            assert_int_equal(o[i].st, PRD_EDB);
            assert_string_equal(o[i].sqlstate, "22012");
        } else {
            assert_int_equal(o[i].st, PRD_OK);
            assert_int_equal(o[i].value, 100 / (i + 1));
        }
    }
    /* a bad statement (its Parse fails) is not cached: the next good one runs */
    struct outcome bad = {0}, good = {0};
    assert_ok(prd_pg_async_query(a, "SELEC 1", NULL, 0, on_value, &bad));
    assert_ok(prd_pg_async_query(a, "SELECT 5::int8", NULL, 0, on_value, &good));
    loop_until(a, &good.done, 1, 5000);
    loop_until(a, &bad.done, 1, 5000);
    assert_int_equal(bad.st, PRD_EDB);
    assert_string_equal(bad.sqlstate, "42601");
    assert_int_equal(good.st, PRD_OK);
    assert_int_equal(good.value, 5);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

/* The server forgets the prepared statements (DEALLOCATE ALL): the next
 * use prepares again by itself. A small cache evicts with a DEALLOCATE in
 * the pipeline. */
static void test_statement_cache(void **state)
{
    (void)state;
    prd_pg_pool *pool = configured_pool(1, 2, 1);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    assert_ok(prd_pg_async_set_pipeline_depth(a, 4));
    const char *sqls[] = {"SELECT 1::int8", "SELECT 2::int8", "SELECT 3::int8", "SELECT 4::int8",
                          "SELECT 5::int8"};
    struct outcome o[20];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 20; i++)
        assert_ok(prd_pg_async_query(a, sqls[i % 5], NULL, 0, on_value, &o[i]));
    loop_until(a, &o[19].done, 1, 5000);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(o[i].st, PRD_OK);
        assert_int_equal(o[i].value, i % 5 + 1);
    }
    /* at most two statements stay prepared on the server */
    struct outcome n = {0};
    assert_ok(prd_pg_async_query(a, "SELECT count(*) FROM pg_prepared_statements", NULL, 0,
                                 on_value, &n));
    loop_until(a, &n.done, 1, 5000);
    assert_int_equal(n.st, PRD_OK);
    assert_true(n.value <= 2);
    struct outcome d = {0}, again = {0};
    assert_ok(prd_pg_async_query(a, "DEALLOCATE ALL", NULL, 0, on_value, &d));
    loop_until(a, &d.done, 1, 5000);
    assert_int_equal(d.st, PRD_OK);
    assert_ok(prd_pg_async_query(a, "SELECT 5::int8", NULL, 0, on_value, &again));
    loop_until(a, &again.done, 1, 5000);
    assert_int_equal(again.st, PRD_OK);
    assert_int_equal(again.value, 5);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

/* ---- deadlines ---- */

static void test_query_deadline(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(2);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    assert_ok(prd_pg_async_set_pipeline_depth(a, 2));
    struct outcome slow = {0}, behind = {0}, queued = {0};
    int64_t t0 = now_ms();
    assert_ok(prd_pg_async_query(a, "SELECT pg_sleep(3)", NULL, 300, on_value, &slow));
    assert_ok(prd_pg_async_query(a, "SELECT 7::int8", NULL, 0, on_value, &behind));
    /* the third waits for a place (depth 2) and has its own deadline */
    assert_ok(prd_pg_async_query(a, "SELECT 8::int8", NULL, 1500, on_value, &queued));
    assert_int_equal(prd_pg_async_timeout_ms(a) <= 300, 1);
    longest_process_ms = 0;
    loop_until(a, &slow.done, 1, 5000);
    assert_int_equal(slow.st, PRD_ETIMEOUT);
    int64_t took = slow.at_ms - t0;
    if (took < 295 || took > 300 + SLACK_MS)
        fail_msg("took %lld ms for a 300 ms deadline", (long long)took);
    loop_until(a, &behind.done, 1, 1000);
    assert_int_equal(behind.st, PRD_EDB); /* went down with the connection */
    loop_until(a, &queued.done, 1, 3000);
    assert_int_equal(queued.st, PRD_OK); /* on a new connection */
    assert_int_equal(queued.value, 8);
    assert_true(longest_process_ms < PROCESS_MAX_MS);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_QUERY_TIMEOUTS), 1);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

static void test_wait_deadline(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(1);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    /* a thread holds the pool's only connection */
    prd_pg_conn *held = NULL;
    assert_ok(prd_pg_acquire(pool, &held, NULL));
    struct outcome w = {0};
    int64_t t0 = now_ms();
    assert_ok(prd_pg_async_query(a, "SELECT 1::int8", NULL, 250, on_value, &w));
    loop_until(a, &w.done, 1, 3000);
    assert_int_equal(w.st, PRD_ETIMEOUT);
    int64_t took = w.at_ms - t0;
    if (took < 245 || took > 250 + SLACK_MS)
        fail_msg("took %lld ms for a 250 ms deadline", (long long)took);
    /* the thread gives it back: the pool nudges the driver, which takes it */
    struct outcome later = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 2::int8", NULL, 3000, on_value, &later));
    prd_pg_pool_release(held);
    t0 = now_ms();
    loop_until(a, &later.done, 1, 3000);
    assert_int_equal(later.st, PRD_OK);
    assert_int_equal(later.value, 2);
    assert_true(later.at_ms - t0 < 500); /* woken, not found by a timer */
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

/* ---- the network misbehaves ---- */

static prd_pg_pool *proxied_pool(struct fproxy *fp, uint32_t acquire_ms, uint32_t connect_ms,
                                 uint32_t query_ms)
{
    char ci[512];
    fproxy_conninfo(fp, ci, sizeof ci);
    prd_pg_config *cfg = NULL;
    assert_ok(prd_pg_config_new(ci, &cfg));
    assert_ok(prd_pg_config_set_max_size(cfg, 2));
    assert_ok(prd_pg_config_set_min_size(cfg, 0)); /* nothing connects before the test */
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_async_test"));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, acquire_ms));
    assert_ok(prd_pg_config_set_connect_timeout_ms(cfg, connect_ms));
    if (query_ms)
        assert_ok(prd_pg_config_set_query_timeout_ms(cfg, query_ms));
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    return pool;
}

static struct fproxy *proxy_up(void)
{
    pgt_conninfo();
    int port = fproxy_server_port();
    assert_true(port > 0);
    return fproxy_start("127.0.0.1", port);
}

static void test_black_hole_connect(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    fproxy_set_mode(fp, FP_BLACKHOLE);
    prd_pg_pool *pool = proxied_pool(fp, 300, 5000, 0);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    struct outcome o = {0};
    int64_t t0 = now_ms();
    assert_ok(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o));
    longest_process_ms = 0;
    loop_until(a, &o.done, 1, 3000);
    assert_int_equal(o.st, PRD_ETIMEOUT); /* the acquire timeout, not the connect's 5 s */
    int64_t took = o.at_ms - t0;
    if (took < 295 || took > 300 + SLACK_MS)
        fail_msg("took %lld ms for a 300 ms deadline", (long long)took);
    assert_true(longest_process_ms < PROCESS_MAX_MS);
    assert_true(fproxy_accepted(fp) >= 1);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

static void test_frozen_link(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_pool *pool = proxied_pool(fp, 2000, 2000, 400);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    struct outcome warm = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 1::int8", NULL, 0, on_value, &warm));
    loop_until(a, &warm.done, 1, 3000);
    assert_int_equal(warm.st, PRD_OK);
    fproxy_set_mode(fp, FP_FREEZE);
    struct outcome o = {0};
    int64_t t0 = now_ms();
    assert_ok(prd_pg_async_query(a, "SELECT 2::int8", NULL, 0, on_value, &o));
    longest_process_ms = 0;
    loop_until(a, &o.done, 1, 3000);
    int64_t took = o.at_ms - t0;
    /* the health check or the query: either way the deadline holds */
    assert_int_equal(o.st, PRD_ETIMEOUT);
    if (took > 2000 + SLACK_MS)
        fail_msg("took %lld ms", (long long)took);
    assert_true(longest_process_ms < PROCESS_MAX_MS);
    /* the link comes back: a new connection serves the next one */
    fproxy_set_mode(fp, FP_PASS);
    struct outcome after = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 3::int8", NULL, 0, on_value, &after));
    loop_until(a, &after.done, 1, 3000);
    assert_int_equal(after.st, PRD_OK);
    assert_int_equal(after.value, 3);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

static void test_server_refuses(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    fproxy_set_mode(fp, FP_REFUSE);
    prd_pg_pool *pool = proxied_pool(fp, 400, 2000, 0);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    struct outcome o = {0};
    int64_t t0 = now_ms();
    assert_ok(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o));
    loop_until(a, &o.done, 1, 3000);
    /* the wait ends at the acquire timeout with the connect's reason */
    assert_int_equal(o.st, PRD_EDB);
    assert_true(o.at_ms - t0 <= 400 + SLACK_MS);
    assert_string_equal(o.sqlstate, "08001");
    assert_true(prd_pg_pool_metric(pool, PRD_PG_M_CONNECT_FAILURES) >= 1);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* ---- a terminated session ---- */

struct pid_box {
    int done;
    int64_t pid;
};

static void on_pid(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    (void)err;
    struct pid_box *b = ud;
    if (st == PRD_OK && prd_pg_result_int64(res, 0, 0, &b->pid) != PRD_OK)
        b->pid = -1;
    prd_pg_result_free(res);
    b->done++;
}

static void test_terminated_backend(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(2);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    assert_ok(prd_pg_async_set_pipeline_depth(a, 2));
    struct pid_box b = {0};
    assert_ok(prd_pg_async_query(a, "SELECT pg_backend_pid()", NULL, 0, on_pid, &b));
    loop_until(a, &b.done, 1, 3000);
    assert_true(b.pid > 0);
    struct outcome o = {0};
    assert_ok(prd_pg_async_query(a, "SELECT pg_sleep(5)::text::int8", NULL, 0, on_value, &o));
    assert_ok(prd_pg_async_process(a));
    usleep(100 * 1000);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)b.pid);
    pgt_exec(sql);
    int64_t t0 = now_ms();
    loop_until(a, &o.done, 1, 3000);
    assert_int_equal(o.st, PRD_EDB);
    assert_true(now_ms() - t0 < 1000);
    struct outcome next = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 9::int8", NULL, 0, on_value, &next));
    loop_until(a, &next.done, 1, 3000);
    assert_int_equal(next.st, PRD_OK);
    assert_int_equal(next.value, 9);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

/* ---- acquire: a transaction ---- */

struct txn {
    prd_pg_async *a;
    prd_pg_conn *conn;
    int step, done, failed;
    int leave_open;
};

static void tx_step(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err);

static void tx_send(struct txn *t, const char *sql, int64_t v)
{
    prd_pg_params *p = NULL;
    if (v >= 0)
        p = int_param(v);
    if (prd_pg_async_conn_query(t->a, t->conn, sql, p, 0, tx_step, t) != PRD_OK)
        t->failed = 1;
    prd_pg_params_free(p);
}

static void tx_step(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    struct txn *t = ud;
    prd_pg_result_free(res);
    if (st != PRD_OK) {
        fprintf(stderr, "step %d: %s\n", t->step, err ? prd_pg_error_message(err) : "?");
        t->failed = 1;
    }
    t->step++;
    if (t->step == 1) {
        tx_send(t, "INSERT INTO async_tx (v) VALUES ($1)", 1);
        tx_send(t, "INSERT INTO async_tx (v) VALUES ($1)", 2); /* queued behind the first */
    } else if (t->step == 3) {
        if (t->leave_open) {
            assert_ok(prd_pg_async_release(t->a, t->conn)); /* rolled back */
            t->done = 1;
        } else {
            tx_send(t, "COMMIT", -1);
        }
    } else if (t->step == 4) {
        assert_ok(prd_pg_async_release(t->a, t->conn));
        t->done = 1;
    }
}

static void on_acquired(void *ud, prd_status st, prd_pg_conn *conn, const prd_pg_error *err)
{
    (void)err;
    struct txn *t = ud;
    if (st != PRD_OK) {
        t->failed = 1;
        t->done = 1;
        return;
    }
    t->conn = conn;
    tx_send(t, "BEGIN", -1);
}

static void test_transaction(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS async_tx");
    pgt_exec("CREATE TABLE async_tx (v int8)");
    prd_pg_pool *pool = make_pool(2);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 2, &a));
    struct txn t = {.a = a};
    assert_ok(prd_pg_async_acquire(a, 0, on_acquired, &t));
    loop_until(a, &t.done, 1, 5000);
    assert_true(t.done);
    assert_false(t.failed);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM async_tx"), 2);
    /* released inside a transaction: rolled back, without blocking */
    struct txn u = {.a = a, .leave_open = 1};
    assert_ok(prd_pg_async_acquire(a, 0, on_acquired, &u));
    longest_process_ms = 0;
    loop_until(a, &u.done, 1, 5000);
    assert_false(u.failed);
    int spins = 0;
    while (prd_pg_pool_metric(pool, PRD_PG_M_IN_USE) > 0 && spins++ < 200) {
        assert_ok(prd_pg_async_process(a));
        usleep(5000);
    }
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM async_tx"), 2);
    assert_true(longest_process_ms < PROCESS_MAX_MS);
    /* the connection came back clean: a thread uses it */
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    prd_pg_result *r = NULL;
    assert_ok(prd_pg_query(c, "SELECT count(*) FROM async_tx", NULL, &r));
    prd_pg_result_free(r);
    prd_pg_pool_release(c);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE async_tx");
}

/* ---- free and fork ---- */

static void test_free_with_pending(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(2);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    struct outcome o[5];
    memset(o, 0, sizeof o);
    assert_ok(prd_pg_async_query(a, "SELECT pg_sleep(2)", NULL, 0, on_value, &o[0]));
    for (int i = 1; i < 5; i++)
        assert_ok(prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &o[i]));
    assert_ok(prd_pg_async_process(a));
    int64_t t0 = now_ms();
    prd_pg_async_free(a); /* does not wait for the sleep */
    assert_true(now_ms() - t0 < 500);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].st, PRD_ECLOSED);
    }
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
}

static void test_fork_child_refused(void **state)
{
    (void)state;
    /* No housekeeping thread: a child starting one trips ThreadSanitizer
     * (threads after a multi-threaded fork), and none is needed here. */
    prd_pg_pool *pool = configured_pool(2, 0, 0);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 1, &a));
    struct outcome o = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 1::int8", NULL, 0, on_value, &o));
    loop_until(a, &o.done, 1, 3000);
    assert_int_equal(o.st, PRD_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        struct outcome x = {0};
        bad |= prd_pg_async_query(a, "SELECT 1", NULL, 0, on_value, &x) != PRD_ECLOSED;
        bad |= prd_pg_async_process(a) != PRD_ECLOSED;
        prd_pg_async_free(a);
        /* a new driver in the child works */
        prd_pg_async *b = NULL;
        bad |= prd_pg_async_new(pool, 1, &b) != PRD_OK;
        if (b) {
            bad |= prd_pg_async_query(b, "SELECT 6::int8", NULL, 0, on_value, &x) != PRD_OK;
            int64_t end = now_ms() + 3000;
            while (!x.done && now_ms() < end) {
                bad |= prd_pg_async_process(b) != PRD_OK;
                usleep(1000);
            }
            bad |= x.st != PRD_OK || x.value != 6;
            prd_pg_async_free(b);
        }
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the parent's driver is untouched */
    struct outcome after = {0};
    assert_ok(prd_pg_async_query(a, "SELECT 4::int8", NULL, 0, on_value, &after));
    loop_until(a, &after.done, 1, 3000);
    assert_int_equal(after.st, PRD_OK);
    assert_int_equal(after.value, 4);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

/* ---- threads and a loop share one pool ---- */

static atomic_int thread_stop;
static atomic_int thread_queries;

static void *blocking_user(void *arg)
{
    prd_pg_pool *pool = arg;
    while (!atomic_load(&thread_stop)) {
        prd_pg_conn *c = NULL;
        if (prd_pg_acquire(pool, &c, NULL) != PRD_OK)
            continue;
        if (prd_pg_query(c, "SELECT 1", NULL, NULL) == PRD_OK)
            atomic_fetch_add(&thread_queries, 1);
        prd_pg_pool_release(c);
    }
    return NULL;
}

static void test_shared_with_threads(void **state)
{
    (void)state;
    prd_pg_pool *pool = make_pool(3);
    prd_pg_async *a = NULL;
    assert_ok(prd_pg_async_new(pool, 2, &a));
    atomic_store(&thread_stop, 0);
    atomic_store(&thread_queries, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, blocking_user, pool), 0);
    static struct many m;
    static struct one_of_many xs[300];
    memset(&m, 0, sizeof m);
    for (int i = 0; i < 300; i++) {
        m.want[i] = i;
        xs[i] = (struct one_of_many){&m, i};
        prd_pg_params *p = int_param(i);
        assert_ok(prd_pg_async_query(a, "SELECT $1::int8, pg_backend_pid()", p, 20000, on_many,
                                     &xs[i]));
        prd_pg_params_free(p);
    }
    loop_until(a, &m.done, 300, 30000);
    atomic_store(&thread_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(m.ok, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(m.got[i], i);
    assert_true(atomic_load(&thread_queries) > 0);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_IN_USE), 0);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_roundtrip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_thousand_on_eight),
        cmocka_unit_test(test_thousand_on_eight_pipelined),
        cmocka_unit_test(test_pipeline_failure_isolated),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_query_deadline),
        cmocka_unit_test(test_wait_deadline),
        cmocka_unit_test(test_black_hole_connect),
        cmocka_unit_test(test_frozen_link),
        cmocka_unit_test(test_server_refuses),
        cmocka_unit_test(test_terminated_backend),
        cmocka_unit_test(test_transaction),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_fork_child_refused),
        cmocka_unit_test(test_shared_with_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
