/*
 * Arenas: the memory our Argon2 fills, kept between hashes. Mapping fresh
 * pages for every hash (as libsodium does) costs a page fault per 4 KiB,
 * and on virtual machines those faults cost about as much as the hash
 * itself (bench_password). An arena is mapped once, aligned to 2 MiB with
 * transparent huge pages requested, faulted in up front, wiped after every
 * hash (it held password-derived blocks), and unmapped by the process's
 * reaper thread (arena_reaper.c) once it has been idle for the pool's idle
 * time. The pool never holds
 * more than its limit (the policy's memory budget) in idle and busy
 * arenas together: an arena that would pass it is unmapped on return.
 */
#include "internal/common.h"
#include "internal/alloc.h"
#include "internal/clock.h"
#include "internal/fork.h"
#include "internal/argon2_core.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#define HUGE_PAGE ((size_t)2 << 20)

struct prd__arena {
    struct prd__arena *next;
    void *mem;        /* aligned start */
    uint64_t bytes;   /* usable size */
    void *map;        /* what to unmap */
    size_t map_len;
    int64_t idle_since_ns;
};

static int64_t mono_ns(void)
{
    return prd_clock_mono_ns(NULL);
}

static size_t page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

/* Map bytes (rounded up to pages); for 2 MiB and more, 2 MiB aligned so
 * that huge pages can back it, the unaligned ends given back. */
static int map_arena(struct prd__arena *a, uint64_t bytes)
{
    size_t pg = page_size();
    if (bytes > SIZE_MAX - HUGE_PAGE - pg)
        return -1;
    size_t len = ((size_t)bytes + pg - 1) / pg * pg;
    size_t extra = len >= HUGE_PAGE ? HUGE_PAGE : 0;
    unsigned char *map = prd__map_pages(len + extra);
    if (!map)
        return -1;
    unsigned char *start = map;
    if (extra) {
        uintptr_t at = ((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        start = (unsigned char *)at;
        size_t head = (size_t)(start - map), tail = extra - head;
        if (head)
            prd__unmap_pages(map, head);
        if (tail)
            prd__unmap_pages(start + len, tail);
        map = start;
#ifdef MADV_HUGEPAGE
        (void)madvise(start, len, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
    }
    /* The blocks hold password-derived data while a hash runs: left out
     * of core dumps, and a child forked meanwhile gets zeros, not a copy
     * of a hash in flight (idle arenas are wiped already). Both are
     * hardening the kernel may lack; the wipe after each hash stays the
     * guarantee. */
#ifdef MADV_DONTDUMP
    (void)madvise(start, len, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
    (void)madvise(start, len, MADV_WIPEONFORK);
#endif
    /* Fault every page in now rather than during the hash. */
    int populated = 0;
#ifdef MADV_POPULATE_WRITE
    populated = madvise(start, len, MADV_POPULATE_WRITE) == 0;
#endif
    if (!populated)
        for (size_t off = 0; off < len; off += pg)
            ((volatile unsigned char *)start)[off] = 0;
    a->mem = start;
    a->bytes = len;
    a->map = map;
    a->map_len = len;
    return 0;
}

static void unmap_arena(struct prd__arena *a)
{
    prd__unmap_pages(a->map, a->map_len);
    prd__free(a);
}

/*
 * After fork() the child has the pool's idle arenas (wiped: nothing
 * secret), and the lock may have been copied held. The first call in the
 * child makes the pool its own again with a fresh lock (the reaper's
 * registry does the same for itself, and its thread starts again at the
 * next put).
 */
static void adopt_after_fork(struct prd__arena_pool *p)
{
    if (prd__fork_adopt(&p->fork_epoch))
        pthread_mutex_init(&p->mu, NULL);
}

/* Unmap the idle arenas due by now; the next one's due time, 0 for none.
 * Called with the lock held. */
static int64_t reap_locked(struct prd__arena_pool *p, int64_t now)
{
    int64_t wake = 0;
    struct prd__arena **link = &p->idle;
    while (*link) {
        struct prd__arena *a = *link;
        int64_t due = a->idle_since_ns + (int64_t)p->idle_ms * 1000000;
        if (due <= now) {
            *link = a->next;
            p->held_bytes -= a->bytes;
            p->unmapped++;
            unmap_arena(a);
            continue;
        }
        if (!wake || due < wake)
            wake = due;
        link = &a->next;
    }
    return wake;
}

int64_t prd__arena_pool_reap(struct prd__arena_pool *p, int64_t now_ns)
{
    adopt_after_fork(p);
    pthread_mutex_lock(&p->mu);
    int64_t wake = reap_locked(p, now_ns);
    pthread_mutex_unlock(&p->mu);
    return wake;
}

void prd__arena_pool_init(struct prd__arena_pool *p, uint64_t limit_bytes, uint32_t idle_ms)
{
    memset(p, 0, sizeof *p);
    prd__watch_forks();
    p->fork_epoch = prd__fork_epoch();
    pthread_mutex_init(&p->mu, NULL);
    p->limit_bytes = limit_bytes;
    p->idle_ms = idle_ms;
    prd__arena_reaper_add(p);
}

void prd__arena_pool_destroy(struct prd__arena_pool *p)
{
    prd__arena_reaper_remove(p); /* the reaper is out of this pool after it */
    adopt_after_fork(p);
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_mutex_unlock(&p->mu);
    while (p->idle) {
        struct prd__arena *a = p->idle;
        p->idle = a->next;
        unmap_arena(a);
    }
    pthread_mutex_destroy(&p->mu);
}

/* Unmap idle arenas, least recently used first, until held + need fits
 * the limit (or none is idle). Called with the lock held. */
static void trim(struct prd__arena_pool *p, uint64_t need)
{
    while (p->idle && p->held_bytes + need > p->limit_bytes) {
        struct prd__arena **link = &p->idle;
        while ((*link)->next)
            link = &(*link)->next;
        struct prd__arena *a = *link;
        *link = NULL;
        p->held_bytes -= a->bytes;
        p->unmapped++;
        unmap_arena(a);
    }
}

void prd__arena_pool_set_limit(struct prd__arena_pool *p, uint64_t limit_bytes)
{
    adopt_after_fork(p);
    pthread_mutex_lock(&p->mu);
    p->limit_bytes = limit_bytes;
    trim(p, 0);
    pthread_mutex_unlock(&p->mu);
}

void prd__arena_pool_set_idle_ms(struct prd__arena_pool *p, uint32_t idle_ms)
{
    adopt_after_fork(p);
    pthread_mutex_lock(&p->mu);
    p->idle_ms = idle_ms;
    /* what the new idle time makes due goes now, here; the reaper hears of
     * the next due time (so a child after fork setting 0 starts no thread) */
    int64_t wake = reap_locked(p, mono_ns());
    pthread_mutex_unlock(&p->mu);
    if (wake)
        prd__arena_reaper_kick(wake);
}

struct prd__arena *prd__arena_get(struct prd__arena_pool *p, uint64_t bytes)
{
    size_t pg = page_size();
    uint64_t want = (bytes + pg - 1) / pg * pg;
    if (p) {
        adopt_after_fork(p);
        pthread_mutex_lock(&p->mu);
        for (struct prd__arena **link = &p->idle; *link; link = &(*link)->next)
            if ((*link)->bytes == want) {
                struct prd__arena *a = *link;
                *link = a->next;
                p->reused++;
                pthread_mutex_unlock(&p->mu);
                return a;
            }
        /* Room for the new one first, so the pool stays under its limit
         * while the mapping is made. */
        trim(p, want);
        p->held_bytes += want;
        pthread_mutex_unlock(&p->mu);
    }
    struct prd__arena *a = prd__calloc(1, sizeof *a);
    if (a && map_arena(a, want) != 0) {
        prd__free(a);
        a = NULL;
    }
    if (p) {
        pthread_mutex_lock(&p->mu);
        if (a)
            p->mapped++;
        else
            p->held_bytes -= want;
        pthread_mutex_unlock(&p->mu);
    }
    return a;
}

void *prd__arena_mem(const struct prd__arena *a)
{
    return a->mem;
}

void prd__arena_put(struct prd__arena_pool *p, struct prd__arena *a, uint64_t used)
{
    if (!a)
        return;
    sodium_memzero(a->mem, used < a->bytes ? (size_t)used : (size_t)a->bytes);
    if (!p) {
        unmap_arena(a);
        return;
    }
    adopt_after_fork(p);
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->idle_ms == 0 || p->held_bytes > p->limit_bytes) {
        p->held_bytes -= a->bytes;
        p->unmapped++;
        pthread_mutex_unlock(&p->mu);
        unmap_arena(a);
        return;
    }
    a->idle_since_ns = mono_ns();
    a->next = p->idle;
    p->idle = a;
    int64_t due = a->idle_since_ns + (int64_t)p->idle_ms * 1000000;
    pthread_mutex_unlock(&p->mu);
    prd__arena_reaper_kick(due);
}

const void *prd__arena_peek_idle(struct prd__arena_pool *p, uint64_t *bytes)
{
    pthread_mutex_lock(&p->mu);
    const void *mem = p->idle ? p->idle->mem : NULL;
    *bytes = p->idle ? p->idle->bytes : 0;
    pthread_mutex_unlock(&p->mu);
    return mem;
}
