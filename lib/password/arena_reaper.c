/*
 * The reaper: one thread for the whole process that unmaps every pool's
 * arenas once they have been idle for their pool's idle time (a thread
 * per policy would give a service with many policies as many threads).
 * Pools join the registry when made and leave it when destroyed; the
 * thread starts at the first arena left idle and stops when the last pool
 * leaves. Lock order: the registry, then a pool (prd__arena_pool_reap);
 * nothing holds a pool's lock while it takes the registry's.
 */
#include "internal/common.h"
#include "internal/argon2_core.h"
#include "internal/clock.h"
#include "internal/fork.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct prd__arena_pool *head;
    int running;
    int64_t wake_ns; /* when the thread looks next; 0 while it waits for a kick */
    unsigned long gen; /* a thread runs while this is the one it started with */
    pthread_t thread;
    _Atomic unsigned long fork_epoch;
} reg;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void init_sync(void)
{
    pthread_mutex_init(&reg.mu, NULL);
    prd__cond_init_mono(&reg.cv);
}

static void init_reg(void)
{
    prd__watch_forks();
    reg.fork_epoch = prd__fork_epoch();
    init_sync();
}

/* After fork() the child keeps the registry's pools (they live in its
 * memory) but not the thread, and the lock may have been copied held. */
static void lock_reg(void)
{
    pthread_once(&reg_once, init_reg);
    if (__builtin_expect(prd__fork_adopt(&reg.fork_epoch), 0)) {
        init_sync();
        reg.running = 0;
    }
    pthread_mutex_lock(&reg.mu);
}

static void *reaper_main(void *arg)
{
    unsigned long gen = (unsigned long)(uintptr_t)arg;
    pthread_mutex_lock(&reg.mu);
    while (reg.gen == gen) {
        int64_t now = prd_clock_mono_ns(NULL), wake = 0;
        for (struct prd__arena_pool *p = reg.head; p; p = p->reg_next) {
            int64_t due = prd__arena_pool_reap(p, now);
            if (due && (!wake || due < wake))
                wake = due;
        }
        reg.wake_ns = wake;
        if (!wake) {
            pthread_cond_wait(&reg.cv, &reg.mu);
            continue;
        }
        struct timespec ts = {(time_t)(wake / 1000000000), (long)(wake % 1000000000)};
        (void)pthread_cond_timedwait(&reg.cv, &reg.mu, &ts);
    }
    pthread_mutex_unlock(&reg.mu);
    return NULL;
}

void prd__arena_reaper_add(struct prd__arena_pool *p)
{
    lock_reg();
    p->reg_prev = NULL;
    p->reg_next = reg.head;
    if (reg.head)
        reg.head->reg_prev = p;
    reg.head = p;
    pthread_mutex_unlock(&reg.mu);
}

void prd__arena_reaper_remove(struct prd__arena_pool *p)
{
    lock_reg();
    if (p->reg_prev)
        p->reg_prev->reg_next = p->reg_next;
    else
        reg.head = p->reg_next;
    if (p->reg_next)
        p->reg_next->reg_prev = p->reg_prev;
    p->reg_next = p->reg_prev = NULL;
    int join = !reg.head && reg.running;
    pthread_t t = reg.thread;
    if (join) {
        reg.running = 0;
        reg.gen++;
        pthread_cond_broadcast(&reg.cv);
    }
    pthread_mutex_unlock(&reg.mu);
    if (join)
        pthread_join(t, NULL);
}

void prd__arena_reaper_kick(int64_t due_ns)
{
    lock_reg();
    if (!reg.running && reg.head &&
        pthread_create(&reg.thread, NULL, reaper_main, (void *)(uintptr_t)reg.gen) == 0) {
        reg.running = 1;
        reg.wake_ns = 0;
    }
    /* Without a thread (none could start) arenas stay until reused,
     * trimmed or their pool destroyed: bounded by the pool's limit. The
     * thread is woken only when it would look too late: a hash a
     * millisecond does not wake it a thousand times a second. */
    if (!reg.wake_ns || due_ns < reg.wake_ns)
        pthread_cond_broadcast(&reg.cv);
    pthread_mutex_unlock(&reg.mu);
}

int prd__arena_reaper_running(void)
{
    lock_reg();
    int running = reg.running;
    pthread_mutex_unlock(&reg.mu);
    return running;
}
