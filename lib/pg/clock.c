/* Time, randomness and process identity for the pg module: the monotonic
 * clock every deadline uses, the backoff delays, and the fork counter
 * that tells a child from its parent. Used by the pool and the
 * connection alike, so neither calls the other for them. */
#include "internal/common.h"

#include <time.h>

#include <sodium.h>

#include "internal/pg.h"

int64_t prd__pg_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t prd__pg_now_ns(const prd_pg_pool *pool)
{
    return pool->cfg->clock ? prd_clock_mono_ns(pool->cfg->clock) : prd__pg_real_ns();
}

uint64_t prd__pg_random(void)
{
    return (uint64_t)randombytes_random() << 32 | randombytes_random();
}

int64_t prd__pg_backoff_ns(uint32_t initial_ms, uint32_t max_ms, uint32_t attempt)
{
    /* Exponential with "equal jitter": half fixed, half random, so
     * reconnecting clients spread out but never retry at once. */
    uint64_t d = initial_ms;
    for (uint32_t i = 0; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    uint64_t ns = d * 1000000;
    return (int64_t)(ns / 2 + prd__pg_random() % (ns / 2 + 1));
}
