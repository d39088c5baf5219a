/*
 * bench_ratelimit: ns per check for 1, 10^4 and 10^6 keys, one and two
 * threads, GCRA and counter; exact at N = 64 and N = 10^5 (the same cost
 * is the target: no slot memcpy); real bytes per key; against Go's
 * golang.org/x/time/rate behind a mutex-protected map with the same key
 * counts (bench/peers/go_rate), built offline from Debian's package and run
 * in the same invocation when Go is installed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "prodready.h"

#ifndef PRD_SOURCE_DIR
#define PRD_SOURCE_DIR "."
#endif

#define OPS 4000000

struct run {
    prd_limiter *l;
    size_t keys;
    char (*names)[16];
    long ops;
    unsigned seed;
};

static void *worker(void *p)
{
    struct run *r = p;
    prd_rl_decision d = PRD_RL_DECISION_INIT;
    unsigned x = r->seed;
    for (long i = 0; i < r->ops; i++) {
        x = x * 1103515245u + 12345u;
        size_t k = r->keys == 1 ? 0 : (x >> 4) % r->keys;
        prd_rl_key key = {r->names[k], strlen(r->names[k])};
        /* A generous limit: the cost of a check, not of a denial path. */
        bench_must_check(prd_limiter_check(r->l, &key, 1, 1, &d));
    }
    return NULL;
}

static double ns_per_check(prd_rl_algorithm alg, uint64_t limit, size_t keys, int threads,
                           char (*names)[16], size_t *bytes_per_key)
{
    prd_limiter_config *cfg = NULL;
    prd_limiter *l = NULL;
    bench_must(prd_limiter_config_new(&cfg));
    bench_must(prd_limiter_config_add_rule(cfg, "bench", limit, 1000, alg));
    bench_must(prd_limiter_config_set_max_keys(cfg, keys < 16 ? 16 : keys * 5 / 4));
    if (prd_limiter_new(cfg, &l) != PRD_OK)
        exit(1);
    prd_limiter_config_free(cfg);
    /* Warm: every key present. */
    struct run warm = {l, keys, names, (long)(keys < 100000 ? keys * 4 : keys), 7};
    if (keys > 1)
        for (size_t k = 0; k < keys; k++) {
            prd_rl_key key = {names[k], strlen(names[k])};
            prd_rl_decision d = PRD_RL_DECISION_INIT;
            bench_must_check(prd_limiter_check(l, &key, 1, 1, &d));
        }
    else
        worker(&warm);
    pthread_t th[2];
    struct run runs[2];
    double t0 = bench_now_s();
    for (int i = 0; i < threads; i++) {
        runs[i] = (struct run){l, keys, names, OPS / threads, 99u + (unsigned)i};
        pthread_create(&th[i], NULL, worker, &runs[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double elapsed = bench_now_s() - t0;
    *bytes_per_key = prd_limiter_bytes_per_key(l, 0);
    prd_limiter_free(l);
    /* Wall time per check across all threads: throughput, the server's view. */
    return elapsed * 1e9 / OPS;
}

/* The Go peer prints "keys threads ns" lines. */
static double peer_ns(const char *out, size_t keys, int threads)
{
    const char *p = out;
    while (p && *p) {
        unsigned long k;
        int t;
        double ns;
        if (sscanf(p, "%lu %d %lf", &k, &t, &ns) == 3 && k == keys && t == threads)
            return ns;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

static char *run_peer(void)
{
    static char buf[2048];
    return bench_run_peer("command -v go >/dev/null && test -d /usr/share/gocode/src/golang.org/x/time && "
                    "cd '" PRD_SOURCE_DIR "/bench/peers/go_rate' && "
                    "GO111MODULE=off GOPATH=/usr/share/gocode "
                    "GOCACHE=${TMPDIR:-/tmp}/prd-gocache go run . 2>/dev/null", buf, sizeof buf);
}

int main(void)
{
    if (prd_init() != PRD_OK)
        return 1;
    size_t max = 1000000;
    char(*names)[16] = malloc(max * sizeof *names);
    for (size_t i = 0; i < max; i++)
        snprintf(names[i], sizeof names[i], "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
    char *peer = run_peer();
    if (!peer)
        fprintf(stderr, "bench_ratelimit: Go peer unavailable (golang-go, golang-golang-x-time-dev)\n");
    static const size_t key_counts[] = {1, 10000, 1000000};
    static const struct {
        const char *name;
        prd_rl_algorithm alg;
        uint64_t limit;
        size_t max_key_index; /* key counts run: up to this index */
    } kinds[] = {
        /* 1000/s: a key hit every ~1 ms stays live (at 10^6/s its state
         * would decay between hits and every check would re-insert it) */
        {"gcra", PRD_RL_GCRA, 1000, 2},
        {"counter", PRD_RL_COUNTER, 1000000, 2},
        {"exact64", PRD_RL_EXACT, 64, 2},
        {"exact100000", PRD_RL_EXACT, 100000, 1}, /* 10^6 keys x 800 KB would not fit */
    };
    for (size_t a = 0; a < sizeof kinds / sizeof kinds[0]; a++) {
        for (size_t k = 0; k <= kinds[a].max_key_index; k++)
            for (int threads = 1; threads <= 2; threads++) {
                size_t bpk = 0;
                double ns = ns_per_check(kinds[a].alg, kinds[a].limit, key_counts[k], threads,
                                         names, &bpk);
                char name[96];
                snprintf(name, sizeof name, "ratelimit.%s.keys_%zu.threads_%d", kinds[a].name,
                         key_counts[k], threads);
                double base = peer ? peer_ns(peer, key_counts[k], threads) : 0;
                bench_report(name, ns, "ns/check", base, "golang.org/x/time/rate + mutex map");
                if (threads == 1 && k == kinds[a].max_key_index) {
                    snprintf(name, sizeof name, "ratelimit.%s.bytes_per_key", kinds[a].name);
                    bench_report(name, (double)bpk, "bytes", 0, "");
                }
            }
    }
    free(names);
    return 0;
}
