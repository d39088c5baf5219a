/* Shared helpers of the bench/ programs: timing and the JSON line format
 * {"bench","value","unit","baseline","ratio"} that scripts/bench collects. */
#ifndef PRD_BENCH_UTIL_H
#define PRD_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

#include "prodready.h"

/* A setup or measured call that must succeed: a bench that went on
 * after a failed call would time an error path. */
#define bench_must(call) bench_must_at((call), #call, __FILE__, __LINE__)
static inline void bench_must_at(prd_status st, const char *what, const char *file, int line)
{
    if (st != PRD_OK) {
        fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, prd_status_str(st));
        exit(1);
    }
}

/* A limiter check: admitted or limited are both answers. */
#define bench_must_check(call) \
    do { \
        prd_status st_ = (call); \
        if (st_ != PRD_ELIMITED) \
            bench_must_at(st_, #call, __FILE__, __LINE__); \
    } while (0)

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One result line. ratio = value / baseline (for times: < 1 is faster than
 * the baseline; for throughputs the bench says which way is better in the
 * name). baseline 0 means "no baseline" and prints null. */
static inline void bench_report(const char *name, double value, const char *unit, double baseline,
                                const char *baseline_name)
{
    if (baseline > 0)
        printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"baseline\":%.6g,"
               "\"baseline_name\":\"%s\",\"ratio\":%.4f}\n",
               name, value, unit, baseline, baseline_name, value / baseline);
    else
        printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"baseline\":null,\"ratio\":null}\n",
               name, value, unit);
    fflush(stdout);
}

/* Run a peer command (a shell line) and keep its stdout in buf; NULL when
 * it failed or printed nothing (the peer is then reported as missing). */
static inline char *bench_run_peer(const char *cmd, char *buf, size_t cap)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    return pclose(f) == 0 && n > 0 ? buf : NULL;
}

#endif
