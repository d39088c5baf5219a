/* fork() detection shared by the pg pool, the password budget and the
 * arenas (internal/fork.h). */
#include "internal/common.h"
#include "internal/fork.h"

#include <pthread.h>

static _Atomic unsigned long fork_epoch;
static pthread_once_t fork_watch_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&fork_epoch, 1, memory_order_relaxed);
}

static void register_fork_watch(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

void prd__watch_forks(void)
{
    pthread_once(&fork_watch_once, register_fork_watch);
}

unsigned long prd__fork_epoch(void)
{
    return atomic_load_explicit(&fork_epoch, memory_order_relaxed);
}

int prd__fork_adopt(_Atomic unsigned long *seen)
{
    unsigned long now = prd__fork_epoch(), was = atomic_load_explicit(seen, memory_order_relaxed);
    return was != now && atomic_compare_exchange_strong(seen, &was, now);
}
