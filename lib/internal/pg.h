/* Internal pieces of the pg module, shared by lib/pg_*.c. */
#ifndef PRD_INTERNAL_PG_H
#define PRD_INTERNAL_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "prodready/pg.h"

/* ---- errors (pg/error.c) ---- */

#define PRD__PG_ERRMSG_MAX 1024
struct prd_pg_error {
    prd_status status;
    char sqlstate[6];
    char message[PRD__PG_ERRMSG_MAX];
    char detail[PRD__PG_ERRMSG_MAX];
    char hint[512];
    char constraint[128];
    char table[128];
    char column[128];
};

void prd__pg_error_clear(prd_pg_error *e);
/* Fill from a failed result (server fields) with the given status. */
void prd__pg_error_from_result(prd_pg_error *e, const PGresult *res, prd_status st);
/* Fill with a status and a message (printf-style), no SQLSTATE. */
void prd__pg_error_set(prd_pg_error *e, prd_status st, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fill from the connection's error message (connection failures). */
void prd__pg_error_from_conn(prd_pg_error *e, const PGconn *c, prd_status st,
                             const char *sqlstate);
void prd__pg_error_copy(prd_pg_error *dst, const prd_pg_error *src);
/* Replace every occurrence of password (when 4+ bytes) in the message
 * fields with "[REDACTED]". */
void prd__pg_error_scrub(prd_pg_error *e, const char *password);

/* ---- config (pg/config.c) ---- */

struct prd_pg_config {
    char *conninfo;    /* guarded memory */
    char *password;    /* guarded memory: the conninfo's password, or NULL */
    char *user_options; /* the conninfo's "options", or NULL */
    int wants_primary; /* target_session_attrs asks for a writable server */
    uint32_t min_size, max_size, max_waiters;
    uint32_t acquire_timeout_ms, connect_timeout_ms;
    uint64_t idle_timeout_ms, max_lifetime_ms;
    uint32_t lifetime_jitter_pct;
    uint64_t health_check_after_ms;
    uint32_t statement_timeout_ms, idle_in_tx_timeout_ms, lock_timeout_ms;
    uint32_t query_timeout_ms; /* the client's deadline a statement (0: derived) */
    /* TCP settings libpq gets unless the conninfo names them: "" = the
     * conninfo's own (a dead peer is noticed in about 30 s) */
    char keepalives_idle[8], keepalives_interval[8], keepalives_count[8], tcp_user_timeout[12];
    char application_name[64];
    char name[64]; /* the pool's name: the metrics' pool label */
    int app_name_set;         /* set by the setter: overrides the conninfo's */
    char connect_timeout_s[12]; /* for libpq's per-host timeout; "" when the conninfo has one */
    uint64_t leak_threshold_ms;
    uint32_t stmt_cache_size;
    uint32_t backoff_initial_ms, backoff_max_ms;
    uint64_t slow_query_ms;
    uint32_t maintenance_interval_ms;
    prd_logger *logger;
    const prd_clock *clock;
    char error[256];
};

prd_status prd__pg_config_copy(const prd_pg_config *src, prd_pg_config **out);
/* Startup parameters for PQconnectStartParams (pointers into cfg and
 * into options_buf, which must outlive the connect). */
#define PRD__PG_START_PARAMS 10 /* including the NULL terminator */
void prd__pg_config_start_params(const prd_pg_config *cfg, const char **keys, const char **vals,
                                 char *options_buf, size_t options_cap);

/* ---- parameters (pg/params.c) ---- */

struct prd_pg_params {
    size_t n, cap;
    /* per parameter: offset into data (SIZE_MAX = NULL), length, oid, format */
    size_t *off;
    int *len;
    Oid *oid;
    int *fmt;
    char *data;
    size_t data_len, data_cap;
    int result_format; /* 1: results in binary (prd_pg_params_set_binary_results) */
};

/* The values of p as pointers (resolved now: the data buffer may have
 * moved since they were added), in stack when it has room for them, else
 * allocated (free it when it is not stack). NULL: out of memory. */
const char **prd__pg_params_values(const prd_pg_params *p, const char **stack, size_t stack_n);

/* ---- results (pg/result.c) ---- */

struct prd_pg_result {
    PGresult *res;
};
prd_status prd__pg_result_wrap(PGresult *res, prd_pg_result **out);

/* ---- metrics (pg/metrics.c) ---- */

#define PRD__PG_HBUCKETS 17
#define PRD__PG_RETRY_CODES 8
struct prd__pg_hist {
    _Atomic uint64_t buckets[PRD__PG_HBUCKETS]; /* non-cumulative */
    _Atomic uint64_t sum_ns;
};
/* Counters a connection keeps for itself: written only by the thread
 * holding the connection (or under the pool lock), so a plain load+store
 * does, with no cache line bouncing between threads on the query path.
 * Readers sum them over the slots. */
struct prd__pg_stats {
    _Atomic uint64_t counters[PRD_PG_METRIC_MAX + 1];
    struct prd__pg_hist hist[2];
};
void prd__pg_local_add(struct prd__pg_stats *s, prd_pg_metric which, uint64_t n);
void prd__pg_local_observe(struct prd__pg_stats *s, prd_pg_histogram h, int64_t ns);

/* Pool-wide counters for rarer events (connects, failures, retries...). */
struct prd__pg_metrics {
    _Atomic uint64_t counters[PRD_PG_METRIC_MAX + 1];
    /* retries by SQLSTATE: a small fixed table, first come first served */
    _Atomic uint64_t retry_code[PRD__PG_RETRY_CODES]; /* packed 5 chars, 0 = free */
    _Atomic uint64_t retry_count[PRD__PG_RETRY_CODES];
};
void prd__pg_metric_add(struct prd__pg_metrics *m, prd_pg_metric which, uint64_t n);
void prd__pg_retry_count(struct prd__pg_metrics *m, const char *sqlstate);

/* ---- connections (pg/conn.c) ---- */

struct prd__pg_stmt {
    uint64_t hash;
    char *sql;
    uint64_t last_use;
    uint32_t id;
};

enum prd__pg_slot_state { PRD__SLOT_EMPTY = 0, PRD__SLOT_CONNECTING, PRD__SLOT_IDLE, PRD__SLOT_OUT };

struct prd_pg_conn {
    prd_pg_pool *pool;
    PGconn *pg;
    int state;             /* enum prd__pg_slot_state, under the pool lock */
    uint64_t generation;   /* pool generation it was made in */
    unsigned long fork_epoch; /* prd__fork_epoch() when it was made */
    int64_t created_ns, expires_ns, last_used_ns, acquired_ns;
    uint64_t checked_epoch; /* pool suspect epoch at its last check */
    uint64_t reserved_round; /* the pool's connect round when the slot was reserved */
    const char *acquired_file;
    int acquired_line;
    int leak_reported;
    int broken;          /* lost or unusable: close on release */
    int doomed;          /* failover or close: close on release */
    int timed_out;       /* a reply missed its deadline: the session is out of step */
    int saw;             /* PRD__PG_SAW_*: what it saw, for the pool to act on */
    const char *saw_why; /* static text: why (failover) */
    int server_gone;     /* the server sent FATAL or PANIC: the session is ending */
    pthread_t owner;     /* the thread that acquired it (fork: who still holds it) */
    int64_t tx_deadline_ns; /* INT64_MAX, or the end of prd_pg_tx_run's time */
    int in_copy;            /* 1 COPY FROM STDIN, 2 COPY TO STDOUT in progress */
    int64_t copy_deadline_ns;
    /* transaction state (pg/tx.c) */
    int in_tx;           /* inside prd_pg_tx_run */
    int begin_pending;   /* BEGIN not sent yet: goes with the first statement */
    int tx_read_only;    /* the transaction was begun READ ONLY */
    char begin_sql[96];
    int retryable;       /* a failure that makes the whole tx run again */
    char retry_sqlstate[6];
    unsigned savepoint_depth;
    /* prepared statement cache */
    struct prd__pg_stmt *stmts;
    uint32_t n_stmts, next_stmt_id;
    uint64_t use_tick;
    prd_pg_error error;
    struct prd__pg_stats stats;
};

/* Open a connection for the pool (non-blocking connect, by the earlier
 * of deadline_ns and the connect timeout; left in nonblocking mode). */
prd_status prd__pg_connect(prd_pg_pool *pool, PGconn **out, prd_pg_error *err,
                           int64_t deadline_ns);
/* The same in two halves, for a caller that drives PQconnectPoll itself
 * (pg/async.c): start (NULL: out of memory), then end with how the
 * polling went; on failure end fills err and frees c. */
PGconn *prd__pg_connect_start(prd_pg_pool *pool);
prd_status prd__pg_connect_end(prd_pg_pool *pool, PGconn *c, prd_status st, prd_pg_error *err);
/* libpq's notices go to the log; FATAL and PANIC mark c server_gone. */
void prd__pg_watch_notices(prd_pg_conn *c);
/* One round trip to check a connection by deadline_ns; 0 when usable. */
int prd__pg_ping(prd_pg_conn *c, int64_t deadline_ns);

/* ---- waiting with a deadline (pg/wait.c) ---- */

/* Without a query timeout, the client waits statement_timeout plus this
 * before it gives up: the server's own timeout error should come first. */
#define PRD__PG_QUERY_SLACK_MS 2000
/* A statement's deadline on c (INT64_MAX: none). */
int64_t prd__pg_stmt_deadline(const prd_pg_conn *c);
int64_t prd__pg_min_deadline(int64_t a, int64_t b);
/* PQgetResult once it will not block; NULL with *st PRD_ETIMEOUT when the
 * deadline passed (c is then broken and its error set). */
PGresult *prd__pg_get_result(prd_pg_conn *c, int64_t deadline, prd_status *st);
/* PQexec, PQexecParams and PQexecPrepared (name) with a deadline. */
PGresult *prd__pg_exec(prd_pg_conn *c, const char *sql, int64_t deadline, prd_status *st);
PGresult *prd__pg_exec_params(prd_pg_conn *c, const char *sql, const char *name, int n,
                              const Oid *oids, const char *const *vals, const int *lens,
                              const int *fmts, int result_format, int64_t deadline,
                              prd_status *st);
/* Mark c timed out: broken, error set, counted. */
void prd__pg_timed_out(prd_pg_conn *c);
/* 1 when what the server already sent says the session is over. */
int prd__pg_input_waiting_dead(prd_pg_conn *c);
/* The prepared statement cache for a pipelined send (pg/async.c), which
 * cannot stop for a DEALLOCATE: the name sql has on c goes in name.
 * 1: cached; 0: to be prepared first (it is in the cache from now), and
 * *evict is the id of a statement dropped to make room (0: none) that the
 * caller deallocates on the server; -1: no cache (unnamed statements);
 * -2: out of memory. forget_sql drops sql after its Parse failed. */
int prd__pg_stmt_for_pipeline(prd_pg_conn *c, const char *sql, size_t len, char name[24],
                              uint32_t *evict);
void prd__pg_stmt_forget_sql(prd_pg_conn *c, const char *sql, size_t len);
void prd__pg_stmt_name(uint32_t id, char name[24]);
/* Drop the prepared statement cache (after DISCARD or reconnect). */
void prd__pg_stmt_cache_clear(prd_pg_conn *c);
/* Close the libpq connection; in a forked child, without touching the
 * parent's socket. */
void prd__pg_conn_close(prd_pg_conn *c);
/* Record a failed result on c (mapped by SQLSTATE; none: lost). */
prd_status prd__pg_fail_from_result(prd_pg_conn *c, const PGresult *r);
/* PRD_OK when c can run a statement; else its error is set (PRD_EDB). */
prd_status prd__pg_usable(prd_pg_conn *c);
/* Inside prd_pg_tx_run, send the BEGIN still pending (for COPY and
 * streaming, which cannot pipeline it). */
prd_status prd__pg_begin_if_pending(prd_pg_conn *c);
/* Usable, no COPY in progress, the pending BEGIN sent: c can take a
 * statement that is not pipelined. */
prd_status prd__pg_ready_to_send(prd_pg_conn *c);
/* Run a statement with no parameters and no cache (BEGIN, COMMIT, ...). */
prd_status prd__pg_exec_simple(prd_pg_conn *c, const char *sql);
/* What a connection saw that concerns the pool. The connection records
 * it and tells whoever registered to hear (prd__pg_report calls the
 * pool's on_report, which pg/pool.c sets); it knows nothing of the pool's
 * workings, so no function of pg/conn.c calls into pg/pool.c: the pool
 * drives connections, and connections report. */
#define PRD__PG_SAW_BROKEN 1   /* a session lost: check the others before reuse */
#define PRD__PG_SAW_FAILOVER 2 /* the server is read-only or going away */
void prd__pg_report(prd_pg_conn *c, int what, const char *why);
/* Note what a failure means for the connection and the pool: broken,
 * failover, retryable. */
void prd__pg_note_failure(prd_pg_conn *c, const char *sqlstate);

/* ---- pool (pg/pool.c) ---- */

struct prd__pg_waiter {
    pthread_cond_t cond;
    prd_pg_conn *handed; /* a connection given to this waiter */
    int wake;            /* a slot freed or the pool closed: look again */
    const char *file;    /* where the waiter acquires from (leak reports) */
    int line;
    pthread_t thread;    /* who waits: the owner of what it is handed */
    struct prd__pg_waiter *next;
};

/* An event-loop driver that wants to hear when a connection may be had
 * (pg/async.c): nudged through its eventfd while hungry. */
struct prd__pg_watch {
    int fd;
    _Atomic int hungry;
    struct prd__pg_watch *next; /* under the pool lock */
};
void prd__pg_watch_nudge(struct prd__pg_watch *w);

struct prd_pg_pool {
    prd_pg_config *cfg;
    pthread_mutex_t lock;
    pthread_cond_t drained; /* signalled when a connection comes back */
    prd_pg_conn **slots;    /* max_size entries, each made on first use */
    prd_pg_conn **idle;     /* idle connections, most recently used last */
    uint32_t n_open, n_idle, n_out, n_waiting;
    struct prd__pg_waiter *wait_head, *wait_tail;
    _Atomic uint64_t generation;
    _Atomic uint64_t suspect_epoch;
    _Atomic int closing;
    unsigned long fork_epoch; /* of the process the pool state belongs to */
    int refs; /* 1 for the owner + 1 per connection out */
    /* reconnect backoff: one step per round of failed connects, however
     * many were in flight (connect_round counts rounds) */
    uint32_t connect_failures_in_row;
    uint64_t connect_round;
    int64_t next_connect_ns; /* real monotonic time */
    prd_pg_error last_connect_error;
    /* the manager (housekeeping) thread connects for acquire: reserved
     * slots wait in bg until it gets to them */
    prd_pg_conn **bg;
    uint32_t n_bg, n_bg_pending; /* queued; queued or connecting */
    int manager_connects; /* acquire hands connects to the manager (not in a forked child) */
    pthread_t maint_thread;
    int maint_running;
    pthread_cond_t maint_cond;
    struct prd__pg_metrics metrics;
    struct prd__pg_watch *watchers; /* event-loop drivers (under the lock) */
    /* hears what a connection reports (prd__pg_report); lock not held */
    void (*on_report)(prd_pg_pool *pool, prd_pg_conn *c);
};

/* For event-loop drivers (pg/async.c); none of these waits.
 * take_nowait: READY a connection out to the caller; CHECK out too, but
 * idle long enough (or suspect) to need one round trip first; CONNECT an
 * empty slot reserved for the caller to connect (then report with
 * prd__pg_pool_connected, which hands it out on success, or give it up
 * with prd__pg_pool_slot_abandon), *round set for the backoff's
 * bookkeeping; NONE nothing to be had now (threads queued in acquire go
 * first; demand as in acquire); CLOSED. */
enum { PRD__TAKE_NONE, PRD__TAKE_READY, PRD__TAKE_CHECK, PRD__TAKE_CONNECT, PRD__TAKE_CLOSED };
int prd__pg_pool_take_nowait(prd_pg_pool *p, prd_pg_conn **out, uint32_t demand,
                             uint64_t *round);
prd_status prd__pg_pool_connected(prd_pg_pool *p, prd_pg_conn *c, PGconn *pg, prd_status st,
                                  prd_pg_error *err, uint64_t round, int caller_cut);
void prd__pg_pool_slot_abandon(prd_pg_pool *p, prd_pg_conn *c);
void prd__pg_pool_watch(prd_pg_pool *p, struct prd__pg_watch *w, int on);
/* When a new connection may be started (INT64_MAX: the pool is full;
 * real monotonic time). */
int64_t prd__pg_pool_connect_after(prd_pg_pool *p);

/* ---- clock and randomness (pg/clock.c; forks: internal/fork.h) ---- */

int64_t prd__pg_now_ns(const prd_pg_pool *pool); /* the config's clock (monotonic) */
int64_t prd__pg_real_ns(void);                   /* CLOCK_MONOTONIC */
uint64_t prd__pg_random(void);
/* Sleep for a backoff delay: base * 2^attempt capped, "equal jitter". */
int64_t prd__pg_backoff_ns(uint32_t initial_ms, uint32_t max_ms, uint32_t attempt);

#endif
