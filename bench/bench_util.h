/* Shared helpers of the bench/ programs: timing and the JSON line format
 * {"bench","value","unit","baseline","ratio"} that scripts/bench collects. */
#ifndef PRD_BENCH_UTIL_H
#define PRD_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

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
