/* bench_pg: the pool against what a service would do without it.
 *   - acquire + release, uncontended and 8 threads over 4 connections,
 *     against a minimal mutex-guarded free list (the floor for any pool);
 *   - SELECT 1 and a one-row primary-key lookup (pgbench_accounts) through
 *     the pool with 1, 8 and 32 client threads, against a dedicated libpq
 *     connection per thread running the same prepared statement (target:
 *     ratio >= 0.95), against connecting per request, and against pgbench -S
 *     on the same server (the database's own limit);
 *   - COPY in and out of 10^6 rows (rows/s) against psql's \copy of the
 *     same file in the same run;
 *   - the rate limiter's PostgreSQL store: checks per second with 1, 8 and
 *     32 client threads over 100,000 keys, against pgbench running a
 *     one-row upsert on the same server (target: at least 0.8x), and the
 *     in-process limiter in the same run;
 *   - the asynchronous interface: one epoll loop thread keeping 8 or 32
 *     primary-key lookups in flight over 8 connections (pipeline depth 1
 *     and 4), against the blocking pool with 8 or 32 threads on 8
 *     connections, and against pgbench -S at 8 clients.
 * Needs a server: run under scripts/pg-temp (scripts/bench does). */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_util.h"
#include "prodready.h"

static const char *conninfo;
static double seconds = 2.0;

/* ---- acquire + release ---- */

struct acq_ctx {
    prd_pg_pool *pool;
    long iters;
};

static void *acq_loop(void *arg)
{
    struct acq_ctx *x = arg;
    for (long i = 0; i < x->iters; i++) {
        prd_pg_conn *c;
        if (prd_pg_acquire(x->pool, &c, NULL) != PRD_OK)
            abort();
        prd_pg_pool_release(c);
    }
    return NULL;
}

/* The floor: a free list under one mutex and a condition variable. */
struct floor_pool {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int free_n;
    void *items[64];
};

static void *floor_loop(void *arg)
{
    struct floor_pool *f = ((void **)arg)[0];
    long iters = *(long *)((void **)arg)[1];
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&f->m);
        while (f->free_n == 0)
            pthread_cond_wait(&f->cv, &f->m);
        void *it = f->items[--f->free_n];
        pthread_mutex_unlock(&f->m);
        pthread_mutex_lock(&f->m);
        f->items[f->free_n++] = it;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->m);
    }
    return NULL;
}

/* Start n threads on fn (argument i at args + i * arg_size), let them run
 * for the bench's seconds, raise *stop and join them; returns the time
 * they ran. */
static double run_for_seconds(int n, void *(*fn)(void *), void *args, size_t arg_size,
                              _Atomic int *stop)
{
    pthread_t t[64];
    double t0 = bench_now_s();
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * arg_size);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(stop, 1);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return bench_now_s() - t0;
}

static double run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
    pthread_t t[64];
    double t0 = bench_now_s();
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * arg_size);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return bench_now_s() - t0;
}

static prd_pg_pool *make_pool(uint32_t size)
{
    prd_pg_config *cfg;
    if (prd_pg_config_new(conninfo, &cfg) != PRD_OK)
        abort();
    bench_must(prd_pg_config_set_max_size(cfg, size));
    bench_must(prd_pg_config_set_min_size(cfg, size));
    bench_must(prd_pg_config_set_max_waiters(cfg, 1000));
    bench_must(prd_pg_config_set_acquire_timeout_ms(cfg, 60000));
    bench_must(prd_pg_config_set_leak_threshold_ms(cfg, 0));
    prd_pg_pool *pool;
    prd_pg_error *err;
    bench_must(prd_pg_error_new(&err));
    if (prd_pg_pool_new(cfg, &pool, err) != PRD_OK) {
        fprintf(stderr, "bench_pg: %s\n", prd_pg_error_message(err));
        exit(1);
    }
    prd_pg_error_free(err);
    prd_pg_config_free(cfg);
    /* open them all now, so the timed part never connects */
    prd_pg_conn *c[64];
    for (uint32_t i = 0; i < size; i++)
        bench_must(prd_pg_acquire(pool, &c[i], NULL));
    for (uint32_t i = 0; i < size; i++)
        prd_pg_pool_release(c[i]);
    return pool;
}

static void bench_acquire(int threads, uint32_t conns, const char *name)
{
    long iters = threads == 1 ? 2000000 : 200000;
    prd_pg_pool *pool = make_pool(conns);
    struct acq_ctx ctx[64];
    for (int i = 0; i < threads; i++)
        ctx[i] = (struct acq_ctx){pool, iters};
    double t = run_threads(threads, acq_loop, ctx, sizeof ctx[0]);
    double ns = t * 1e9 / ((double)iters * threads);
    prd_pg_pool_free(pool);

    struct floor_pool f = {.free_n = (int)conns};
    pthread_mutex_init(&f.m, NULL);
    pthread_cond_init(&f.cv, NULL);
    for (uint32_t i = 0; i < conns; i++)
        f.items[i] = &f;
    void *args[64][2];
    for (int i = 0; i < threads; i++) {
        args[i][0] = &f;
        args[i][1] = &iters;
    }
    double tb = run_threads(threads, floor_loop, args, sizeof args[0]);
    double base = tb * 1e9 / ((double)iters * threads);
    bench_report(name, ns, "ns/op", base, "mutex free list");
}

/* ---- queries ---- */

static const char *q_select1 = "SELECT 1";
static const char *q_pk = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
static long accounts = 100000;

struct q_ctx {
    prd_pg_pool *pool;
    PGconn *own;
    const char *sql;
    int params;
    _Atomic int *stop;
    long ops;
    unsigned seed;
};

static void *pool_query_loop(void *arg)
{
    struct q_ctx *x = arg;
    char aid[24];
    const char *v[1] = {aid};
    while (!atomic_load_explicit(x->stop, memory_order_relaxed)) {
        prd_pg_conn *c;
        if (prd_pg_acquire(x->pool, &c, NULL) != PRD_OK)
            abort();
        snprintf(aid, sizeof aid, "%ld", 1 + (long)((unsigned long)rand_r(&x->seed) % (unsigned long)accounts));
        prd_pg_result *r;
        if (prd_pg_query_text(c, x->sql, (size_t)x->params, v, &r) != PRD_OK)
            abort();
        prd_pg_result_free(r);
        prd_pg_pool_release(c);
        x->ops++;
    }
    return NULL;
}

static void *own_query_loop(void *arg)
{
    struct q_ctx *x = arg;
    char aid[24];
    const char *v[1] = {aid};
    PGresult *p = PQprepare(x->own, "s", x->sql, x->params, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        abort();
    PQclear(p);
    while (!atomic_load_explicit(x->stop, memory_order_relaxed)) {
        snprintf(aid, sizeof aid, "%ld", 1 + (long)((unsigned long)rand_r(&x->seed) % (unsigned long)accounts));
        PGresult *r = PQexecPrepared(x->own, "s", x->params, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            abort();
        PQclear(r);
        x->ops++;
    }
    return NULL;
}

static void *connect_per_request_loop(void *arg)
{
    struct q_ctx *x = arg;
    char aid[24];
    const char *v[1] = {aid};
    while (!atomic_load_explicit(x->stop, memory_order_relaxed)) {
        PGconn *c = PQconnectdb(conninfo);
        snprintf(aid, sizeof aid, "%ld", 1 + (long)((unsigned long)rand_r(&x->seed) % (unsigned long)accounts));
        PGresult *r = PQexecParams(c, x->sql, x->params, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            abort();
        PQclear(r);
        PQfinish(c);
        x->ops++;
    }
    return NULL;
}

static double throughput(int threads, void *(*fn)(void *), prd_pg_pool *pool, const char *sql,
                         int own)
{
    struct q_ctx ctx[64];
    _Atomic int stop = 0;
    for (int i = 0; i < threads; i++) {
        ctx[i] = (struct q_ctx){pool, NULL, sql, sql == q_pk ? 1 : 0, &stop, 0, (unsigned)i + 1};
        if (own) {
            ctx[i].own = PQconnectdb(conninfo);
            if (PQstatus(ctx[i].own) != CONNECTION_OK)
                abort();
        }
    }
    double took = run_for_seconds(threads, fn, ctx, sizeof ctx[0], &stop);
    long ops = 0;
    for (int i = 0; i < threads; i++) {
        ops += ctx[i].ops;
        if (ctx[i].own)
            PQfinish(ctx[i].own);
    }
    return (double)ops / took;
}

static double pgbench_tps(int clients)
{
    char cmd[512], buf[8192];
    snprintf(cmd, sizeof cmd,
             "pgbench -n -S -M prepared -c %d -j %d -T %d 2>/dev/null | "
             "sed -n 's/^tps = \\([0-9.]*\\).*/\\1/p' | tail -n 1",
             clients, clients < 2 ? clients : 2, (int)(seconds + 0.5));
    if (!bench_run_peer(cmd, buf, sizeof buf))
        return 0;
    return atof(buf);
}

/* ---- COPY: rows/s against psql's \copy on the same file ---- */

#define COPY_ROWS 1000000

static prd_status discard_row(void *ud, const char *data, size_t len)
{
    (void)data;
    *(uint64_t *)ud += len;
    return PRD_OK;
}

static double psql_copy_s(const char *meta)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "psql -X -q -c \"%s\" >/dev/null 2>&1", meta);
    double t0 = bench_now_s();
    if (system(cmd) != 0)
        return 0;
    return bench_now_s() - t0;
}

static void bench_copy(void)
{
    char path[] = "/tmp/prd-bench-copy-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        return;
    for (int i = 0; i < COPY_ROWS; i++)
        fprintf(f, "%d\tname-%d\t%d.%02d\n", i, i, i % 1000, i % 100);
    fclose(f);
    PGconn *direct = PQconnectdb(conninfo);
    PQclear(PQexec(direct, "DROP TABLE IF EXISTS prd_bench_copy; "
                           "CREATE UNLOGGED TABLE prd_bench_copy (id int, name text, price numeric)"));
    prd_pg_pool *pool = make_pool(1);
    prd_pg_conn *c = NULL;
    if (prd_pg_acquire(pool, &c, NULL) != PRD_OK)
        return;
    /* in: ours, then psql \copy, each into an emptied table */
    double t0 = bench_now_s();
    FILE *in = fopen(path, "r");
    char buf[65536];
    size_t n;
    bench_must(prd_pg_copy_in_start(c, "COPY prd_bench_copy FROM STDIN"));
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        bench_must(prd_pg_copy_in_put(c, buf, n));
    uint64_t rows = 0;
    bench_must(prd_pg_copy_in_end(c, NULL, &rows));
    fclose(in);
    double ours_in = bench_now_s() - t0;
    PQclear(PQexec(direct, "TRUNCATE prd_bench_copy"));
    char meta[256];
    snprintf(meta, sizeof meta, "\\copy prd_bench_copy FROM '%s'", path);
    double psql_in = psql_copy_s(meta);
    if (rows == COPY_ROWS && psql_in > 0)
        bench_report("pg_copy_in_1e6_rows_vs_psql_copy", COPY_ROWS / ours_in, "rows/s",
                     COPY_ROWS / psql_in, "psql \\copy FROM file");
    /* out: to a callback that drops the bytes, and psql to /dev/null */
    uint64_t bytes = 0;
    t0 = bench_now_s();
    bench_must(prd_pg_copy_out(c, "COPY prd_bench_copy TO STDOUT", discard_row, &bytes, &rows));
    double ours_out = bench_now_s() - t0;
    double psql_out = psql_copy_s("\\copy prd_bench_copy TO '/dev/null'");
    if (rows == COPY_ROWS && psql_out > 0)
        bench_report("pg_copy_out_1e6_rows_vs_psql_copy", COPY_ROWS / ours_out, "rows/s",
                     COPY_ROWS / psql_out, "psql \\copy TO /dev/null");
    prd_pg_pool_release(c);
    prd_pg_pool_free(pool);
    PQclear(PQexec(direct, "DROP TABLE prd_bench_copy"));
    PQfinish(direct);
    unlink(path);
}

/* ---- the rate limiter's store ---- */

/* The keys the store's clients and pgbench's upsert draw from: one
 * number, so both sides and the warm-up agree. */
#define STORE_KEYS 100000
#define STORE_KEYS_STR_(x) #x
#define STORE_KEYS_STR(x) STORE_KEYS_STR_(x)

static double median3(const double v[3]);

struct store_ctx {
    prd_rl_pg *store;
    prd_limiter *local;
    _Atomic int *stop;
    long ops;
    unsigned seed;
};

static void *store_loop(void *arg)
{
    struct store_ctx *x = arg;
    char key[24];
    while (!atomic_load_explicit(x->stop, memory_order_relaxed)) {
        int n = snprintf(key, sizeof key, "user%lu", (unsigned long)rand_r(&x->seed) % STORE_KEYS);
        prd_rl_key k = {key, (size_t)n};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_status st = x->store ? prd_rl_pg_check(x->store, &k, 1, 1, &d)
                                 : prd_limiter_check(x->local, &k, 1, 1, &d);
        if (st != PRD_OK && st != PRD_ELIMITED)
            abort();
        x->ops++;
    }
    return NULL;
}

static double store_throughput(int threads, prd_rl_pg *store, prd_limiter *local)
{
    struct store_ctx ctx[64];
    _Atomic int stop = 0;
    for (int i = 0; i < threads; i++)
        ctx[i] = (struct store_ctx){store, local, &stop, 0, (unsigned)i * 7 + 1};
    double took = run_for_seconds(threads, store_loop, ctx, sizeof ctx[0], &stop);
    long ops = 0;
    for (int i = 0; i < threads; i++)
        ops += ctx[i].ops;
    return (double)ops / took;
}

/* pgbench running the shape of work a check is at its core: one-row
 * upsert of a random key among as many. */
static double pgbench_upsert_tps(int clients)
{
    char script[] = "/tmp/prd_bench_upsert_XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0)
        return 0;
    static const char body[] =
        "\\set k random(1, " STORE_KEYS_STR(STORE_KEYS) ")\n"
        "INSERT INTO prd_bench_upsert (k, v) VALUES (:k, 1) ON CONFLICT (k) DO UPDATE SET v = "
        "prd_bench_upsert.v + 1;\n";
    if (write(fd, body, sizeof body - 1) < 0) {
        close(fd);
        return 0;
    }
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "pgbench -n -M prepared -f %s -c %d -j %d -T %d 2>/dev/null | "
             "sed -n 's/^tps = \\([0-9.]*\\).*/\\1/p' | head -1",
             script, clients, clients, (int)(seconds < 1 ? 1 : seconds));
    FILE *p = popen(cmd, "r");
    double tps = 0;
    if (p) {
        if (fscanf(p, "%lf", &tps) != 1)
            tps = 0;
        pclose(p);
    }
    unlink(script);
    return tps;
}

/* One check of every key the benchmark draws from. */
static void warm_store(prd_rl_pg *store)
{
    char key[24];
    for (unsigned long i = 0; i < STORE_KEYS; i++) {
        int n = snprintf(key, sizeof key, "user%lu", i);
        prd_rl_key k = {key, (size_t)n};
        prd_rl_decision d = PRD_RL_DECISION_INIT;
        prd_status st = prd_rl_pg_check(store, &k, 1, 1, &d);
        if (st != PRD_OK && st != PRD_ELIMITED)
            abort();
    }
}

static void bench_store(void)
{
    /* Both sides measured in their steady state, every key's row already
     * there: the upsert table filled, and the store warmed by a check of
     * every key before its first timed run (a first run of either would
     * otherwise insert most of its rows, and the two would not be equally
     * far from their steady state). */
    if (system("psql -qc 'CREATE UNLOGGED TABLE IF NOT EXISTS prd_bench_upsert (k int PRIMARY KEY, "
               "v bigint)' -c 'INSERT INTO prd_bench_upsert SELECT g, 0 FROM generate_series(1, "
               STORE_KEYS_STR(STORE_KEYS) ") g ON CONFLICT DO NOTHING' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "bench_pg: cannot make the upsert table\n");
        return;
    }
    /* exact (the log) and counter (two numbers a key), 1,000 a minute */
    for (int algo = 0; algo < 2; algo++) {
        prd_limiter_config *cfg;
        bench_must(prd_limiter_config_new(&cfg));
        bench_must(prd_limiter_config_add_rule(cfg, algo ? "benchc" : "bench", 1000, 60000,
                                    algo ? PRD_RL_COUNTER : PRD_RL_EXACT));
        prd_limiter *local;
        if (prd_limiter_new(cfg, &local) != PRD_OK)
            abort();
        static const int clients[] = {1, 8, 32};
        for (size_t k = 0; k < 3; k++) {
            int n = clients[k];
            prd_pg_pool *pool = make_pool((uint32_t)(n < 8 ? n : 8));
            if (prd_pg_stores_migrate(pool, NULL, NULL) != PRD_OK)
                abort();
            prd_rl_pg *store;
            if (prd_rl_pg_new(cfg, pool, &store) != PRD_OK)
                abort();
            if (k == 0)
                warm_store(store);
            double st_r[3], up_r[3];
            for (int r = 0; r < 3; r++) {
                st_r[r] = store_throughput(n, store, NULL);
                up_r[r] = pgbench_upsert_tps(n);
            }
            const char *kind = algo ? "counter_" : "";
            char name[96];
            snprintf(name, sizeof name, "ratelimit_store_%s%d_clients_vs_pgbench_upsert", kind, n);
            bench_report(name, median3(st_r), "checks/s", median3(up_r),
                         "pgbench one-row upsert, same clients (medians of 3 alternating runs)");
            double loc = store_throughput(n, NULL, local);
            snprintf(name, sizeof name, "ratelimit_store_%s%d_clients_vs_in_process", kind, n);
            bench_report(name, median3(st_r), "checks/s", loc, "the in-process limiter");
            prd_rl_pg_free(store);
            prd_pg_pool_free(pool);
        }
        prd_limiter_free(local);
        prd_limiter_config_free(cfg);
    }
}

static double median3(const double v[3])
{
    double a = v[0], b = v[1], c = v[2];
    if (a > b) { double t = a; a = b; b = t; }
    if (b > c) { double t = b; b = c; c = t; }
    if (a > b) { double t = a; a = b; b = t; }
    return b;
}

/* ---- the asynchronous interface ---- */

struct async_client {
    prd_pg_async *a;
    prd_pg_params *p;
    unsigned seed;
    long *ops;
    int *stop;
};

static void async_submit(struct async_client *c);

static void async_done(void *ud, prd_status st, prd_pg_result *res, const prd_pg_error *err)
{
    struct async_client *c = ud;
    if (st != PRD_OK) {
        fprintf(stderr, "bench_pg: async: %s\n", err ? prd_pg_error_message(err) : "?");
        abort();
    }
    prd_pg_result_free(res);
    (*c->ops)++;
    if (!*c->stop)
        async_submit(c);
}

static void async_submit(struct async_client *c)
{
    prd_pg_params_reset(c->p);
    bench_must(prd_pg_params_add_int64(c->p, 1 + (long)((unsigned long)rand_r(&c->seed) % (unsigned long)accounts)));
    if (prd_pg_async_query(c->a, q_pk, c->p, 0, async_done, c) != PRD_OK)
        abort();
}

/* clients requests kept in flight by one loop thread over conns connections. */
static double async_throughput(int clients, uint32_t conns, uint32_t depth)
{
    prd_pg_pool *pool = make_pool(conns);
    prd_pg_async *a;
    if (prd_pg_async_new(pool, conns, &a) != PRD_OK ||
        prd_pg_async_set_pipeline_depth(a, depth) != PRD_OK)
        abort();
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, prd_pg_async_fd(a), &e);
    struct async_client cl[64];
    long ops = 0;
    int stop = 0;
    double t0 = bench_now_s();
    for (int i = 0; i < clients; i++) {
        cl[i] = (struct async_client){a, NULL, (unsigned)i + 1, &ops, &stop};
        bench_must(prd_pg_params_new(&cl[i].p));
        async_submit(&cl[i]);
    }
    while (bench_now_s() - t0 < seconds) {
        struct epoll_event ev;
        epoll_wait(ep, &ev, 1, prd_pg_async_timeout_ms(a));
        bench_must(prd_pg_async_process(a));
    }
    stop = 1;
    double took = bench_now_s() - t0;
    long counted = ops;
    while (prd_pg_async_pending(a) > 0) { /* let the last ones land */
        struct epoll_event ev;
        epoll_wait(ep, &ev, 1, 100);
        bench_must(prd_pg_async_process(a));
    }
    for (int i = 0; i < clients; i++)
        prd_pg_params_free(cl[i].p);
    close(ep);
    prd_pg_async_free(a);
    prd_pg_pool_free(pool);
    return (double)counted / took;
}

static void bench_async(void)
{
    static const int clients[] = {8, 32};
    for (size_t k = 0; k < 2; k++) {
        int n = clients[k];
        prd_pg_pool *pool = make_pool(8);
        double blocking = throughput(n, pool_query_loop, pool, q_pk, 0);
        prd_pg_pool_free(pool);
        for (uint32_t depth = 1; depth <= 4; depth += 3) {
            double async = async_throughput(n, 8, depth);
            char name[96];
            snprintf(name, sizeof name, "pg_pk_lookup_async_%d_clients_8_conns_depth_%u", n, depth);
            bench_report(name, async, "queries/s", blocking,
                         n == 8 ? "blocking pool, 8 threads on 8 connections"
                                : "blocking pool, 32 threads on 8 connections");
            if (n == 8) {
                double ar[3], gr[3];
                for (int r = 0; r < 3; r++) {
                    ar[r] = r == 0 ? async : async_throughput(8, 8, depth);
                    gr[r] = pgbench_tps(8);
                }
                snprintf(name, sizeof name, "pg_pk_lookup_async_8_clients_depth_%u_vs_pgbench_S",
                         depth);
                bench_report(name, median3(ar), "queries/s", median3(gr),
                             "pgbench -S -M prepared, 8 clients (medians of 3 alternating runs)");
            }
        }
    }
}

int main(int argc, char **argv)
{
    conninfo = getenv("PRD_PG_CONNINFO");
    if (!conninfo) {
        fprintf(stderr, "bench_pg: PRD_PG_CONNINFO not set (run under scripts/pg-temp)\n");
        return 1;
    }
    if (argc > 1)
        seconds = atof(argv[1]);
    if (system("pgbench -i -q -s 1 >/dev/null 2>&1") != 0) {
        fprintf(stderr, "bench_pg: pgbench -i failed\n");
        return 1;
    }
    bench_copy();
    bench_store();
    bench_async();
    bench_acquire(1, 1, "pg_acquire_release_uncontended");
    bench_acquire(8, 4, "pg_acquire_release_8_threads_4_conns");

    static const int thread_counts[] = {1, 8, 32};
    for (int q = 0; q < 2; q++) {
        const char *sql = q == 0 ? q_select1 : q_pk;
        const char *qn = q == 0 ? "select1" : "pk_lookup";
        for (size_t k = 0; k < sizeof thread_counts / sizeof *thread_counts; k++) {
            int n = thread_counts[k];
            prd_pg_pool *pool = make_pool((uint32_t)n);
            double pooled = throughput(n, pool_query_loop, pool, sql, 0);
            prd_pg_pool_free(pool);
            double own = throughput(n, own_query_loop, NULL, sql, 1);
            char name[96];
            snprintf(name, sizeof name, "pg_%s_%d_threads_pool_vs_dedicated", qn, n);
            bench_report(name, pooled, "queries/s", own, "dedicated libpq connection per thread");
            if (q == 1) {
                double cpr = throughput(n < 8 ? n : 8, connect_per_request_loop, NULL, sql, 0);
                snprintf(name, sizeof name, "pg_%s_%d_threads_pool_vs_connect_per_request", qn, n);
                bench_report(name, pooled, "queries/s", cpr, "connect per request");
                /* pgbench's rate moves 10-20% between runs on this
                 * machine: three alternating rounds, the medians. */
                double pr[3], gr[3];
                for (int r = 0; r < 3; r++) {
                    prd_pg_pool *pp = make_pool((uint32_t)n);
                    pr[r] = throughput(n, pool_query_loop, pp, sql, 0);
                    prd_pg_pool_free(pp);
                    gr[r] = pgbench_tps(n);
                }
                snprintf(name, sizeof name, "pg_%s_%d_threads_pool_vs_pgbench_S", qn, n);
                bench_report(name, median3(pr), "queries/s", median3(gr),
                             "pgbench -S -M prepared (medians of 3 alternating runs)");
            }
        }
    }
    return 0;
}
