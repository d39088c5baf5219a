/*
 * The memory budget that bounds concurrent Argon2 computations. Waiters
 * queue in arrival order and only the head may take memory, so a large
 * request is never starved by a stream of small ones; a waiter that times
 * out leaves the queue and wakes the others so the next head can proceed.
 */
#include "internal/common.h"
#include "internal/clock.h"
#include "internal/fork.h"
#include "internal/password.h"

#include <errno.h>
#include <time.h>

struct prd__budget_waiter {
    struct prd__budget_waiter *next, *prev;
};

static void init_state(struct prd__budget *b)
{
    prd__cond_init_mono(&b->cv);
    pthread_mutex_init(&b->mu, NULL);
    b->used_kib = b->in_flight = b->waiting = 0;
    b->head = b->tail = NULL;
}

void prd__budget_init(struct prd__budget *b, uint64_t total_kib)
{
    init_state(b);
    b->total_kib = total_kib;
    b->peak_kib = b->busy = b->completed = b->avg_ns = 0;
    prd__watch_forks();
    b->fork_epoch = prd__fork_epoch();
}

void prd__budget_lock(struct prd__budget *b)
{
    if (__builtin_expect(prd__fork_adopt(&b->fork_epoch), 0))
        init_state(b); /* the totals and history stay: they are only numbers */
    pthread_mutex_lock(&b->mu);
}

void prd__budget_unlock(struct prd__budget *b)
{
    pthread_mutex_unlock(&b->mu);
}

void prd__budget_destroy(struct prd__budget *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

static void unlink_waiter(struct prd__budget *b, struct prd__budget_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
}

/* A call bigger than the whole budget fits only when nothing else runs. */
static int fits(const struct prd__budget *b, uint64_t need)
{
    return b->used_kib + need <= b->total_kib || b->used_kib == 0;
}

prd_status prd__budget_acquire(struct prd__budget *b, uint64_t need_kib, uint32_t wait_ms,
                               uint64_t *taken)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(wait_ms / 1000);
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    prd__budget_lock(b);
    /* The waiter lives on this stack frame and is unlinked below before the
     * function returns, on every path. */
    struct prd__budget_waiter me = {NULL, b->tail};
    if (b->tail)
        b->tail->next = &me;
    else
        b->head = &me; // cppcheck-suppress autoVariables
    b->tail = &me;     // cppcheck-suppress autoVariables
    b->waiting++;
    prd_status st = PRD_OK;
    while (b->head != &me || !fits(b, need_kib)) {
        int rc = wait_ms ? pthread_cond_timedwait(&b->cv, &b->mu, &deadline) : ETIMEDOUT;
        if (rc == ETIMEDOUT && (b->head != &me || !fits(b, need_kib))) {
            st = PRD_EBUSY;
            break;
        }
    }
    unlink_waiter(b, &me);
    b->waiting--;
    if (st == PRD_OK) {
        b->used_kib += need_kib;
        b->in_flight++;
        if (b->used_kib > b->peak_kib)
            b->peak_kib = b->used_kib;
        *taken = need_kib;
    } else {
        b->busy++;
        *taken = 0;
    }
    /* The queue's head changed: let the new head look at the budget. */
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return st;
}

void prd__budget_release(struct prd__budget *b, uint64_t taken, uint64_t elapsed_ns)
{
    prd__budget_lock(b);
    b->used_kib -= taken;
    b->in_flight--;
    b->completed++;
    /* An exponential moving average (1/8) for the retry hint. */
    b->avg_ns = b->avg_ns ? b->avg_ns - b->avg_ns / 8 + elapsed_ns / 8 : elapsed_ns;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}
