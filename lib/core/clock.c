/* prd_clock: system and manual clocks. */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/clock.h"

#include <stdatomic.h>
#include <time.h>

#define MANUAL_MAGIC 0x636c6f63u

struct prd_clock {
    unsigned magic;
    _Atomic int64_t wall_ns;
    _Atomic int64_t mono_ns;
};

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t prd_clock_wall_ns(const prd_clock *clock)
{
    if (clock && clock->magic == MANUAL_MAGIC)
        return atomic_load(&((prd_clock *)clock)->wall_ns);
    return read_clock(CLOCK_REALTIME);
}

int64_t prd_clock_mono_ns(const prd_clock *clock)
{
    if (clock && clock->magic == MANUAL_MAGIC)
        return atomic_load(&((prd_clock *)clock)->mono_ns);
    return read_clock(CLOCK_MONOTONIC);
}

int prd__clock_is_manual(const prd_clock *clock)
{
    return clock && clock->magic == MANUAL_MAGIC;
}

prd_status prd_clock_manual_new(int64_t wall_ns, int64_t mono_ns, prd_clock **out)
{
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (mono_ns < 0)
        return PRD_EINVAL;
    prd_clock *c = prd__malloc(sizeof *c);
    if (!c)
        return PRD_ENOMEM;
    c->magic = MANUAL_MAGIC;
    atomic_init(&c->wall_ns, wall_ns);
    atomic_init(&c->mono_ns, mono_ns);
    *out = c;
    return PRD_OK;
}

static int add_overflows(int64_t a, int64_t b)
{
    return (b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b);
}

prd_status prd_clock_manual_advance(prd_clock *clock, int64_t delta_ns)
{
    if (!prd__clock_is_manual(clock))
        return PRD_EINVAL;
    int64_t wall = atomic_load(&clock->wall_ns);
    int64_t mono = atomic_load(&clock->mono_ns);
    if (add_overflows(wall, delta_ns) || (delta_ns > 0 && add_overflows(mono, delta_ns)))
        return PRD_EINVAL;
    atomic_fetch_add(&clock->wall_ns, delta_ns);
    if (delta_ns > 0)
        atomic_fetch_add(&clock->mono_ns, delta_ns);
    return PRD_OK;
}

prd_status prd_clock_manual_set_wall(prd_clock *clock, int64_t wall_ns)
{
    if (!prd__clock_is_manual(clock))
        return PRD_EINVAL;
    atomic_store(&clock->wall_ns, wall_ns);
    return PRD_OK;
}

void prd_clock_free(prd_clock *clock)
{
    if (!clock)
        return;
    clock->magic = 0;
    prd__free(clock);
}

void prd__cond_init_mono(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}
