/* The pool: fair FIFO waiting with deadlines, connection lifecycle
 * (health checks, lifetime, idle recycling, failover generations, fork),
 * housekeeping and draining close.
 *
 * Locking: one mutex per pool guards the slot states and the wait queue.
 * Nothing slow happens under it: connecting, pinging and closing are done
 * by the thread that reserved the slot, with the lock released. */
#include "internal/common.h"
#include "internal/clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "internal/alloc.h"
#include "internal/fork.h"
#include "internal/pg.h"

static void absorb(prd_pg_pool *p, prd_pg_conn *c);

static void deadline_ts(int64_t mono_ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000);
    ts->tv_nsec = (long)(mono_ns % 1000000000);
}

/* The pool lock guards a few loads and stores: spinning briefly before
 * sleeping beats a futex round trip when threads meet (glibc's adaptive
 * mutex; measured in bench_pg at 8 threads). */
static void lock_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

/* ---- wait queue (under the lock) ---- */

static void waiter_remove(prd_pg_pool *p, struct prd__pg_waiter *w)
{
    struct prd__pg_waiter **pp = &p->wait_head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (p->wait_tail == w)
        p->wait_tail = prev;
    p->n_waiting--;
    /* The new head may be able to go now. */
    if (p->wait_head)
        pthread_cond_signal(&p->wait_head->cond);
}

static void wake_head(prd_pg_pool *p)
{
    if (p->wait_head) {
        p->wait_head->wake = 1;
        pthread_cond_signal(&p->wait_head->cond);
    }
}

/* ---- slots (under the lock) ---- */

/* The connection this thread released last (compared, never followed,
 * unless it is still idle in the pool it names). */
static __thread prd_pg_conn *tls_last_released;

static void idle_remove_at(prd_pg_pool *p, uint32_t i)
{
    memmove(&p->idle[i], &p->idle[i + 1], (p->n_idle - i - 1) * sizeof *p->idle);
    p->n_idle--;
}

/* Reserve an empty slot for a new connection: the caller connects with
 * the lock released. NULL when none (or no memory). */
static prd_pg_conn *slot_reserve(prd_pg_pool *p)
{
    for (uint32_t i = 0; i < p->cfg->max_size; i++) {
        prd_pg_conn *c = p->slots[i];
        if (c && c->state != PRD__SLOT_EMPTY)
            continue;
        if (!c) {
            c = prd__calloc(1, sizeof *c);
            if (!c)
                return NULL;
            c->pool = p;
            p->slots[i] = c;
        }
        c->state = PRD__SLOT_CONNECTING;
        c->reserved_round = p->connect_round;
        p->n_open++;
        return c;
    }
    return NULL;
}

/* Event-loop drivers waiting for a connection hear of one through their
 * eventfd (under the lock; a write to an eventfd never blocks). */
static void nudge_watchers(prd_pg_pool *p)
{
    for (struct prd__pg_watch *w = p->watchers; w; w = w->next)
        if (atomic_load_explicit(&w->hungry, memory_order_relaxed))
            prd__pg_watch_nudge(w);
}

static void slot_free(prd_pg_pool *p, prd_pg_conn *c)
{
    c->state = PRD__SLOT_EMPTY;
    p->n_open--;
    wake_head(p);
    nudge_watchers(p);
}

/* c goes out to a caller at file:line. Under the lock, since housekeeping
 * reads these fields for leak reports. */
static void mark_out_at(prd_pg_pool *p, prd_pg_conn *c, const char *file, int line, int64_t now)
{
    c->state = PRD__SLOT_OUT;
    c->owner = pthread_self();
    c->tx_deadline_ns = INT64_MAX;
    c->acquired_file = file;
    c->acquired_line = line;
    c->acquired_ns = now;
    c->leak_reported = 0;
    p->n_out++;
    p->refs++;
}

static void mark_out(prd_pg_pool *p, prd_pg_conn *c, const char *file, int line)
{
    mark_out_at(p, c, file, line, prd__pg_now_ns(p));
}

/* Hand a ready connection to the first waiter, or make it idle. */
static void slot_give(prd_pg_pool *p, prd_pg_conn *c)
{
    struct prd__pg_waiter *w = p->wait_head;
    if (w && !p->closing) {
        p->wait_head = w->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
        p->n_waiting--;
        mark_out(p, c, w->file, w->line);
        c->owner = w->thread; /* the waiter's, not the releaser's */
        w->handed = c;
        pthread_cond_signal(&w->cond);
        return;
    }
    c->state = PRD__SLOT_IDLE;
    p->idle[p->n_idle++] = c;
    if (p->watchers)
        nudge_watchers(p);
}

/* ---- fork ---- */

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static void *maint_main(void *arg);

/* In a forked child the pool's memory is a copy: its lock may have been
 * held by a thread that does not exist here, its waiters live on stacks of
 * such threads, and its sockets are the parent's. Start over: every
 * inherited connection is abandoned without touching its socket. */
static void after_fork(prd_pg_pool *p)
{
    pthread_mutex_lock(&fork_lock);
    if (p->fork_epoch != prd__fork_epoch()) {
        lock_init(&p->lock);
        prd__cond_init_mono(&p->drained);
        prd__cond_init_mono(&p->maint_cond);
        p->wait_head = p->wait_tail = NULL;
        p->n_waiting = 0;
        p->watchers = NULL; /* the parent's event loops, not ours */
        p->n_idle = 0;
        p->n_open = 0;
        p->n_out = 0;
        for (uint32_t i = 0; i < p->cfg->max_size; i++) {
            prd_pg_conn *c = p->slots[i];
            if (!c)
                continue;
            if (c->state == PRD__SLOT_OUT && pthread_equal(c->owner, pthread_self())) {
                /* Held by the thread that forked, the one thread the
                 * child has: its code may still release it (then closed,
                 * socket untouched). */
                c->doomed = c->broken = 1;
                p->n_out++;
                p->n_open++;
                continue;
            }
            /* Idle, connecting, or held by a thread that does not exist
             * in the child: nobody here will ever release it. */
            prd__pg_conn_close(c); /* made before the fork: socket untouched */
            c->state = PRD__SLOT_EMPTY;
        }
        p->refs = 1 + (int)p->n_out;
        p->generation++;
        p->maint_running = 0;
        p->n_bg = p->n_bg_pending = 0; /* those slots were reset above */
        /* A forked child connects on its callers' threads: a thread it
         * starts may meet a lock the fork left held (libc's, libpq's), and
         * acquire must not wait on it. Housekeeping still runs. */
        p->manager_connects = 0;
        p->connect_failures_in_row = 0;
        p->next_connect_ns = 0;
        p->fork_epoch = prd__fork_epoch();
        if (p->cfg->maintenance_interval_ms && !p->closing &&
            pthread_create(&p->maint_thread, NULL, maint_main, p) == 0)
            p->maint_running = 1;
    }
    pthread_mutex_unlock(&fork_lock);
}

static inline void check_fork(prd_pg_pool *p)
{
    if (__builtin_expect(p->fork_epoch != prd__fork_epoch(), 0))
        after_fork(p);
}

/* ---- connecting a reserved slot (lock not held) ---- */

static void log_connect_failure(prd_pg_pool *p, const prd_pg_error *e, uint32_t in_row,
                                int64_t backoff_ns)
{
    PRD_LOG_WARN(p->cfg->logger, "pg connect failed", PRD_F_STR("error", e->message),
                 PRD_F_STATUS("status", e->status), PRD_F_UINT("failures_in_row", in_row),
                 PRD_F_DOUBLE("retry_in_ms", (double)backoff_ns / 1e6));
}

/* How a connect of reserved slot c, begun in round, ended (lock not
 * held). caller_cut: the caller's deadline ended it before the connect
 * timeout did. On success c is ready (not yet given anywhere); on failure
 * the slot is freed and, unless the caller cut it short, backoff armed. */
static prd_status slot_connected(prd_pg_pool *p, prd_pg_conn *c, PGconn *pg, prd_status st,
                                 prd_pg_error *e, uint64_t round, int caller_cut)
{
    pthread_mutex_lock(&p->lock);
    if (st == PRD_ETIMEOUT && caller_cut) {
        /* The caller's deadline ended the attempt, not the server: no
         * backoff, and no failure on the server's record. */
        prd__pg_error_set(e, PRD_ETIMEOUT, NULL,
                          "acquire deadline reached while connecting (connect_timeout %u ms)",
                          p->cfg->connect_timeout_ms);
        slot_free(p, c);
        pthread_mutex_unlock(&p->lock);
        return st;
    }
    if (st != PRD_OK) {
        prd__pg_metric_add(&p->metrics, PRD_PG_M_CONNECT_FAILURES, 1);
        /* One backoff step a round: connects that started in the same
         * round and failed together count once (during a restart, eight
         * in flight made the wait grow eightfold). */
        int first_of_round = round == p->connect_round;
        if (first_of_round) {
            p->connect_round++;
            uint32_t n = ++p->connect_failures_in_row;
            int64_t b = prd__pg_backoff_ns(p->cfg->backoff_initial_ms, p->cfg->backoff_max_ms,
                                           n - 1);
            p->next_connect_ns = prd__pg_real_ns() + b;
        }
        uint32_t n = p->connect_failures_in_row;
        int64_t b = p->next_connect_ns - prd__pg_real_ns();
        prd__pg_error_copy(&p->last_connect_error, e);
        slot_free(p, c);
        pthread_mutex_unlock(&p->lock);
        if (first_of_round)
            log_connect_failure(p, e, n, b > 0 ? b : 0);
        return st;
    }
    p->connect_round++;
    uint32_t had_failed = p->connect_failures_in_row;
    p->connect_failures_in_row = 0;
    p->next_connect_ns = 0;
    c->pg = pg;
    c->generation = p->generation;
    c->checked_epoch = atomic_load(&p->suspect_epoch);
    c->fork_epoch = prd__fork_epoch();
    c->broken = c->doomed = c->timed_out = 0;
    prd__pg_watch_notices(c);
    int64_t now = prd__pg_now_ns(p);
    c->created_ns = c->last_used_ns = now;
    c->expires_ns = INT64_MAX;
    if (p->cfg->max_lifetime_ms) {
        int64_t life = (int64_t)p->cfg->max_lifetime_ms * 1000000;
        int64_t jitter = life / 100 * p->cfg->lifetime_jitter_pct;
        if (jitter > 0)
            life -= (int64_t)(prd__pg_random() % (uint64_t)jitter);
        c->expires_ns = now + life;
    }
    pthread_mutex_unlock(&p->lock);
    prd__pg_metric_add(&p->metrics, PRD_PG_M_CONNECTS, 1);
    if (had_failed)
        PRD_LOG_INFO(p->cfg->logger, "pg reconnected", PRD_F_UINT("after_failures", had_failed));
    return PRD_OK;
}

/* Connect c (reserved, state CONNECTING) on this thread, by the earlier
 * of deadline_ns and the connect timeout. The connect belongs to the
 * backoff round in which its slot was reserved (a caller reserves only
 * when no backoff is running): taking the round when the connect starts
 * let a caller that reserved just before another's failure count a round
 * of its own, and callers connecting themselves made 5 rounds where 4
 * fit (test_pg_deadlines' backoff test). The manager reserves for others
 * and connects later, after the backoff: its connect is of the round it
 * starts in (manager_round). */
static prd_status slot_connect_in(prd_pg_pool *p, prd_pg_conn *c, prd_pg_error *err,
                                  int64_t deadline_ns, int manager_round)
{
    PGconn *pg = NULL;
    prd_pg_error local = {.status = PRD_OK};
    prd_pg_error *e = err ? err : &local;
    pthread_mutex_lock(&p->lock);
    uint64_t round = manager_round ? p->connect_round : c->reserved_round;
    pthread_mutex_unlock(&p->lock);
    int64_t own_end = prd__pg_real_ns() + (int64_t)p->cfg->connect_timeout_ms * 1000000;
    prd_status st = prd__pg_connect(p, &pg, e, deadline_ns);
    return slot_connected(p, c, pg, st, e, round, deadline_ns < own_end);
}

static prd_status slot_connect(prd_pg_pool *p, prd_pg_conn *c, prd_pg_error *err,
                               int64_t deadline_ns)
{
    return slot_connect_in(p, c, err, deadline_ns, 0);
}

/* Close c's connection and free its slot (lock not held). */
static void slot_close(prd_pg_pool *p, prd_pg_conn *c)
{
    prd__pg_conn_close(c);
    pthread_mutex_lock(&p->lock);
    slot_free(p, c);
    pthread_cond_broadcast(&p->drained);
    pthread_mutex_unlock(&p->lock);
}

/* ---- acquire ---- */

enum take { TAKE_NONE, TAKE_IDLE, TAKE_NEW };

/* demand: callers who want a connection now (the waiters, and this one
 * when not queued yet): no more new connections are started for them
 * than that, counting those the manager is making already. */
static enum take try_take(prd_pg_pool *p, prd_pg_conn **out, uint32_t demand)
{
    if (p->n_idle > 0) {
        /* The connection this thread gave back last, when still idle: its
         * memory is in this core's cache, and its server process is the
         * one this thread's wakeups are paired with (a thread that moved
         * between connections ran 0.84x a dedicated connection at 8
         * threads in bench_pg). Else the most recently used: warm. */
        prd_pg_conn *c = NULL;
        prd_pg_conn *mine = tls_last_released; /* maybe freed: only compared */
        if (mine)
            for (uint32_t i = p->n_idle; i-- > 0;)
                if (p->idle[i] == mine) {
                    c = mine;
                    idle_remove_at(p, i);
                    break;
                }
        if (!c)
            c = p->idle[--p->n_idle];
        c->state = PRD__SLOT_CONNECTING; /* reserved while checked */
        *out = c;
        return TAKE_IDLE;
    }
    if (p->n_open < p->cfg->max_size && p->n_bg_pending < demand &&
        prd__pg_real_ns() >= p->next_connect_ns) {
        prd_pg_conn *c = slot_reserve(p);
        if (c) {
            *out = c;
            return TAKE_NEW;
        }
    }
    return TAKE_NONE;
}

/* Check an idle connection before handing it out; 0 when usable. */
enum verdict { BAD = 0, GOOD = 1, CHECK = 2 };

/* What an idle connection needs before it goes out, without I/O (so it
 * can be asked under the lock). */
static enum verdict judge(prd_pg_pool *p, prd_pg_conn *c, int64_t now)
{
    if (c->doomed || c->broken || c->generation != p->generation || now >= c->expires_ns)
        return BAD;
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
        return BAD;
    if (now - c->last_used_ns >= (int64_t)p->cfg->health_check_after_ms * 1000000 ||
        c->checked_epoch < atomic_load(&p->suspect_epoch))
        return CHECK;
    return GOOD;
}

static int still_good(prd_pg_pool *p, prd_pg_conn *c, int64_t now, int64_t deadline_ns)
{
    enum verdict v = judge(p, c, now);
    if (v == CHECK) {
        c->checked_epoch = atomic_load(&p->suspect_epoch);
        return prd__pg_ping(c, deadline_ns) == 0; /* what it saw: on_report */
    }
    return v == GOOD;
}

/* Called with the lock held. */
static prd_status fail_acquire(prd_pg_pool *p, prd_status st, prd_pg_error *err)
{
    if (st == PRD_ETIMEOUT && p->connect_failures_in_row) {
        /* Waiting ended because the server cannot be reached: say so. */
        prd__pg_error_copy(err, &p->last_connect_error);
        st = p->last_connect_error.status == PRD_ETIMEOUT ? PRD_ETIMEOUT : PRD_EDB;
        if (err)
            err->status = st;
    } else if (st == PRD_ETIMEOUT && p->n_bg_pending) {
        prd__pg_metric_add(&p->metrics, PRD_PG_M_ACQUIRE_TIMEOUTS, 1);
        prd__pg_error_set(err, st, NULL,
                          "no connection within %u ms: a connect to the server is still in "
                          "progress (connect_timeout %u ms)",
                          p->cfg->acquire_timeout_ms, p->cfg->connect_timeout_ms);
    } else if (st == PRD_ETIMEOUT) {
        prd__pg_metric_add(&p->metrics, PRD_PG_M_ACQUIRE_TIMEOUTS, 1);
        prd__pg_error_set(err, st, NULL, "no connection free within %u ms (max_size %u)",
                          p->cfg->acquire_timeout_ms, p->cfg->max_size);
    } else if (st == PRD_EBUSY) {
        prd__pg_metric_add(&p->metrics, PRD_PG_M_ACQUIRE_BUSY, 1);
        prd__pg_error_set(err, st, NULL, "wait queue full (%u waiting)", p->cfg->max_waiters);
    } else if (st == PRD_ECLOSED) {
        prd__pg_error_set(err, st, NULL, "pool is closed");
    } else if (st == PRD_ENOMEM) {
        prd__pg_error_set(err, st, NULL, "out of memory");
    }
    return st;
}

/* t0 < 0: taken at once from the idle list, without waiting or I/O; its
 * wait (well under the first bucket's 100 us) is not measured, which
 * saves a clock read on the hot path. */
static void hand_out(prd_pg_conn *c, int64_t t0)
{
    prd__pg_error_clear(&c->error);
    prd__pg_local_add(&c->stats, PRD_PG_M_ACQUIRED, 1);
    prd__pg_local_observe(&c->stats, PRD_PG_H_ACQUIRE_WAIT, t0 < 0 ? 0 : prd__pg_real_ns() - t0);
}

prd_status prd_pg_pool_acquire_at(prd_pg_pool *p, prd_pg_conn **out, prd_pg_error *err,
                                  const char *file, int line)
{
    if (out)
        *out = NULL;
    prd__pg_error_clear(err);
    if (!p || !out)
        return PRD_EINVAL;
    check_fork(p);
    int64_t t0 = prd__pg_real_ns();
    int64_t deadline = t0 + (int64_t)p->cfg->acquire_timeout_ms * 1000000;
    struct prd__pg_waiter w;
    int queued = 0, cond_ready = 0, queued_once = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->closing) {
            if (queued)
                waiter_remove(p, &w);
            prd_status st = fail_acquire(p, PRD_ECLOSED, err);
            pthread_mutex_unlock(&p->lock);
            if (cond_ready)
                pthread_cond_destroy(&w.cond);
            return st;
        }
        prd_pg_conn *c = NULL;
        enum take how = TAKE_NONE;
        if (queued && w.handed) {
            c = w.handed;
            queued = 0; /* the releaser dequeued us */
            pthread_mutex_unlock(&p->lock);
            pthread_cond_destroy(&w.cond);
            hand_out(c, t0);
            *out = c;
            return PRD_OK;
        }
        /* FIFO: newcomers queue behind waiters; only the head takes. */
        if ((!queued && !p->wait_head) || (queued && p->wait_head == &w))
            how = try_take(p, &c, p->n_waiting + (queued ? 0 : 1));
        if (how != TAKE_NONE) {
            int was_head = queued;
            if (queued) {
                waiter_remove(p, &w);
                queued = 0;
            }
            int64_t now = p->cfg->clock ? prd__pg_now_ns(p) : t0; /* one clock read */
            if (how == TAKE_IDLE && judge(p, c, now) == GOOD) {
                /* The common case: a recently used connection, out at once. */
                mark_out_at(p, c, file, line, now);
                pthread_mutex_unlock(&p->lock);
                if (cond_ready)
                    pthread_cond_destroy(&w.cond);
                hand_out(c, queued_once ? t0 : -1);
                *out = c;
                return PRD_OK;
            }
            c->state = PRD__SLOT_CONNECTING;
            pthread_mutex_unlock(&p->lock);
            prd_status st = PRD_OK;
            if (how == TAKE_IDLE && !still_good(p, c, prd__pg_now_ns(p), deadline)) {
                prd__pg_metric_add(&p->metrics, c->broken || (c->pg && PQstatus(c->pg) != CONNECTION_OK)
                                                     ? PRD_PG_M_BROKEN
                                                     : PRD_PG_M_RECYCLED,
                                   1);
                prd__pg_conn_close(c);
                how = TAKE_NEW;
            }
            if (how == TAKE_NEW && p->maint_running && p->manager_connects) {
                /* The manager connects, off this thread and by its own
                 * connect timeout: a caller giving up does not waste the
                 * connect, and the connection goes to the first waiter. */
                pthread_mutex_lock(&p->lock);
                if (p->maint_running && p->manager_connects && !p->closing) {
                    p->bg[p->n_bg++] = c;
                    p->n_bg_pending++;
                    pthread_cond_broadcast(&p->maint_cond);
                    if (was_head) { /* back to the head of the line it had */
                        w.handed = NULL;
                        w.next = p->wait_head;
                        p->wait_head = &w; // cppcheck-suppress autoVariables
                        if (!p->wait_tail)
                            p->wait_tail = &w; // cppcheck-suppress autoVariables
                        p->n_waiting++;
                        queued = 1;
                    }
                    goto wait;
                }
                pthread_mutex_unlock(&p->lock);
            }
            if (how == TAKE_NEW)
                st = slot_connect(p, c, err, deadline);
            pthread_mutex_lock(&p->lock);
            if (st == PRD_OK) {
                if (p->closing) {
                    pthread_mutex_unlock(&p->lock);
                    slot_close(p, c);
                    pthread_mutex_lock(&p->lock);
                    continue; /* reports ECLOSED */
                }
                mark_out(p, c, file, line);
                pthread_mutex_unlock(&p->lock);
                if (cond_ready)
                    pthread_cond_destroy(&w.cond);
                prd__pg_error_clear(err);
                hand_out(c, t0);
                *out = c;
                return PRD_OK;
            }
            if (st == PRD_ENOMEM) {
                st = fail_acquire(p, st, err);
                pthread_mutex_unlock(&p->lock);
                if (cond_ready)
                    pthread_cond_destroy(&w.cond);
                return st;
            }
            /* Connect failed (backoff armed): wait for the next chance. */
        }
    wait:;
        int64_t now = prd__pg_real_ns();
        if (now >= deadline) {
            if (queued)
                waiter_remove(p, &w);
            prd_status st = fail_acquire(p, PRD_ETIMEOUT, err);
            pthread_mutex_unlock(&p->lock);
            if (cond_ready)
                pthread_cond_destroy(&w.cond);
            return st;
        }
        if (!queued) {
            if (p->n_waiting >= p->cfg->max_waiters) {
                prd_status st = fail_acquire(p, PRD_EBUSY, err);
                pthread_mutex_unlock(&p->lock);
                if (cond_ready)
                    pthread_cond_destroy(&w.cond);
                return st;
            }
            if (!cond_ready) {
                prd__cond_init_mono(&w.cond);
                cond_ready = 1;
            }
            w.handed = NULL;
            w.wake = 0;
            w.next = NULL;
            w.file = file;
            w.line = line;
            w.thread = pthread_self();
            /* The waiter lives on this stack frame: every return below
             * takes it off the queue first (or a releaser already did). */
            if (p->wait_tail)
                p->wait_tail->next = &w;
            else
                p->wait_head = &w; // cppcheck-suppress autoVariables
            p->wait_tail = &w;     // cppcheck-suppress autoVariables
            p->n_waiting++;
            queued = queued_once = 1;
        }
        int64_t until = deadline;
        if (p->wait_head == &w && p->n_open < p->cfg->max_size && p->next_connect_ns > now &&
            p->next_connect_ns < until)
            until = p->next_connect_ns; /* backoff ends: try to connect */
        struct timespec ts;
        deadline_ts(until, &ts);
        w.wake = 0;
        int rc = pthread_cond_timedwait(&w.cond, &p->lock, &ts);
        (void)rc; /* every outcome is re-examined at the top */
    }
}

/* ---- for event-loop drivers (pg/async.c): nothing here waits ---- */

int prd__pg_pool_take_nowait(prd_pg_pool *p, prd_pg_conn **out, uint32_t demand,
                             uint64_t *round)
{
    *out = NULL;
    check_fork(p);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        if (p->closing) {
            pthread_mutex_unlock(&p->lock);
            return PRD__TAKE_CLOSED;
        }
        prd_pg_conn *c = NULL;
        /* Threads queued in acquire are first in line. */
        enum take how = p->wait_head ? TAKE_NONE : try_take(p, &c, demand);
        if (how == TAKE_NONE) {
            pthread_mutex_unlock(&p->lock);
            return PRD__TAKE_NONE;
        }
        if (how == TAKE_NEW) {
            *round = p->connect_round;
            pthread_mutex_unlock(&p->lock);
            *out = c;
            return PRD__TAKE_CONNECT;
        }
        int64_t now = prd__pg_now_ns(p);
        enum verdict v = judge(p, c, now);
        if (v != BAD) {
            mark_out_at(p, c, "prd_pg_async", 0, now);
            if (v == CHECK)
                c->checked_epoch = atomic_load(&p->suspect_epoch);
            pthread_mutex_unlock(&p->lock);
            hand_out(c, -1);
            *out = c;
            return v == GOOD ? PRD__TAKE_READY : PRD__TAKE_CHECK;
        }
        pthread_mutex_unlock(&p->lock);
        prd__pg_metric_add(&p->metrics, c->broken || (c->pg && PQstatus(c->pg) != CONNECTION_OK)
                                             ? PRD_PG_M_BROKEN
                                             : PRD_PG_M_RECYCLED,
                           1);
        slot_close(p, c); /* and look again */
    }
}

prd_status prd__pg_pool_connected(prd_pg_pool *p, prd_pg_conn *c, PGconn *pg, prd_status st,
                                  prd_pg_error *err, uint64_t round, int caller_cut)
{
    st = slot_connected(p, c, pg, st, err, round, caller_cut);
    if (st != PRD_OK)
        return st;
    pthread_mutex_lock(&p->lock);
    if (p->closing) {
        pthread_mutex_unlock(&p->lock);
        slot_close(p, c);
        prd__pg_error_set(err, PRD_ECLOSED, NULL, "pool is closed");
        return PRD_ECLOSED;
    }
    mark_out(p, c, "prd_pg_async", 0);
    pthread_mutex_unlock(&p->lock);
    hand_out(c, -1);
    return PRD_OK;
}

void prd__pg_pool_slot_abandon(prd_pg_pool *p, prd_pg_conn *c)
{
    pthread_mutex_lock(&p->lock);
    slot_free(p, c);
    pthread_mutex_unlock(&p->lock);
}

void prd__pg_pool_watch(prd_pg_pool *p, struct prd__pg_watch *w, int on)
{
    check_fork(p); /* a child's list starts empty: the parent's drivers are not its own */
    pthread_mutex_lock(&p->lock);
    struct prd__pg_watch **pp = &p->watchers;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (on && !*pp) {
        w->next = p->watchers;
        p->watchers = w;
    } else if (!on && *pp) {
        *pp = w->next;
    }
    pthread_mutex_unlock(&p->lock);
}

int64_t prd__pg_pool_connect_after(prd_pg_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int64_t t = p->n_open < p->cfg->max_size ? p->next_connect_ns : INT64_MAX;
    pthread_mutex_unlock(&p->lock);
    return t;
}

/* ---- what connections saw ---- */

static void suspect(prd_pg_pool *p);
static void failover(prd_pg_pool *p, uint64_t generation, const char *why);

/* Act on what c reported (lock not held). */
static void absorb(prd_pg_pool *p, prd_pg_conn *c)
{
    int saw = c->saw;
    if (!saw)
        return;
    c->saw = 0;
    if (saw & PRD__PG_SAW_BROKEN)
        suspect(p);
    if (saw & PRD__PG_SAW_FAILOVER)
        failover(p, c->generation, c->saw_why ? c->saw_why : "server is going away");
}

/* ---- release ---- */

static void pool_destroy(prd_pg_pool *p);

void prd_pg_pool_release(prd_pg_conn *c)
{
    if (!c)
        return;
    prd_pg_pool *p = c->pool;
    check_fork(p);
    /* Leave no session state behind for the next user. */
    unsigned long epoch = prd__fork_epoch();
    if (c->in_copy) { /* abandoned midway: the protocol is in COPY state */
        c->broken = 1;
        c->in_copy = 0;
    }
    if (c->pg && !c->broken && c->fork_epoch == epoch) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            c->tx_deadline_ns = INT64_MAX;
            prd_status tst;
            PGresult *r = prd__pg_exec(c, "ROLLBACK", prd__pg_stmt_deadline(c), &tst);
            if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
                c->broken = 1;
            PQclear(r);
        } else if (ts != PQTRANS_IDLE) {
            c->broken = 1; /* active or unknown: cannot be trusted */
        }
    }
    c->in_tx = c->begin_pending = c->retryable = c->tx_read_only = 0;
    c->savepoint_depth = 0;
    int64_t now = prd__pg_now_ns(p);

    pthread_mutex_lock(&p->lock);
    p->n_out--;
    int close_it = c->broken || c->doomed || c->generation != p->generation || p->closing ||
                   now >= c->expires_ns || c->fork_epoch != epoch || !c->pg ||
                   PQstatus(c->pg) != CONNECTION_OK;
    if (close_it) {
        if (c->broken)
            prd__pg_metric_add(&p->metrics, PRD_PG_M_BROKEN, 1);
        else if (!p->closing && now >= c->expires_ns)
            prd__pg_metric_add(&p->metrics, PRD_PG_M_RECYCLED, 1);
        c->state = PRD__SLOT_CONNECTING;
    } else {
        c->last_used_ns = now;
        slot_give(p, c);
        tls_last_released = c;
    }
    if (p->closing)
        pthread_cond_broadcast(&p->drained); /* only close() waits on it */
    int last = 0;
    if (!close_it)
        last = --p->refs == 0;
    pthread_mutex_unlock(&p->lock);

    if (close_it) {
        slot_close(p, c);
        pthread_mutex_lock(&p->lock);
        last = --p->refs == 0;
        pthread_mutex_unlock(&p->lock);
    }
    if (last)
        pool_destroy(p);
}

/* ---- failover and suspicion ---- */

static void suspect(prd_pg_pool *p)
{
    atomic_fetch_add(&p->suspect_epoch, 1);
}

/* Close the idle connections that fail keep(), with the lock released. */
static size_t drop_idle(prd_pg_pool *p,
                        int (*keep)(prd_pg_pool *, prd_pg_conn *, int64_t, size_t),
                        int64_t now, prd_pg_metric counted_as)
{
    prd_pg_conn *stackbuf[64];
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < p->n_idle && n < PRD_ARRAY_LEN(stackbuf);) {
        prd_pg_conn *c = p->idle[i];
        if (keep && keep(p, c, now, n)) {
            i++;
            continue;
        }
        idle_remove_at(p, i);
        c->state = PRD__SLOT_CONNECTING;
        stackbuf[n++] = c;
    }
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < n; i++)
        slot_close(p, stackbuf[i]);
    if (n)
        prd__pg_metric_add(&p->metrics, counted_as, n);
    return n;
}

static int keep_current_gen(prd_pg_pool *p, prd_pg_conn *c, int64_t now, size_t dropped)
{
    (void)now;
    (void)dropped;
    return c->generation == p->generation;
}

static void failover(prd_pg_pool *p, uint64_t generation, const char *why)
{
    pthread_mutex_lock(&p->lock);
    int first = generation == p->generation;
    if (first) {
        p->generation++;
        /* Reconnect at once: the new primary may already be there. */
        p->connect_failures_in_row = 0;
        p->next_connect_ns = 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (!first)
        return; /* another connection already reported it */
    prd__pg_metric_add(&p->metrics, PRD_PG_M_FAILOVERS, 1);
    PRD_LOG_WARN(p->cfg->logger, "pg dropping every connection of a generation",
                 PRD_F_STR("reason", why), PRD_F_UINT("generation", generation));
    while (drop_idle(p, keep_current_gen, 0, PRD_PG_M_BROKEN) > 0) {
    }
}

/* ---- housekeeping ---- */

static int keep_idle(prd_pg_pool *p, prd_pg_conn *c, int64_t now, size_t dropped)
{
    if (c->generation != p->generation || now >= c->expires_ns)
        return 0;
    /* Idle ones go down to min_size (counting those this sweep drops);
     * lifetime and generation apply to all. */
    if (p->cfg->idle_timeout_ms &&
        now - c->last_used_ns >= (int64_t)p->cfg->idle_timeout_ms * 1000000 &&
        p->n_open - dropped > p->cfg->min_size)
        return 0;
    return 1;
}

static void report_leaks(prd_pg_pool *p, int64_t now)
{
    if (!p->cfg->leak_threshold_ms)
        return;
    int64_t limit = (int64_t)p->cfg->leak_threshold_ms * 1000000;
    for (;;) {
        const char *file = NULL;
        int line = 0;
        int64_t held = 0;
        pthread_mutex_lock(&p->lock);
        for (uint32_t i = 0; i < p->cfg->max_size; i++) {
            prd_pg_conn *c = p->slots[i];
            if (c && c->state == PRD__SLOT_OUT && !c->leak_reported &&
                now - c->acquired_ns >= limit) {
                c->leak_reported = 1;
                file = c->acquired_file;
                line = c->acquired_line;
                held = now - c->acquired_ns;
                break;
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (!file)
            return;
        prd__pg_metric_add(&p->metrics, PRD_PG_M_LEAKS, 1);
        PRD_LOG_WARN(p->cfg->logger, "pg connection held past the leak threshold",
                     PRD_F_STR("acquired_at_file", file), PRD_F_INT("acquired_at_line", line),
                     PRD_F_DOUBLE("held_ms", (double)held / 1e6),
                     PRD_F_UINT("threshold_ms", p->cfg->leak_threshold_ms));
    }
}

static void fill_min(prd_pg_pool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->lock);
        prd_pg_conn *c = NULL;
        if (!p->closing && p->n_open < p->cfg->min_size &&
            prd__pg_real_ns() >= p->next_connect_ns)
            c = slot_reserve(p);
        pthread_mutex_unlock(&p->lock);
        if (!c || slot_connect(p, c, NULL, INT64_MAX) != PRD_OK)
            return;
        pthread_mutex_lock(&p->lock);
        if (p->closing) {
            pthread_mutex_unlock(&p->lock);
            slot_close(p, c);
            return;
        }
        slot_give(p, c);
        pthread_mutex_unlock(&p->lock);
    }
}

prd_status prd_pg_pool_maintain(prd_pg_pool *p)
{
    if (!p)
        return PRD_EINVAL;
    check_fork(p);
    if (p->closing)
        return PRD_ECLOSED;
    int64_t now = prd__pg_now_ns(p);
    while (drop_idle(p, keep_idle, now, PRD_PG_M_RECYCLED) > 0) {
    }
    report_leaks(p, now);
    fill_min(p);
    return PRD_OK;
}

/* The manager: connects the slots acquire reserved (one at a time, each
 * by the connect timeout, honouring the backoff), and runs the
 * housekeeping every maintenance interval. */
static void *maint_main(void *arg)
{
    prd_pg_pool *p = arg;
    int64_t next_maint = prd__pg_real_ns() + (int64_t)p->cfg->maintenance_interval_ms * 1000000;
    pthread_mutex_lock(&p->lock);
    while (!p->closing) {
        int64_t now = prd__pg_real_ns();
        if (p->n_bg > 0 && now >= p->next_connect_ns) {
            prd_pg_conn *c = p->bg[--p->n_bg];
            pthread_mutex_unlock(&p->lock);
            prd_status st = slot_connect_in(p, c, NULL, INT64_MAX, 1); /* frees the slot on failure */
            pthread_mutex_lock(&p->lock);
            p->n_bg_pending--;
            if (st == PRD_OK) {
                if (p->closing) {
                    pthread_mutex_unlock(&p->lock);
                    slot_close(p, c);
                    pthread_mutex_lock(&p->lock);
                } else {
                    slot_give(p, c);
                }
            }
            continue;
        }
        if (now >= next_maint) {
            pthread_mutex_unlock(&p->lock);
            /* A failed round (database down) is counted by the pool and
             * retried at the next interval; nobody waits on this thread. */
            prd_status maintained = prd_pg_pool_maintain(p);
            (void)maintained;
            pthread_mutex_lock(&p->lock);
            next_maint = prd__pg_real_ns() + (int64_t)p->cfg->maintenance_interval_ms * 1000000;
            continue;
        }
        int64_t until = next_maint;
        if (p->n_bg > 0 && p->next_connect_ns < until)
            until = p->next_connect_ns;
        struct timespec ts;
        deadline_ts(until, &ts);
        pthread_cond_timedwait(&p->maint_cond, &p->lock, &ts);
    }
    while (p->n_bg > 0) { /* closing: reserved slots never connected */
        prd_pg_conn *c = p->bg[--p->n_bg];
        p->n_bg_pending--;
        slot_free(p, c);
    }
    pthread_cond_broadcast(&p->drained);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- lifecycle ---- */

static void pool_destroy(prd_pg_pool *p)
{
    for (uint32_t i = 0; i < p->cfg->max_size; i++) {
        prd_pg_conn *c = p->slots[i];
        if (!c)
            continue;
        prd__pg_conn_close(c);
        prd__free(c->stmts);
        prd__free(c);
    }
    prd__free(p->slots);
    prd__free(p->idle);
    prd__free(p->bg);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->drained);
    pthread_cond_destroy(&p->maint_cond);
    prd_pg_config_free(p->cfg);
    prd__free(p);
}

prd_status prd_pg_pool_new(const prd_pg_config *cfg, prd_pg_pool **out, prd_pg_error *err)
{
    prd__pg_error_clear(err);
    if (!out)
        return PRD_EINVAL;
    *out = NULL;
    if (!cfg || !cfg->conninfo) {
        prd__pg_error_set(err, PRD_EINVAL, NULL, "config: missing");
        return PRD_EINVAL;
    }
    if (cfg->min_size > cfg->max_size) {
        prd__pg_error_set(err, PRD_EINVAL, NULL, "min_size: %u is more than max_size %u",
                          cfg->min_size, cfg->max_size);
        return PRD_EINVAL;
    }
    prd_status st = prd__ensure_init();
    if (st != PRD_OK)
        return st;
    prd_pg_pool *p = prd__calloc(1, sizeof *p);
    if (!p)
        return PRD_ENOMEM;
    st = prd__pg_config_copy(cfg, &p->cfg);
    if (st != PRD_OK) {
        prd__free(p);
        return st;
    }
    p->slots = prd__calloc(cfg->max_size, sizeof *p->slots);
    p->idle = prd__calloc(cfg->max_size, sizeof *p->idle);
    p->bg = prd__calloc(cfg->max_size, sizeof *p->bg);
    if (!p->slots || !p->idle || !p->bg) {
        prd__free(p->slots);
        prd__free(p->idle);
        prd__free(p->bg);
        prd_pg_config_free(p->cfg);
        prd__free(p);
        return PRD_ENOMEM;
    }
    lock_init(&p->lock);
    prd__cond_init_mono(&p->drained);
    prd__cond_init_mono(&p->maint_cond);
    p->on_report = absorb;
    prd__watch_forks();
    p->fork_epoch = prd__fork_epoch();
    p->refs = 1;
    p->generation = 1;

    if (cfg->min_size > 0) {
        /* Fail fast: a wrong password or host shows now, not on the first
         * request. */
        pthread_mutex_lock(&p->lock);
        prd_pg_conn *c = slot_reserve(p);
        pthread_mutex_unlock(&p->lock);
        st = c ? slot_connect(p, c, err, INT64_MAX) : PRD_ENOMEM;
        if (st != PRD_OK) {
            pool_destroy(p);
            return st;
        }
        pthread_mutex_lock(&p->lock);
        slot_give(p, c);
        pthread_mutex_unlock(&p->lock);
    }
    if (cfg->maintenance_interval_ms) {
        if (pthread_create(&p->maint_thread, NULL, maint_main, p) != 0) {
            pool_destroy(p);
            prd__pg_error_set(err, PRD_EINTERNAL, NULL, "could not start the housekeeping thread");
            return PRD_EINTERNAL;
        }
        p->maint_running = 1;
        p->manager_connects = 1;
    }
    *out = p;
    return PRD_OK;
}

prd_status prd_pg_pool_close(prd_pg_pool *p, uint32_t drain_ms)
{
    if (!p)
        return PRD_EINVAL;
    check_fork(p);
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    for (struct prd__pg_waiter *w = p->wait_head; w; w = w->next) {
        w->wake = 1;
        pthread_cond_signal(&w->cond);
    }
    pthread_cond_broadcast(&p->maint_cond);
    int join = p->maint_running && !pthread_equal(p->maint_thread, pthread_self());
    int running = p->maint_running;
    p->maint_running = 0;
    pthread_mutex_unlock(&p->lock);
    if (join)
        pthread_join(p->maint_thread, NULL);
    else if (running)
        pthread_detach(p->maint_thread);

    while (drop_idle(p, NULL, 0, PRD_PG_M_RECYCLED) > 0) {
    }
    int64_t deadline = prd__pg_real_ns() + (int64_t)drain_ms * 1000000;
    pthread_mutex_lock(&p->lock);
    while (p->n_out > 0 || p->n_open > p->n_out) {
        if (prd__pg_real_ns() >= deadline)
            break;
        struct timespec ts;
        deadline_ts(deadline, &ts);
        pthread_cond_timedwait(&p->drained, &p->lock, &ts);
    }
    uint32_t left = p->n_out;
    pthread_mutex_unlock(&p->lock);
    return left ? PRD_ETIMEOUT : PRD_OK;
}

void prd_pg_pool_free(prd_pg_pool *p)
{
    if (!p)
        return;
    /* No grace period: a timeout only says connections were still out,
     * and they are closed as they come back. */
    prd_status closed = prd_pg_pool_close(p, 0);
    (void)closed;
    pthread_mutex_lock(&p->lock);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        pool_destroy(p);
}
