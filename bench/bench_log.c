/*
 * bench_log: ns per event to /dev/null for zap's two benchmark shapes
 * (a message with 10 fields; a logger with 10 bound fields plus one
 * call-site field), with redaction on and off, and allocations per event;
 * against zap (bench/peers/go_zap, Debian's golang-go.uber-zap-dev built
 * offline) in the same run.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "prodready.h"

#ifndef PRD_SOURCE_DIR
#define PRD_SOURCE_DIR "."
#endif

/* Count allocations made anywhere in the process (the library included)
 * by interposing malloc; glibc's own entry points do the work. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_ulong allocations;
void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}

#define N 500000

static void ten_fields(prd_logger *lg)
{
    PRD_LOG_INFO(lg, "request served", PRD_F_INT("int", 42), PRD_F_STR("user", "alice@example.com"),
                 PRD_F_BOOL("ok", 1), PRD_F_DOUBLE("ratio", 0.25), PRD_F_STR("path", "/api/v1/users/42"),
                 PRD_F_INT("bytes", 123456), PRD_F_STR("method", "GET"), PRD_F_INT("status", 200),
                 PRD_F_STR("request_id", "4bf92f3577b34da6"), PRD_F_DOUBLE("elapsed", 0.0015));
}

static void bound_plus_one(prd_logger *lg)
{
    PRD_LOG_INFO(lg, "request served", PRD_F_INT("attempt", 1));
}

/* zap's second shape: a child logger with ten bound fields. */
static prd_logger *with_ten_bound(prd_logger *lg)
{
    prd_log_field bound[] = {
        PRD_F_INT("int", 42), PRD_F_STR("user", "alice@example.com"), PRD_F_BOOL("ok", 1),
        PRD_F_DOUBLE("ratio", 0.25), PRD_F_STR("path", "/api/v1/users/42"),
        PRD_F_INT("bytes", 123456), PRD_F_STR("method", "GET"), PRD_F_INT("status", 200),
        PRD_F_STR("request_id", "4bf92f3577b34da6"), PRD_F_DOUBLE("elapsed", 0.0015)};
    prd_logger *child = NULL;
    bench_must(prd_log_with(lg, bound, 10, &child));
    return child;
}

static double measure(prd_logger *lg, void (*fn)(prd_logger *), double *allocs)
{
    for (int i = 0; i < 10000; i++)
        fn(lg);
    unsigned long a0 = atomic_load(&allocations);
    double t0 = bench_now_s();
    for (int i = 0; i < N; i++)
        fn(lg);
    double el = bench_now_s() - t0;
    *allocs = (double)(atomic_load(&allocations) - a0) / N;
    return el * 1e9 / N;
}

/* A 4 KB string an attacker controls (a header, a form field), logged as
 * one field: the scanner's cost on hostile text inside an ordinary call. */
static char attacker[4096];

static void attacker_string(prd_logger *lg)
{
    PRD_LOG_INFO(lg, "request rejected", PRD_F_STR("user_agent", attacker), PRD_F_INT("status", 400));
}

/* Scrub throughput in MB/s over lines built from units, repeated. */
static double scrub_mb_s(prd_logger *lg, const char *const *units, size_t n_units, size_t bytes)
{
    char *text = malloc(bytes + 64);
    size_t len = 0, u = 0;
    while (len < bytes) {
        size_t ul = strlen(units[u % n_units]);
        memcpy(text + len, units[u++ % n_units], ul);
        len += ul;
    }
    double t0 = bench_now_s();
    size_t done = 0;
    for (int r = 0; r < 5; r++) {
        /* Lines of ~1 KB, as a log has them. */
        for (size_t off = 0; off < len; off += 1024) {
            size_t l = len - off < 1024 ? len - off : 1024;
            char *out = NULL;
            size_t out_len = 0;
            if (prd_log_scrub_line(lg, text + off, l, &out, &out_len) == PRD_OK)
                prd_free(out);
            done += l;
        }
    }
    double el = bench_now_s() - t0;
    free(text);
    return (double)done / el / 1e6;
}

static double peer(const char *out, const char *shape)
{
    const char *p = out ? strstr(out, shape) : NULL;
    return p ? strtod(p + strlen(shape), NULL) : 0;
}

#ifndef PRD_BENCH_BUILD_DIR
#define PRD_BENCH_BUILD_DIR "."
#endif

static char *run_spdlog(void)
{
    static char buf[256];
    return bench_run_peer("test -x '" PRD_BENCH_BUILD_DIR "/peer_spdlog' && '" PRD_BENCH_BUILD_DIR
               "/peer_spdlog' 2>/dev/null", buf, sizeof buf);
}

static char *run_pino(void)
{
    static char buf[256];
    return bench_run_peer("command -v node >/dev/null && cd '" PRD_SOURCE_DIR "/bench/peers/node_pino' && "
               "(test -d node_modules/pino || npm install --no-audit --no-fund --loglevel=error "
               ">/dev/null 2>&1) && node bench.mjs 2>/dev/null", buf, sizeof buf);
}

static char *run_zap(void)
{
    static char buf[512];
    return bench_run_peer("command -v go >/dev/null && test -d /usr/share/gocode/src/go.uber.org/zap && "
                    "cd '" PRD_SOURCE_DIR "/bench/peers/go_zap' && GO111MODULE=off "
                    "GOPATH=/usr/share/gocode GOCACHE=${TMPDIR:-/tmp}/prd-gocache go run . 2>/dev/null",
                          buf, sizeof buf);
}

int main(void)
{
    if (prd_init() != PRD_OK)
        return 1;
    char *zap = run_zap(), *spd = run_spdlog(), *pino = run_pino();
    if (!zap)
        fprintf(stderr, "bench_log: zap peer unavailable (golang-go, golang-go.uber-zap-dev)\n");
    if (!spd)
        fprintf(stderr, "bench_log: spdlog peer unavailable (libspdlog-dev)\n");
    if (!pino)
        fprintf(stderr, "bench_log: pino peer unavailable (node, npm)\n");
    int devnull = open("/dev/null", O_WRONLY);
    for (int redact = 1; redact >= 0; redact--) {
        prd_logger *lg = NULL, *child = NULL;
        bench_must(prd_logger_new(&lg));
        bench_must(prd_logger_set_fd(lg, devnull));
        if (!redact)
            bench_must(prd_logger_disable_redaction(lg));
        child = with_ten_bound(lg);
        double a1, a2;
        double t1 = measure(lg, ten_fields, &a1);
        double t2 = measure(child, bound_plus_one, &a2);
        char name[96];
        snprintf(name, sizeof name, "log.ten_fields.redaction_%s", redact ? "on" : "off");
        bench_report(name, t1, "ns/event", peer(zap, "ten_fields "), "zap (Go) to /dev/null");
        snprintf(name, sizeof name, "log.ten_bound_plus_one.redaction_%s", redact ? "on" : "off");
        bench_report(name, t2, "ns/event", peer(zap, "ten_bound_plus_one "), "zap (Go) to /dev/null");
        if (redact) {
            bench_report("log.ten_fields.vs_spdlog", t1, "ns/event", peer(spd, "ten_fields "), "spdlog (C++)");
            bench_report("log.ten_bound_plus_one.vs_spdlog", t2, "ns/event",
                         peer(spd, "ten_bound_plus_one "), "spdlog (C++)");
            bench_report("log.ten_fields.vs_pino", t1, "ns/event", peer(pino, "ten_fields "), "pino (Node.js)");
            bench_report("log.ten_bound_plus_one.vs_pino", t2, "ns/event",
                         peer(pino, "ten_bound_plus_one "), "pino (Node.js)");
        }
        snprintf(name, sizeof name, "log.allocs_per_event.redaction_%s", redact ? "on" : "off");
        bench_report(name, (a1 + a2) / 2, "allocs", 0, "");
        prd_logger_free(child);
        prd_logger_free(lg);
    }
    /* Async: the caller's time per event while the writer thread drains
     * the queue in batches (block when full, so no line is dropped and
     * the writer's pace counts). */
    for (int shape = 0; shape < 2; shape++) {
        prd_logger *lg = NULL, *child = NULL;
        bench_must(prd_logger_new(&lg));
        bench_must(prd_logger_set_fd(lg, devnull));
        bench_must(prd_logger_set_async(lg, 65536, 1));
        child = with_ten_bound(lg);
        double al;
        double t = shape == 0 ? measure(lg, ten_fields, &al) : measure(child, bound_plus_one, &al);
        const char *sn = shape == 0 ? "ten_fields" : "ten_bound_plus_one";
        char name[96], key[64];
        snprintf(name, sizeof name, "log.%s.async.redaction_on", sn);
        snprintf(key, sizeof key, "%s ", sn);
        bench_report(name, t, "ns/event", peer(zap, key), "zap (Go) to /dev/null");
        snprintf(name, sizeof name, "log.%s.async.vs_zap_buffered", sn);
        snprintf(key, sizeof key, "%s_buffered ", sn);
        bench_report(name, t, "ns/event", peer(zap, key), "zap (Go), BufferedWriteSyncer");
        snprintf(name, sizeof name, "log.%s.async.allocs_per_event", sn);
        bench_report(name, al, "allocs", 0, "");
        prd_logger_free(child);
        uint64_t dropped = prd_logger_count(lg, PRD_LOG_COUNT_DROPPED);
        prd_logger_free(lg);
        if (dropped) {
            fprintf(stderr, "bench_log: async dropped %llu lines with block on\n",
                    (unsigned long long)dropped);
            return 1;
        }
    }
    /* Scrub: a realistic mixed log against hostile lines, the same MB/s
     * within 2x is the target (the scanner is linear). */
    prd_logger *sl = NULL;
    bench_must(prd_logger_new(&sl));
    static const char *const mixed[] = {
        "{\"time\":\"2024-05-01T10:00:00Z\",\"level\":\"info\",\"msg\":\"request served\",\"path\":\"/api/v1/users/42\",\"status\":200}\n",
        "2024-05-01T10:00:01Z stdout F {\"level\":\"warn\",\"msg\":\"slow query\",\"ms\":1234,\"user\":\"bob\"}\n",
        "GET /api/v1/items?page=2&sort=asc HTTP/1.1 200 5123 0.003\n",
        "{\"level\":\"info\",\"password\":\"hunter2\",\"headers\":{\"Authorization\":\"Bearer abcdefgh12345678\"}}\n",
    };
    static const char *const hostile[] = {"password=x ", "-----BEGIN ", "eyJ", "4111 1111 1111 ",
                                          "{\"a\":[{\"b\":\"", "://a:b", "xoxb-"};
    double m1 = scrub_mb_s(sl, mixed, 4, 4 << 20);
    double m2 = scrub_mb_s(sl, hostile, 7, 4 << 20);
    bench_report("log.scrub.mixed", m1, "MB/s", 0, "");
    bench_report("log.scrub.hostile", m2, "MB/s", m1, "the mixed log's MB/s");
    prd_logger_free(sl);
    /* An event with a 4 KB attacker string, redaction on. */
    for (size_t i = 0; i + 11 <= sizeof attacker - 1; i += 11)
        memcpy(attacker + i, "password=x ", 11);
    prd_logger *al = NULL;
    bench_must(prd_logger_new(&al));
    bench_must(prd_logger_set_fd(al, devnull));
    double aa;
    double ta = measure(al, attacker_string, &aa);
    bench_report("log.attacker_4k_string", ta, "ns/event", peer(zap, "attacker_4k "),
                 "zap (Go) logging the same string, no redaction");
    prd_logger_free(al);
    close(devnull);
    return 0;
}
