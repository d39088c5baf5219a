/* pg: every wait bounded by its deadline, against the real server behind
 * the tests' own fault-injecting proxy (black hole, frozen link, a reply
 * cut mid-message); fork under load; one backoff a reconnect round; one
 * killed session costing one connection; COMMIT never sent into a session
 * known dead; leak reports naming the caller inside prd_pg_tx_run. */
#include "support/testutil.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal/pg.h"
#include "pg/faultproxy.h"
#include "pg/pgtest.h"

/* How far past its deadline a bounded wait may end (scheduling, the
 * poll's millisecond rounding, a loaded 2-core CI machine). */
#define SLACK_MS 50

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct fproxy *proxy_up(void)
{
    pgt_conninfo(); /* the suite never starts without a server (pgtest.c) */
    int port = fproxy_server_port();
    assert_true(port > 0);
    return fproxy_start("127.0.0.1", port);
}

static prd_pg_config *proxied_config(struct fproxy *fp)
{
    char ci[512];
    fproxy_conninfo(fp, ci, sizeof ci);
    prd_pg_config *cfg = NULL;
    assert_ok(prd_pg_config_new(ci, &cfg));
    assert_ok(prd_pg_config_set_max_size(cfg, 4));
    assert_ok(prd_pg_config_set_min_size(cfg, 0));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_deadline_test"));
    return cfg;
}

static prd_pg_pool *pool_of(prd_pg_config *cfg)
{
    prd_pg_pool *pool = pgt_pool(cfg);
    prd_pg_config_free(cfg);
    return pool;
}

#define assert_within(t0, deadline_ms)                                                          \
    do {                                                                                      \
        int64_t took_ = now_ms() - (t0);                                                      \
        if (took_ < (deadline_ms) - 5 || took_ > (deadline_ms) + SLACK_MS)                    \
            fail_msg("took %lld ms for a %d ms deadline", (long long)took_, (int)(deadline_ms)); \
    } while (0)

/* 1. A server that accepts and never answers: acquire ends at its own
 * deadline, not at the connect timeout. */
static void test_acquire_black_hole(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    fproxy_set_mode(fp, FP_BLACKHOLE);
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 300));
    assert_ok(prd_pg_config_set_connect_timeout_ms(cfg, 5000));
    prd_pg_pool *pool = pool_of(cfg);
    prd_pg_conn *c = NULL;
    int64_t t0 = now_ms();
    prd_status st = prd_pg_acquire(pool, &c, NULL);
    assert_true(st == PRD_ETIMEOUT);
    assert_within(t0, 300);
    assert_true(fproxy_accepted(fp) >= 1); /* it did get through to "connected" */
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 2. The health check before reuse, over a frozen link. */
static void test_health_check_frozen_link(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 400));
    assert_ok(prd_pg_config_set_health_check_after_ms(cfg, 0)); /* check on every acquire */
    prd_pg_pool *pool = pool_of(cfg);
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    fproxy_set_mode(fp, FP_FREEZE);
    int64_t t0 = now_ms();
    assert_int_equal(prd_pg_acquire(pool, &c, NULL), PRD_ETIMEOUT);
    assert_within(t0, 400);
    /* the link comes back: the pool recovers with a new connection */
    fproxy_set_mode(fp, FP_PASS);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 3. A statement over a frozen link ends at the query timeout; the
 * connection is closed, the pool goes on. */
static void test_statement_frozen_link(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_query_timeout_ms(cfg, 300));
    prd_pg_pool *pool = pool_of(cfg);
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL)); /* cached and prepared */
    fproxy_set_mode(fp, FP_FREEZE);
    int64_t t0 = now_ms();
    assert_int_equal(prd_pg_query(c, "SELECT 1", NULL, NULL), PRD_ETIMEOUT);
    assert_within(t0, 300);
    assert_int_equal(prd_pg_error_status(prd_pg_conn_error(c)), PRD_ETIMEOUT);
    assert_false(prd_pg_conn_ok(c));
    /* a new statement on it fails at once */
    t0 = now_ms();
    assert_int_equal(prd_pg_query(c, "SELECT 2", NULL, NULL), PRD_EDB);
    assert_true(now_ms() - t0 < SLACK_MS);
    prd_pg_pool_release(c);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_QUERY_TIMEOUTS), 1);
    fproxy_set_mode(fp, FP_PASS);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    prd_pg_result *r = NULL;
    assert_ok(prd_pg_query(c, "SELECT 42", NULL, &r));
    int64_t v;
    assert_ok(prd_pg_result_int64(r, 0, 0, &v));
    assert_int_equal(v, 42);
    prd_pg_result_free(r);
    prd_pg_pool_release(c);
    /* and without a query timeout: statement_timeout + 2 s bounds it */
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 4. A reply cut in the middle: an error at once, never a hang. */
static void test_reply_cut_mid_message(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_query_timeout_ms(cfg, 5000));
    prd_pg_pool *pool = pool_of(cfg);
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    fproxy_set_mode(fp, FP_CUT_MID);
    int64_t t0 = now_ms();
    prd_pg_result *r = NULL;
    prd_status st = prd_pg_query(c, "SELECT repeat('x', 200000)", NULL, &r);
    assert_int_equal(st, PRD_EDB);
    assert_null(r);
    assert_true(now_ms() - t0 < 1000);
    assert_false(prd_pg_conn_ok(c));
    prd_pg_pool_release(c);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 5. A transaction's deadline bounds its statements and its COMMIT. */
struct tx_ctx {
    struct fproxy *fp;
    int freeze_before_commit;
};

static prd_status slow_fn(prd_pg_conn *c, void *ud)
{
    (void)ud;
    return prd_pg_query(c, "SELECT pg_sleep(2)", NULL, NULL);
}

static prd_status freeze_fn(prd_pg_conn *c, void *ud)
{
    struct tx_ctx *x = ud;
    prd_status st = prd_pg_query(c, "CREATE TEMP TABLE IF NOT EXISTS t_freeze (v int)", NULL, NULL);
    if (st == PRD_OK)
        st = prd_pg_query(c, "INSERT INTO t_freeze VALUES (1)", NULL, NULL);
    if (x->freeze_before_commit)
        fproxy_set_mode(x->fp, FP_FREEZE);
    return st;
}

static void test_transaction_deadline(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_pool *pool = pool_of(proxied_config(fp));
    prd_pg_tx_options *o = NULL;
    assert_ok(prd_pg_tx_options_new(&o));
    assert_int_equal(prd_pg_tx_options_set_timeout_ms(o, 25u * 3600 * 1000), PRD_EINVAL);
    assert_ok(prd_pg_tx_options_set_timeout_ms(o, 300));
    prd_pg_error *err = NULL;
    assert_ok(prd_pg_error_new(&err));
    int64_t t0 = now_ms();
    assert_int_equal(prd_pg_tx_run(pool, o, slow_fn, NULL, err), PRD_ETIMEOUT);
    assert_within(t0, 300);

    /* COMMIT sent into a frozen link: its outcome is unknown, by the deadline */
    struct tx_ctx x = {fp, 1};
    t0 = now_ms();
    assert_int_equal(prd_pg_tx_run(pool, o, freeze_fn, &x, err), PRD_EUNKNOWN);
    assert_within(t0, 300);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_UNKNOWN_COMMITS), 1);
    fproxy_set_mode(fp, FP_PASS);
    x.freeze_before_commit = 0;
    assert_ok(prd_pg_tx_run(pool, o, freeze_fn, &x, err));
    prd_pg_error_free(err);
    prd_pg_tx_options_free(o);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 6. TCP defaults that notice a dead peer; a conninfo's own are kept. */
static void test_keepalive_defaults(void **state)
{
    (void)state;
    struct fproxy *fp = proxy_up();
    prd_pg_pool *pool = pool_of(proxied_config(fp));
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    int fd = PQsocket(c->pg), v = 0;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
    assert_int_equal(v, 1);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
    assert_int_equal(v, 10);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &len), 0);
    assert_int_equal(v, 5);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &len), 0);
    assert_int_equal(v, 3);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len), 0);
    assert_int_equal(v, 20000);
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);

    char ci[600];
    fproxy_conninfo(fp, ci, sizeof ci - 40);
    strcat(ci, " keepalives_idle=77");
    prd_pg_config *cfg = NULL;
    assert_ok(prd_pg_config_new(ci, &cfg));
    pool = pool_of(cfg);
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    fd = PQsocket(c->pg);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
    assert_int_equal(v, 77);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len), 0);
    assert_int_equal(v, 0); /* the conninfo's choices, all of them */
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

/* 7. Fork while other threads hold connections: the child's pool frees
 * their slots (those threads do not exist in the child). */
struct busy {
    prd_pg_pool *pool;
    _Atomic int stop;
};

static void *keep_busy(void *arg)
{
    struct busy *b = arg;
    while (!atomic_load(&b->stop)) {
        prd_pg_conn *c = NULL;
        if (prd_pg_acquire(b->pool, &c, NULL) != PRD_OK)
            continue;
        /* load, not a check: a statement refused under the storm is fine */
        prd_status st = prd_pg_query(c, "SELECT pg_sleep(0.002)", NULL, NULL);
        (void)st;
        prd_pg_pool_release(c);
    }
    return NULL;
}

static void test_fork_under_load(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 4));
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, 3000));
#ifdef __SANITIZE_THREAD__
    /* TSan cannot follow a child that starts threads after a threaded
     * fork (the manager thread restarts in the child): without TSan the
     * test runs with the manager, as in production. */
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
#endif
    prd_pg_pool *pool = pool_of(cfg);
    struct busy b = {pool, 0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, keep_busy, &b), 0);
    usleep(100000);
    int ok_children = 0;
    for (int k = 0; k < 6; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* every slot may be held by a parent thread at the fork */
            int good = 0;
            for (int j = 0; j < 3; j++) {
                prd_pg_conn *c = NULL;
                prd_status a = prd_pg_acquire(pool, &c, NULL);
                prd_status q = a == PRD_OK ? prd_pg_query(c, "SELECT 1", NULL, NULL) : PRD_OK;
                if (a == PRD_OK && q == PRD_OK)
                    good++;
                else /* what went wrong, for the log */
                    fprintf(stderr, "child %d: acquire %s, query %s\n", k, prd_status_name(a),
                            prd_status_name(q));
                prd_pg_pool_release(c);
            }
            _exit(good == 3 ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ok_children += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        usleep(20000);
    }
    atomic_store(&b.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(ok_children, 6);
    /* the parent's pool is unharmed */
    prd_pg_conn *c = NULL;
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    assert_ok(prd_pg_query(c, "SELECT 1", NULL, NULL));
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
}

/* 8. Failed connects in flight together count as one backoff step: the
 * first connection after the server accepts again comes within 0.5 s. */
struct hammer {
    prd_pg_pool *pool;
    _Atomic int stop;
    _Atomic int64_t first_ok_ms;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    int64_t give_up = now_ms() + 20000; /* a bound, so a regression fails instead of hanging */
    while (!atomic_load(&h->stop) && now_ms() < give_up) {
        prd_pg_conn *c = NULL;
        if (prd_pg_acquire(h->pool, &c, NULL) == PRD_OK) {
            int64_t zero = 0;
            atomic_compare_exchange_strong(&h->first_ok_ms, &zero, now_ms());
            prd_pg_pool_release(c);
            break;
        }
    }
    return NULL;
}

/* How long one connect through the proxy takes here and now (SCRAM
 * under a sanitizer on a loaded machine takes far longer than bare). */
static int64_t one_connect_ms(struct fproxy *fp)
{
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 0));
    prd_pg_pool *pool = pool_of(cfg);
    prd_pg_conn *c = NULL;
    int64_t t0 = now_ms();
    assert_ok(prd_pg_acquire(pool, &c, NULL));
    int64_t took = now_ms() - t0;
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    return took;
}

static void backoff_round(int manager)
{
    struct fproxy *fp = proxy_up();
    int64_t connect_ms = one_connect_ms(fp);
    fproxy_set_mode(fp, FP_REFUSE);
    prd_pg_config *cfg = proxied_config(fp);
    assert_ok(prd_pg_config_set_max_size(cfg, 8));
    /* Callers that connect themselves can only connect within their own
     * deadline: 100 ms, queued behind seven others, is too short for a
     * connect with SCRAM on a loaded machine. The manager connects by the
     * connect timeout, whatever the callers' deadlines. */
    assert_ok(prd_pg_config_set_acquire_timeout_ms(cfg, manager ? 100 : 1000));
    assert_ok(prd_pg_config_set_reconnect_backoff_ms(cfg, 50, 5000));
    assert_ok(prd_pg_config_set_max_waiters(cfg, 100));
    /* with the manager thread (the default) or connecting on the callers' */
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, manager ? 1000 : 0));
    prd_pg_pool *pool = pool_of(cfg);
    struct hammer h = {pool, 0, 0};
    pthread_t t[8];
    int64_t down = now_ms();
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h), 0);
    /* "The server restarts" for 0.2 s. Backoff 50 ms doubling with equal
     * jitter: rounds start no sooner than 0, 25, 75, 175 ms, so at most 4
     * fit (more when the machine stretches the sleep: counted below), and
     * the last one's wait (at most 400 ms) and a connect end the outage. Counted per failed connect, 8 in flight made 8
     * steps here. */
    usleep(200000);
    pthread_mutex_lock(&pool->lock);
    uint32_t rounds = pool->connect_failures_in_row;
    pthread_mutex_unlock(&pool->lock);
    /* On a loaded machine the sleep can last longer than asked: the bound
     * is the rounds that fit in the time that really passed (a round
     * starts no sooner than 25 * (2^(k-1) - 1) ms after the first). */
    int64_t window = now_ms() - down;
    uint32_t fit = 0;
    for (int64_t start = 0, step = 25; start <= window; start += step, step *= 2)
        fit++;
    /* the rounds begun while the sleep above ended and now count too:
     * the wait that delays the first connection follows the last of them */
    pthread_mutex_lock(&pool->lock);
    uint32_t rounds_up = pool->connect_failures_in_row;
    pthread_mutex_unlock(&pool->lock);
    uint64_t failures = prd_pg_pool_metric(pool, PRD_PG_M_CONNECT_FAILURES);
    int64_t up = now_ms();
    fproxy_set_mode(fp, FP_PASS);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    /* a connect in flight when the server returned may still have failed
     * and begun one more round */
    if (prd_pg_pool_metric(pool, PRD_PG_M_CONNECT_FAILURES) > failures)
        rounds_up++;
    int64_t first = atomic_load(&h.first_ok_ms);
    print_message("backoff (%s): %llu failed connects in %u rounds; first connection %lld ms "
                  "after the server was back\n",
                  manager ? "manager thread" : "callers connect", (unsigned long long)failures,
                  rounds, (long long)(first - up));
    assert_true(first > 0);
    /* the last round's wait is at most 50 * 2^(rounds-1) ms, then a
     * connect (a failing one may be in flight when the server returns).
     * The connect was timed alone; here eight threads contend for two
     * cores, under TSan a third connect and 200 ms of scheduling is what
     * a CI run has needed (393 ms against 390 failed one). A step per
     * failed connect instead would wait 50 * 2^(failures-1) ms, capped at
     * 5 s: far past this bound, and the rounds check below counts the
     * steps exactly. */
    int64_t bound = (50LL << (rounds_up ? rounds_up - 1 : 0)) + 3 * connect_ms + 200;
    if (first - up > bound)
        fail_msg("first connection %lld ms after the server was back (%u rounds, a connect "
                 "takes %lld ms here: at most %lld)",
                 (long long)(first - up), rounds_up, (long long)connect_ms, (long long)bound);
    if (rounds > fit)
        fail_msg("%u backoff rounds in %lld ms: at most %u fit", rounds, (long long)window, fit);
    prd_pg_pool_free(pool);
    fproxy_stop(fp);
}

static void test_backoff_one_step_a_round(void **state)
{
    (void)state;
    backoff_round(1);
    backoff_round(0);
}

/* 9. pg_terminate_backend on one of four busy sessions costs one
 * connection, not the pool. */
struct worker {
    prd_pg_pool *pool;
    _Atomic int stop, errors, done;
};

static void *work_main(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(&w->stop)) {
        prd_pg_conn *c = NULL;
        if (prd_pg_acquire(w->pool, &c, NULL) != PRD_OK) {
            atomic_fetch_add(&w->errors, 1);
            continue;
        }
        if (prd_pg_query(c, "SELECT pg_sleep(0.005)", NULL, NULL) != PRD_OK)
            atomic_fetch_add(&w->errors, 1);
        else
            atomic_fetch_add(&w->done, 1);
        prd_pg_pool_release(c);
    }
    return NULL;
}

static void test_one_kill_one_connection(void **state)
{
    (void)state;
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_max_size(cfg, 4));
    assert_ok(prd_pg_config_set_application_name(cfg, "prd_kill_one"));
    assert_ok(prd_pg_config_set_health_check_after_ms(cfg, 60000));
    prd_pg_pool *pool = pool_of(cfg);
    struct worker w = {pool, 0, 0, 0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work_main, &w), 0);
    while (prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS) < 4 || atomic_load(&w.done) < 200)
        usleep(10000);
    uint64_t before = prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS);
    pgt_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'prd_kill_one' LIMIT 1");
    int done = atomic_load(&w.done);
    while (atomic_load(&w.done) < done + 400)
        usleep(10000);
    atomic_store(&w.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    uint64_t after = prd_pg_pool_metric(pool, PRD_PG_M_CONNECTS);
    assert_int_equal(after - before, 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_FAILOVERS), 0);
    assert_true(atomic_load(&w.errors) <= 1); /* the killed session's one statement */
    prd_pg_pool_free(pool);
}

/* 10. A backend terminated while fn runs: its FATAL is already waiting
 * when COMMIT would go, so the transaction runs again (committed once)
 * instead of ending unknown. */
struct kill_ctx {
    int attempts;
};

static prd_status insert_then_get_killed(prd_pg_conn *c, void *ud)
{
    struct kill_ctx *k = ud;
    k->attempts++;
    prd_status st = prd_pg_query(c, "INSERT INTO prd_deadline_once (v) VALUES (1)", NULL, NULL);
    if (st != PRD_OK || k->attempts > 1)
        return st;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c->pg));
    pgt_exec(sql);
    usleep(200000); /* the FATAL and the close reach our socket */
    return PRD_OK;
}

static void test_dead_before_commit_is_retried(void **state)
{
    (void)state;
    pgt_exec("DROP TABLE IF EXISTS prd_deadline_once");
    pgt_exec("CREATE TABLE prd_deadline_once (v int)");
    prd_pg_pool *pool = pool_of(pgt_config());
    struct kill_ctx k = {0};
    assert_ok(prd_pg_tx_run(pool, NULL, insert_then_get_killed, &k, NULL));
    assert_int_equal(k.attempts, 2);
    assert_int_equal(pgt_scalar("SELECT count(*) FROM prd_deadline_once"), 1);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_UNKNOWN_COMMITS), 0);
    assert_int_equal(prd_pg_pool_metric(pool, PRD_PG_M_RETRIES), 1);
    prd_pg_pool_free(pool);
    pgt_exec("DROP TABLE prd_deadline_once");
}

/* 11. A connection held too long inside prd_pg_tx_run is reported at the
 * caller's line. */
static prd_status hold_fn(prd_pg_conn *c, void *ud)
{
    (void)ud;
    return prd_pg_query(c, "SELECT pg_sleep(0.3)", NULL, NULL);
}

static void test_tx_leak_names_caller(void **state)
{
    (void)state;
    struct pgt_log cap;
    prd_logger *lg = pgt_log_new(&cap);
    prd_pg_config *cfg = pgt_config();
    assert_ok(prd_pg_config_set_logger(cfg, lg));
    assert_ok(prd_pg_config_set_leak_threshold_ms(cfg, 100));
    assert_ok(prd_pg_config_set_maintenance_interval_ms(cfg, 20));
    prd_pg_pool *pool = pool_of(cfg);
    int line = __LINE__ + 1;
    assert_ok(prd_pg_tx_run(pool, NULL, hold_fn, NULL, NULL));
    char want[64];
    snprintf(want, sizeof want, "\"acquired_at_line\":%d", line);
    assert_true(pgt_log_has(&cap, "test_pg_deadlines.c"));
    assert_true(pgt_log_has(&cap, want));
    prd_pg_pool_free(pool);
    pgt_log_free(lg, &cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_black_hole),
        cmocka_unit_test(test_health_check_frozen_link),
        cmocka_unit_test(test_statement_frozen_link),
        cmocka_unit_test(test_reply_cut_mid_message),
        cmocka_unit_test(test_transaction_deadline),
        cmocka_unit_test(test_keepalive_defaults),
        cmocka_unit_test(test_fork_under_load),
        cmocka_unit_test(test_backoff_one_step_a_round),
        cmocka_unit_test(test_one_kill_one_connection),
        cmocka_unit_test(test_dead_before_commit_is_retried),
        cmocka_unit_test(test_tx_leak_names_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
