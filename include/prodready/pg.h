/*
 * prodready/pg.h: a transactional PostgreSQL connection pool over libpq.
 *
 *   prd_pg_config *cfg;
 *   prd_pg_config_new("host=db1,db2 dbname=app target_session_attrs=read-write", &cfg);
 *   prd_pg_config_set_max_size(cfg, 16);
 *   prd_pg_pool *pool;
 *   if (prd_pg_pool_new(cfg, &pool, err) != PRD_OK) ... prd_pg_error_message(err)
 *
 *   static prd_status transfer(prd_pg_conn *c, void *ud) {
 *       struct move *m = ud;
 *       prd_pg_params *p = ...;  // $1 amount, $2 from
 *       PRD_PG_TRY(prd_pg_query(c, "UPDATE account SET balance = balance - $1 "
 *                                  "WHERE id = $2", p, NULL));
 *       ...
 *       return PRD_OK;
 *   }
 *   prd_pg_tx_options *o;  prd_pg_tx_options_new(&o);
 *   prd_pg_tx_options_set_isolation(o, PRD_PG_SERIALIZABLE);
 *   prd_status st = prd_pg_tx_run(pool, o, transfer, &move, err);
 *
 * What the pool does for you (docs/pg.md has the reasoning):
 *   - Waiting is fair (FIFO) and bounded: every acquire ends within the
 *     acquire timeout (PRD_ETIMEOUT); beyond max_waiters queued callers an
 *     acquire fails at once with PRD_EBUSY.
 *   - Broken connections are replaced; failed connects back off
 *     exponentially with jitter; the pool recovers by itself after a server
 *     restart. Connections recycle after their maximum lifetime (with
 *     jitter, so they do not all reconnect at once) and after an idle
 *     timeout, down to min_size. A connection idle longer than the health
 *     check interval is checked with one round trip before it is handed out.
 *   - Failover: when a server says it is read-only (SQLSTATE 25006, or
 *     in_hot_standby on a pool whose conninfo asked for a primary) or that
 *     it is shutting down (57P01-57P03), every connection of that
 *     generation is dropped and new ones go through libpq's multi-host
 *     target_session_attrs to the new primary.
 *   - fork(): a child never touches the parent's sockets; its pool starts
 *     over with connections of its own.
 *   - Queries are parameterized only: values never enter the SQL text.
 *     Statements are prepared once per connection (an LRU cache) and
 *     re-prepared by themselves after a reconnect or a DISCARD.
 *   - prd_pg_tx_run retries the whole function on serialization failures,
 *     deadlocks and a connection lost before COMMIT was sent; a connection
 *     lost while COMMIT was in flight gives PRD_EUNKNOWN and is never
 *     retried.
 *   - Conninfo passwords never appear in an error message or a log line.
 *
 * Thread safety: configs are not thread-safe while being set and may be
 * shared read-only after. A pool is safe to share between threads. A
 * prd_pg_conn belongs to the thread that acquired it until released; params,
 * results and error objects belong to one thread at a time.
 */
#ifndef PRODREADY_PG_H
#define PRODREADY_PG_H

#include <stddef.h>
#include <stdint.h>

#include "prodready/core.h"
#include "prodready/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prd_pg_config prd_pg_config;
typedef struct prd_pg_pool prd_pg_pool;
typedef struct prd_pg_conn prd_pg_conn;
typedef struct prd_pg_params prd_pg_params;
typedef struct prd_pg_result prd_pg_result;
typedef struct prd_pg_error prd_pg_error;
typedef struct prd_pg_tx_options prd_pg_tx_options;

/* Limits on caller input. */
#define PRD_PG_SQL_MAX (1024 * 1024) /* bytes of SQL text per statement */
#define PRD_PG_PARAMS_MAX 65535      /* parameters per statement (protocol limit) */
#define PRD_PG_CONNINFO_MAX 8192     /* bytes of conninfo */
#define PRD_PG_MAX_SIZE_LIMIT 10000  /* the largest max_size accepted */

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

/*
 * The detail of a failure: status, SQLSTATE and the server's fields. An
 * error object is filled by the calls that take one (NULL is allowed
 * there) and cleared at the start of each. Strings are owned by the object
 * and valid until it is filled again or freed; absent fields are "".
 * Messages never contain the conninfo password.
 * Errors: prd_pg_error_new gives PRD_EINVAL (out NULL) or PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_error_new(prd_pg_error **out);
PRD_API void prd_pg_error_free(prd_pg_error *err);
PRD_API PRD_NODISCARD prd_status prd_pg_error_status(const prd_pg_error *err); /* PRD_OK when empty */
PRD_API const char *prd_pg_error_sqlstate(const prd_pg_error *err);   /* "40001" or "" */
PRD_API const char *prd_pg_error_message(const prd_pg_error *err);    /* primary message */
PRD_API const char *prd_pg_error_detail(const prd_pg_error *err);
PRD_API const char *prd_pg_error_hint(const prd_pg_error *err);
PRD_API const char *prd_pg_error_constraint(const prd_pg_error *err); /* constraint name */
PRD_API const char *prd_pg_error_table(const prd_pg_error *err);
PRD_API const char *prd_pg_error_column(const prd_pg_error *err);

/*
 * The status a SQLSTATE maps to: unique, exclusion and check violations
 * (23505, 23P01, 23514) are PRD_ECONFLICT (a client error);
 * statement/lock timeouts and cancels (57014, 55P03) PRD_ETIMEOUT;
 * serialization failure and deadlock (40001, 40P01) PRD_ERETRY; anything
 * else PRD_EDB. NULL or malformed gives PRD_EDB.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_sqlstate_status(const char *sqlstate);

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

/*
 * A configuration for the given conninfo: a libpq keyword/value string or
 * a postgresql:// URI (multi-host lists and target_session_attrs pass
 * through to libpq). The config keeps the conninfo in guarded memory and
 * wipes it on free.
 * Errors: PRD_EINVAL (NULL, malformed conninfo: the message names the
 * setting and never quotes the string), PRD_ETOOBIG (over
 * PRD_PG_CONNINFO_MAX), PRD_ENOMEM.
 *
 * Defaults: min_size 1, max_size 10, acquire timeout 5 s, connect timeout
 * 5 s, idle timeout 10 min, max lifetime 30 min with 10% jitter, health
 * check after 1 s idle, statement_timeout 30 s,
 * idle_in_transaction_session_timeout 60 s, application_name "prodready",
 * leak threshold 60 s, max_waiters 1000, statement cache 128, reconnect
 * backoff 50 ms doubling to 5 s, slow-query threshold 1 s (logged only
 * with a logger), housekeeping every 1 s.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_config_new(const char *conninfo, prd_pg_config **out);
PRD_API void prd_pg_config_free(prd_pg_config *cfg);

/*
 * Why the last setter (or prd_pg_pool_new) refused this config, naming the
 * setting ("max_size: must be 1..10000"); "" when nothing was refused.
 * Owned by the config.
 */
PRD_API const char *prd_pg_config_error(const prd_pg_config *cfg);

/* Every setter returns PRD_OK or PRD_EINVAL (value out of range, config
 * NULL); a refused value leaves the setting unchanged. Times are in
 * milliseconds; where noted 0 turns the feature off. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_conninfo(prd_pg_config *cfg, const char *conninfo);
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_min_size(prd_pg_config *cfg, uint32_t n);   /* 0..max_size */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_max_size(prd_pg_config *cfg, uint32_t n);   /* 1..10000 */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_max_waiters(prd_pg_config *cfg, uint32_t n); /* 0..1000000 */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_acquire_timeout_ms(prd_pg_config *cfg, uint32_t ms); /* 1..3600000 */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_connect_timeout_ms(prd_pg_config *cfg, uint32_t ms); /* 1..600000 */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_idle_timeout_ms(prd_pg_config *cfg, uint64_t ms);    /* 0 = never */
/* Connections are closed after ms minus a random share of up to jitter_pct
 * percent of it (0..50), so a pool's connections do not all recycle at once. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_max_lifetime_ms(prd_pg_config *cfg, uint64_t ms,
                                                     uint32_t jitter_pct); /* 0 = never */
/* A connection idle at least ms is checked (one round trip) before it is
 * handed out; 0 checks on every acquire. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_health_check_after_ms(prd_pg_config *cfg, uint64_t ms);
/* Session settings sent in the startup packet (no extra round trip).
 * 0 leaves the server's setting. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_statement_timeout_ms(prd_pg_config *cfg, uint32_t ms);
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_idle_in_transaction_timeout_ms(prd_pg_config *cfg, uint32_t ms);
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_lock_timeout_ms(prd_pg_config *cfg, uint32_t ms);
/* The client's own deadline for each statement, enforced whatever the
 * network does (a frozen link, a server that stopped answering): when it
 * passes, the statement fails with PRD_ETIMEOUT and the connection is
 * closed (its protocol state is lost). 0 (default): statement_timeout +
 * 2 s, so the server's 57014 normally comes first; none when
 * statement_timeout is 0 too. A transaction's deadline
 * (prd_pg_tx_options_set_timeout_ms) bounds it further. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_query_timeout_ms(prd_pg_config *cfg, uint32_t ms);
/* 1..63 printable ASCII characters; overrides one in the conninfo. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_application_name(prd_pg_config *cfg, const char *name);
/* A connection held longer than ms is reported once (log WARN with the
 * file:line that acquired it, and the leaks metric); 0 = off. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_leak_threshold_ms(prd_pg_config *cfg, uint64_t ms);
/* Prepared statements kept per connection (0..4096; 0 = unnamed statements). */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_statement_cache_size(prd_pg_config *cfg, uint32_t n);
/* Reconnect backoff: initial_ms doubling up to max_ms, with jitter. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_reconnect_backoff_ms(prd_pg_config *cfg, uint32_t initial_ms,
                                                          uint32_t max_ms);
/* Queries slower than ms are logged at WARN (0 = off). */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_slow_query_ms(prd_pg_config *cfg, uint64_t ms);
/* Housekeeping (idle/lifetime recycling, min_size, leak reports) runs on a
 * thread of the pool every ms; 0 means no thread: call
 * prd_pg_pool_maintain yourself. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_maintenance_interval_ms(prd_pg_config *cfg, uint32_t ms);
/* Where slow queries, leaks, failovers and reconnects are logged
 * (borrowed: must outlive the pool); NULL = not logged. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_logger(prd_pg_config *cfg, prd_logger *lg);
/* The pool's name, its metrics' pool="..." label (default "default"):
 * 1-63 of letters, digits, '_', '-', '.'. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_name(prd_pg_config *cfg, const char *name);
/* The clock ages are measured on (idle, lifetime, leaks, health checks);
 * borrowed; NULL = system clock. Waits (acquire, connect) always use real
 * time. */
PRD_API PRD_NODISCARD prd_status prd_pg_config_set_clock(prd_pg_config *cfg, const prd_clock *clock);

/* ------------------------------------------------------------------ */
/* Pool                                                                 */
/* ------------------------------------------------------------------ */

/*
 * Make a pool from cfg (copied: cfg may be freed after). When min_size > 0
 * the first connection is made now, so a wrong password or an unreachable
 * server fails here (fail fast); the rest of min_size is filled in the
 * background.
 * Errors: PRD_EINVAL (settings that conflict, such as min_size above
 * max_size: err names them), PRD_EDB (cannot connect: err has the server's
 * message), PRD_ETIMEOUT (connect timed out), PRD_ENOMEM, PRD_EINTERNAL
 * (a thread could not be started).
 */
PRD_API PRD_NODISCARD prd_status prd_pg_pool_new(const prd_pg_config *cfg, prd_pg_pool **out, prd_pg_error *err);

/*
 * Take a connection. Waits in FIFO order up to the acquire timeout.
 * Use the macro so leak reports can say where the connection was taken.
 * Errors: PRD_ETIMEOUT (none free in time), PRD_EBUSY (wait queue full),
 * PRD_EDB (the server cannot be reached: err says why), PRD_ECLOSED
 * (closing), PRD_EINVAL, PRD_ENOMEM.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_pool_acquire_at(prd_pg_pool *pool, prd_pg_conn **out,
                                          prd_pg_error *err, const char *file, int line);
#define prd_pg_acquire(pool, out, err) prd_pg_pool_acquire_at((pool), (out), (err), __FILE__, __LINE__)

/*
 * Give a connection back (NULL is a no-op). A connection left inside a
 * transaction is rolled back; a broken or expired one is closed and
 * replaced. The conn must not be used after.
 */
PRD_API void prd_pg_pool_release(prd_pg_conn *conn);

/*
 * Stop handing out connections (waiters and later acquires get
 * PRD_ECLOSED), close the idle ones, wait up to drain_ms for the ones out
 * to come back and close them. Connections still out after that are
 * closed when released. Returns PRD_OK when all came back, PRD_ETIMEOUT
 * otherwise. Safe to call more than once.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_pool_close(prd_pg_pool *pool, uint32_t drain_ms);

/*
 * Close (without waiting) and release the pool. Memory is kept until the
 * last connection out is released, so a late release is safe. NULL is a
 * no-op.
 */
PRD_API void prd_pg_pool_free(prd_pg_pool *pool);

/* Run housekeeping now: recycle idle and old connections, fill min_size,
 * report leaks. Errors: PRD_EINVAL, PRD_ECLOSED. */
PRD_API PRD_NODISCARD prd_status prd_pg_pool_maintain(prd_pg_pool *pool);

/* ------------------------------------------------------------------ */
/* Parameters                                                            */
/* ------------------------------------------------------------------ */

/*
 * A reusable list of statement parameters ($1, $2, ...). Values are copied
 * in. Each add returns PRD_OK, PRD_EINVAL (NULL params), PRD_ETOOBIG
 * (more than PRD_PG_PARAMS_MAX) or PRD_ENOMEM; after a failure the list is
 * unchanged.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_params_new(prd_pg_params **out);
PRD_API void prd_pg_params_free(prd_pg_params *p);
PRD_API void prd_pg_params_reset(prd_pg_params *p); /* empty, keeps its memory */
/* Ask for results in binary format (no text conversion on the server and
 * none here: the typed getters read them; prd_pg_result_text then gives
 * the raw bytes). Kept across prd_pg_params_reset. */
PRD_API PRD_NODISCARD prd_status prd_pg_params_set_binary_results(prd_pg_params *p, int binary);
PRD_API size_t prd_pg_params_count(const prd_pg_params *p);
/* Text; NULL s is SQL NULL. The server infers the type from the statement. */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_text(prd_pg_params *p, const char *s);
/* len bytes of text (no NUL inside: PRD_EINVAL). */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_textn(prd_pg_params *p, const char *s, size_t len);
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_null(prd_pg_params *p);
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_int32(prd_pg_params *p, int32_t v); /* int4 */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_int64(prd_pg_params *p, int64_t v); /* int8 */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_double(prd_pg_params *p, double v); /* float8 */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_bool(prd_pg_params *p, int v);      /* bool */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_bytea(prd_pg_params *p, const void *data, size_t len);
/* Any type by OID in binary (format 1) or text (format 0) form. */
PRD_API PRD_NODISCARD prd_status prd_pg_params_add_typed(prd_pg_params *p, uint32_t type_oid, int format,
                                           const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Queries                                                               */
/* ------------------------------------------------------------------ */

/*
 * Run one statement with parameters (params NULL: none). The SQL text is
 * sent as a statement with placeholders, never with values in it, and one
 * statement only (the extended protocol refuses "a; b"). The statement is
 * prepared on first use on this connection and kept in its cache.
 * *out (when out is not NULL) receives the result, freed with
 * prd_pg_result_free; pass NULL when the rows are not needed.
 * Inside prd_pg_tx_run the first statement also carries the BEGIN.
 * Errors: PRD_EINVAL (NULL conn/sql, SQL over PRD_PG_SQL_MAX is
 * PRD_ETOOBIG), PRD_ECONFLICT (unique/check violation), PRD_ETIMEOUT
 * (statement or lock timeout), PRD_ERETRY (serialization failure or
 * deadlock: return it from a transaction function to have it retried),
 * PRD_EDB (any other server error, or the connection was lost),
 * PRD_ENOMEM. Detail: prd_pg_conn_error(conn).
 */
PRD_API PRD_NODISCARD prd_status prd_pg_query(prd_pg_conn *conn, const char *sql, const prd_pg_params *params,
                                prd_pg_result **out);

/* The same with n text parameters (NULL entries are SQL NULL): the form
 * for callers through FFI. */
PRD_API PRD_NODISCARD prd_status prd_pg_query_text(prd_pg_conn *conn, const char *sql, size_t n,
                                     const char *const *values, prd_pg_result **out);

/* The detail of the last failure on conn (never NULL for a valid conn). */
PRD_API const prd_pg_error *prd_pg_conn_error(const prd_pg_conn *conn);

/* 1 when the connection is usable (not broken), 0 otherwise. */
PRD_API int prd_pg_conn_ok(const prd_pg_conn *conn);

/* ------------------------------------------------------------------ */
/* Results                                                               */
/* ------------------------------------------------------------------ */

/* Release a result; NULL is a no-op. */
PRD_API void prd_pg_result_free(prd_pg_result *r);
PRD_API size_t prd_pg_result_rows(const prd_pg_result *r);
PRD_API size_t prd_pg_result_cols(const prd_pg_result *r);
/* The row count of the command tag (INSERT, UPDATE, DELETE, MERGE, SELECT,
 * COPY, ...); 0 for commands without one. */
PRD_API uint64_t prd_pg_result_affected(const prd_pg_result *r);
/* Column name ("" out of range) and index by name (-1 when absent). */
PRD_API const char *prd_pg_result_column_name(const prd_pg_result *r, size_t col);
PRD_API long prd_pg_result_column_index(const prd_pg_result *r, const char *name);
/* 1 when the cell is NULL or out of range. */
PRD_API int prd_pg_result_is_null(const prd_pg_result *r, size_t row, size_t col);
/* The text form of a cell (owned by r), NULL when the cell is NULL or out
 * of range; *len (when not NULL) gets its length. */
PRD_API const char *prd_pg_result_text(const prd_pg_result *r, size_t row, size_t col, size_t *len);
/* Typed getters: PRD_OK; PRD_ENOTFOUND when the cell is NULL; PRD_EINVAL
 * when out of range or the text is not that type (or overflows). They
 * read text and binary results alike (binary: int2/int4/int8/oid,
 * float4/float8, bool, bytea, uuid, timestamp[tz]). */
PRD_API PRD_NODISCARD prd_status prd_pg_result_int64(const prd_pg_result *r, size_t row, size_t col, int64_t *v);
PRD_API PRD_NODISCARD prd_status prd_pg_result_double(const prd_pg_result *r, size_t row, size_t col, double *v);
PRD_API PRD_NODISCARD prd_status prd_pg_result_bool(const prd_pg_result *r, size_t row, size_t col, int *v);
/* 16 bytes of a uuid column. */
#define PRD_PG_UUID_SIZE 16
PRD_API size_t prd_pg_uuid_size(void);
PRD_API PRD_NODISCARD prd_status prd_pg_result_uuid(const prd_pg_result *r, size_t row, size_t col,
                                      uint8_t out[PRD_PG_UUID_SIZE]);
/* A timestamp or timestamptz as microseconds since 1970 UTC (timestamp
 * without zone read as UTC); PRD_EINVAL for infinity, other types, or
 * years outside 1677..2262. */
PRD_API PRD_NODISCARD prd_status prd_pg_result_timestamp_us(const prd_pg_result *r, size_t row, size_t col,
                                              int64_t *unix_us);
/* bytea into out (snprintf-style: *len gets the decoded size; PRD_ENOSPACE
 * when out_cap is smaller, with nothing written). */
PRD_API PRD_NODISCARD prd_status prd_pg_result_bytea(const prd_pg_result *r, size_t row, size_t col, void *out,
                                       size_t out_cap, size_t *len);

/*
 * Large results a row at a time: fn gets each row as a one-row result
 * (borrowed for the call) as it arrives, so memory stays that of one row
 * whatever the result's size (libpq's single-row mode; the statement is
 * sent unprepared). fn returning other than PRD_OK stops: that status is
 * returned and the connection is closed on release (nothing stops a query
 * midway but dropping the session). *rows (may be NULL): rows delivered.
 * Errors: as prd_pg_query.
 */
typedef prd_status (*prd_pg_row_fn)(void *user_data, const prd_pg_result *row);
PRD_API PRD_NODISCARD prd_status prd_pg_query_each(prd_pg_conn *conn, const char *sql,
                                     const prd_pg_params *params, prd_pg_row_fn fn,
                                     void *user_data, uint64_t *rows);

/*
 * COPY, streaming in bounded memory. In: prd_pg_copy_in_start with a
 * "COPY ... FROM STDIN" statement, any number of prd_pg_copy_in_put
 * (data in the statement's format, split anywhere: each put returns once
 * its bytes are on the socket), then prd_pg_copy_in_end (abort_reason
 * non-NULL: the server discards everything and PRD_OK is returned; *rows
 * the rows stored). Out: prd_pg_copy_out with a "COPY ... TO STDOUT"
 * statement calls fn with each row (text or csv, with its newline; the
 * bytes are borrowed for the call); fn returning other than PRD_OK stops
 * and the connection is dropped on release. No other statement can run on
 * the connection between start and end. The waits end by the statement's
 * deadline (query timeout, transaction timeout).
 * Errors: PRD_EINVAL (not a COPY of that direction, a COPY already in
 * progress), PRD_ETIMEOUT, PRD_EDB and the rest as prd_pg_query.
 */
typedef prd_status (*prd_pg_copy_fn)(void *user_data, const char *data, size_t len);
PRD_API PRD_NODISCARD prd_status prd_pg_copy_in_start(prd_pg_conn *conn, const char *sql);
PRD_API PRD_NODISCARD prd_status prd_pg_copy_in_put(prd_pg_conn *conn, const void *data, size_t len);
PRD_API PRD_NODISCARD prd_status prd_pg_copy_in_end(prd_pg_conn *conn, const char *abort_reason,
                                      uint64_t *rows);
PRD_API PRD_NODISCARD prd_status prd_pg_copy_out(prd_pg_conn *conn, const char *sql, prd_pg_copy_fn fn,
                                   void *user_data, uint64_t *rows);

/*
 * LISTEN/NOTIFY. A listener holds one connection of its own (made from a
 * copy of cfg, so a wrong server fails here) and a thread that calls fn
 * with each notification: channel, payload ("" when none) and the
 * notifying backend's pid. When the connection is lost the thread
 * reconnects (with the pool's backoff), LISTENs again to every channel,
 * and calls fn with channel and payload NULL: notifications sent in
 * between may have been missed, so resynchronise. fn runs on the
 * listener's thread, one call at a time; it must not free the listener.
 * listen/unlisten return once the server has confirmed (or, while
 * disconnected, once recorded: it is done at reconnect). Channels: 1-63
 * bytes, at most 256. prd_pg_notify sends one (payload under 8000 bytes)
 * through any connection, as part of its transaction if one is open.
 * Errors: PRD_EINVAL, PRD_ETOOBIG, PRD_ENOMEM, PRD_EINTERNAL, and those of
 * prd_pg_pool_new and prd_pg_query.
 */
typedef struct prd_pg_listener prd_pg_listener;
typedef void (*prd_pg_notify_fn)(void *user_data, const char *channel, const char *payload,
                                 int sender_pid);
PRD_API PRD_NODISCARD prd_status prd_pg_listener_new(const prd_pg_config *cfg, prd_pg_notify_fn fn,
                                       void *user_data, prd_pg_listener **out, prd_pg_error *err);
PRD_API PRD_NODISCARD prd_status prd_pg_listener_listen(prd_pg_listener *l, const char *channel);
PRD_API PRD_NODISCARD prd_status prd_pg_listener_unlisten(prd_pg_listener *l, const char *channel);
PRD_API void prd_pg_listener_free(prd_pg_listener *l);
PRD_API PRD_NODISCARD prd_status prd_pg_notify(prd_pg_conn *conn, const char *channel, const char *payload);

/* ------------------------------------------------------------------ */
/* From an event loop: asynchronous acquire and queries                 */
/* ------------------------------------------------------------------ */

/*
 * For servers whose threads run an event loop (epoll, libuv, libevent):
 * a driver takes connections from the pool without waiting and runs
 * queries on them with a completion callback, so the loop thread never
 * blocks. The loop watches one file descriptor and calls process:
 *
 *   prd_pg_async *a;
 *   prd_pg_async_new(pool, 8, &a);             // up to 8 of the pool's connections
 *   epoll_ctl(ep, EPOLL_CTL_ADD, prd_pg_async_fd(a), &(struct epoll_event){.events = EPOLLIN});
 *   prd_pg_async_query(a, "SELECT name FROM users WHERE id = $1", params, 0, on_row, req);
 *   for (;;) {
 *       epoll_wait(ep, evs, n, prd_pg_async_timeout_ms(a));
 *       ...                                   // the loop's other work
 *       prd_pg_async_process(a);              // runs the callbacks that are due
 *   }
 *
 * (docs/pg.md has the whole example, examples/pg_epoll.c the program.)
 *
 * What it does: queries wait in FIFO order in the driver (bounded by
 * max_queued: beyond it a submit fails at once with PRD_EBUSY) until one
 * of its connections is free; a connection the pool has idle is taken at
 * once, a new one is connected without blocking (the pool's limits and
 * reconnect backoff hold), one idle past the health check interval is
 * checked with one round trip first. With a pipeline depth above 1 a busy
 * connection takes further queries before the first answers (libpq's
 * pipeline mode, each query its own implicit transaction, so one failing
 * query fails no other). A connection with nothing left to do goes back
 * to the pool, where threads may use it.
 *
 * Deadlines: timeout_ms bounds everything a call waits on, from submit to
 * callback (the wait for a connection, connecting, the query). 0 means the
 * pool's: the acquire timeout for the wait, the query timeout for the
 * query. A query whose deadline passes on the wire closes its connection
 * (the session is out of step) and fails with PRD_ETIMEOUT; queries
 * pipelined behind it on that connection fail with PRD_EDB.
 *
 * Callbacks run only inside prd_pg_async_process (never inside a submit),
 * on the loop's thread, and may submit, release and free results; they
 * must not call prd_pg_async_free or process. err is valid only during the
 * callback (NULL on success). res is the callback's to free with
 * prd_pg_result_free (NULL on failure).
 *
 * Thread safety: a driver belongs to one thread (its loop): every call on
 * it, and every connection it hands out, from that thread only. The pool
 * behind it stays shareable: threads and several drivers may use it at
 * once (a driver takes no connection while threads are queued in
 * prd_pg_acquire; one it holds goes back when the driver's queue is
 * empty). A driver does
 * not survive fork(): in a child every call fails with PRD_ECLOSED; make a
 * new one there. Free every driver before its pool.
 */
typedef struct prd_pg_async prd_pg_async;
typedef void (*prd_pg_async_fn)(void *user_data, prd_status st, prd_pg_result *res,
                                const prd_pg_error *err);
typedef void (*prd_pg_async_acquire_fn)(void *user_data, prd_status st, prd_pg_conn *conn,
                                        const prd_pg_error *err);

#define PRD_PG_ASYNC_DEPTH_MAX 64 /* queries in flight a connection */

/*
 * A driver over pool using at most max_conns (1..max_size) of its
 * connections. Defaults: pipeline depth 1, max_queued 10000.
 * Errors: PRD_EINVAL, PRD_ENOMEM, PRD_EIO (no epoll or eventfd).
 */
PRD_API PRD_NODISCARD prd_status prd_pg_async_new(prd_pg_pool *pool, uint32_t max_conns, prd_pg_async **out);
/* Queries in flight on one connection: 1..PRD_PG_ASYNC_DEPTH_MAX. */
PRD_API PRD_NODISCARD prd_status prd_pg_async_set_pipeline_depth(prd_pg_async *a, uint32_t depth);
/* Submitted requests not yet sent: 1..1000000. */
PRD_API PRD_NODISCARD prd_status prd_pg_async_set_max_queued(prd_pg_async *a, uint32_t n);

/* The descriptor to watch for input (level-triggered; never read it). */
PRD_API int prd_pg_async_fd(const prd_pg_async *a);
/* Milliseconds until process must run even without input (a deadline or a
 * reconnect comes due); -1 when nothing is timed, 0 when callbacks wait. */
PRD_API int prd_pg_async_timeout_ms(const prd_pg_async *a);
/*
 * Do what is ready without blocking: read replies, send what waits,
 * connect, expire deadlines, and run the callbacks that are due.
 * Errors: PRD_EINVAL, PRD_ECLOSED (after fork), PRD_EIO (epoll failed).
 */
PRD_API PRD_NODISCARD prd_status prd_pg_async_process(prd_pg_async *a);
/* Requests submitted whose callback has not run yet. */
PRD_API size_t prd_pg_async_pending(const prd_pg_async *a);

/*
 * Run one statement on a connection of the driver's; fn gets the result.
 * sql and params are copied: free them when this returns. The statement
 * rules are prd_pg_query's (parameters only, one statement, prepared once
 * per connection).
 * Errors (fn is then never called): PRD_EINVAL (NULL a/sql/fn, timeout
 * over 3600000 ms), PRD_ETOOBIG (SQL over PRD_PG_SQL_MAX), PRD_EBUSY
 * (max_queued reached), PRD_ECLOSED (pool closed, or after fork),
 * PRD_ENOMEM. The callback's status is prd_pg_query's.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_async_query(prd_pg_async *a, const char *sql,
                                      const prd_pg_params *params, uint32_t timeout_ms,
                                      prd_pg_async_fn fn, void *user_data);

/*
 * Take a connection for several statements in order (a transaction: send
 * "BEGIN", the statements, "COMMIT" with prd_pg_async_conn_query). fn gets
 * it (or a failure: PRD_ETIMEOUT, PRD_EDB, PRD_ECLOSED, PRD_ENOMEM).
 * Only the driver's calls may use it; give it back with
 * prd_pg_async_release. Errors as prd_pg_async_query's.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_async_acquire(prd_pg_async *a, uint32_t timeout_ms,
                                        prd_pg_async_acquire_fn fn, void *user_data);
/* A statement on a connection from prd_pg_async_acquire; statements on one
 * connection run in the order submitted. Errors as prd_pg_async_query's
 * (PRD_EINVAL also for a conn that is not the driver's or was released). */
PRD_API PRD_NODISCARD prd_status prd_pg_async_conn_query(prd_pg_async *a, prd_pg_conn *conn, const char *sql,
                                           const prd_pg_params *params, uint32_t timeout_ms,
                                           prd_pg_async_fn fn, void *user_data);
/*
 * Give back a connection from prd_pg_async_acquire. Statements still
 * queued or in flight on it complete first (their callbacks run); a
 * transaction left open is rolled back without blocking; then it returns
 * to the pool. conn must not be used after. Errors: PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_async_release(prd_pg_async *a, prd_pg_conn *conn);

/*
 * Free the driver: every request not completed gets its callback with
 * PRD_ECLOSED (now, inside this call), connections still busy are closed,
 * the rest go back to the pool. Connections handed out by
 * prd_pg_async_acquire and not released are closed and must not be used
 * after. NULL is a no-op.
 */
PRD_API void prd_pg_async_free(prd_pg_async *a);

/* ------------------------------------------------------------------ */
/* Migrations                                                            */
/* ------------------------------------------------------------------ */

/*
 * One versioned migration: version 1, 2, 3, ... (strictly increasing,
 * never reused), a short name, and its SQL (one or more statements, sent
 * as a simple query). size: sizeof(prd_pg_migration), set by
 * PRD_PG_MIGRATION; prd_pg_migrate takes it as the array's stride, so a
 * later version may append fields without breaking an older program.
 *   static const prd_pg_migration app[] = {
 *       PRD_PG_MIGRATION(1, "users", "CREATE TABLE users (...)"),
 *       PRD_PG_MIGRATION(2, "users.email", "ALTER TABLE users ADD email text"),
 *   };
 */
typedef struct prd_pg_migration {
    size_t size;
    uint32_t version;
    const char *name;
    const char *sql;
} prd_pg_migration;
#define PRD_PG_MIGRATION(version, name, sql) {sizeof(prd_pg_migration), (version), (name), (sql)}

/*
 * Apply the migrations of set (an application's name for its schema,
 * 1..100 bytes; "prodready" is the stores') that the database does not
 * have yet, in order, each in a transaction of its own: all of it or
 * none. Instances starting together do not race: each transaction takes
 * an advisory lock for the set first, so every version is applied once.
 * The table prd_schema_migrations records each version with the SHA-256
 * of its SQL; a migration whose SQL differs from what was applied is
 * refused with PRD_ECONFLICT (and nothing after it runs): ship a new
 * version instead of editing one. Versions the database has beyond the
 * list are left alone (an older build starting against a newer schema).
 * *applied (may be NULL) counts the migrations applied by this call.
 * Statements run under the pool's statement timeout: give a pool for
 * long migrations a larger one.
 * Errors: PRD_EINVAL (versions out of order, NULL SQL, entries whose
 * size is unset or differs), PRD_ECONFLICT,
 * PRD_EDB (a migration failed: err names its version and the server's
 * message), PRD_ETIMEOUT, PRD_ENOMEM, and acquire's errors.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_migrate(prd_pg_pool *pool, const char *set,
                                  const prd_pg_migration *migrations, size_t n,
                                  uint32_t *applied, prd_pg_error *err);

/* The schema of the library's own PostgreSQL stores (the set
 * "prodready"; docs/scaling.md lists its tables). Idempotent; errors as
 * prd_pg_migrate's. `prodready db migrate` runs it. */
PRD_API PRD_NODISCARD prd_status prd_pg_stores_migrate(prd_pg_pool *pool, uint32_t *applied,
                                         prd_pg_error *err);

/* ------------------------------------------------------------------ */
/* Transactions                                                          */
/* ------------------------------------------------------------------ */

typedef enum prd_pg_isolation {
    PRD_PG_READ_COMMITTED = 0,
    PRD_PG_REPEATABLE_READ = 1,
    PRD_PG_SERIALIZABLE = 2
} prd_pg_isolation;

/*
 * Transaction options. Defaults: read committed, read write, 10 attempts,
 * backoff 2 ms doubling to 200 ms with jitter. Setters return PRD_OK or
 * PRD_EINVAL.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_new(prd_pg_tx_options **out);
PRD_API void prd_pg_tx_options_free(prd_pg_tx_options *o);
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_isolation(prd_pg_tx_options *o, prd_pg_isolation level);
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_read_only(prd_pg_tx_options *o, int read_only);
/* SERIALIZABLE READ ONLY DEFERRABLE: waits for a safe snapshot, never fails
 * with a serialization error. */
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_deferrable(prd_pg_tx_options *o, int deferrable);
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_max_attempts(prd_pg_tx_options *o, uint32_t n); /* 1..1000 */
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_backoff_ms(prd_pg_tx_options *o, uint32_t initial_ms,
                                                    uint32_t max_ms);
/* A deadline for the whole of prd_pg_tx_run: every statement's and
 * COMMIT's wait ends by it (as with the query timeout: PRD_ETIMEOUT and
 * the connection closed; a COMMIT without answer is PRD_EUNKNOWN), and no
 * retry starts that its backoff would take past it (PRD_ETIMEOUT).
 * 0 (default): none beyond the query timeout. At most 24 h. */
PRD_API PRD_NODISCARD prd_status prd_pg_tx_options_set_timeout_ms(prd_pg_tx_options *o, uint32_t ms);

/* The work of a transaction. Return PRD_OK to commit; anything else rolls
 * back and is returned (statuses of failed queries included: a
 * PRD_ERETRY from a query makes the whole function run again). It may run
 * more than once: keep effects outside the database idempotent. */
typedef prd_status (*prd_pg_tx_fn)(prd_pg_conn *conn, void *user_data);

/*
 * Acquire, BEGIN (with the options), fn, COMMIT, release. Retries the
 * whole of fn, with backoff, on serialization failure (40001), deadlock
 * (40P01) and a connection lost before COMMIT was sent. opts NULL means the
 * defaults; err (may be NULL) gets the detail of the last failure.
 * Returns PRD_OK when committed; fn's status when fn failed (after
 * rollback); PRD_ERETRY when every attempt failed retryably;
 * PRD_EUNKNOWN when the connection was lost while COMMIT was in flight
 * (the transaction may or may not have committed: never retried);
 * PRD_ETIMEOUT when the transaction's deadline passed; acquire errors as
 * prd_pg_pool_acquire_at.
 *
 * The macro passes the caller's file and line (leak reports and the
 * housekeeping's "held too long" name them, not the library); the
 * function of the same name stays exported for FFI callers, whose leak
 * reports say prd_pg_tx_run.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_tx_run(prd_pg_pool *pool, const prd_pg_tx_options *opts,
                                 prd_pg_tx_fn fn, void *user_data, prd_pg_error *err);
PRD_API PRD_NODISCARD prd_status prd_pg_tx_run_at(prd_pg_pool *pool, const prd_pg_tx_options *opts,
                                    prd_pg_tx_fn fn, void *user_data, prd_pg_error *err,
                                    const char *file, int line);
#define prd_pg_tx_run(pool, opts, fn, user_data, err)                                            \
    prd_pg_tx_run_at((pool), (opts), (fn), (user_data), (err), __FILE__, __LINE__)

/*
 * Nested work inside a transaction function: SAVEPOINT, fn, RELEASE; when
 * fn fails the work since the savepoint is rolled back and fn's status
 * returned, and the outer transaction can go on. A retryable failure or a
 * lost connection is passed up unchanged (the whole transaction reruns).
 * Errors: PRD_EINVAL (not inside prd_pg_tx_run, or nested more than 64
 * deep), query errors.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_savepoint_run(prd_pg_conn *conn, prd_pg_tx_fn fn, void *user_data);

/* ------------------------------------------------------------------ */
/* Metrics                                                               */
/* ------------------------------------------------------------------ */

typedef enum prd_pg_metric {
    PRD_PG_M_ACQUIRED = 0,         /* acquisitions that succeeded (counter) */
    PRD_PG_M_IN_USE = 1,           /* connections out now (gauge) */
    PRD_PG_M_IDLE = 2,             /* connections idle now (gauge) */
    PRD_PG_M_OPEN = 3,             /* connections open or opening now (gauge) */
    PRD_PG_M_WAITING = 4,          /* callers waiting now (gauge) */
    PRD_PG_M_CONNECTS = 5,         /* connections made (counter) */
    PRD_PG_M_CONNECT_FAILURES = 6, /* connection attempts that failed */
    PRD_PG_M_ACQUIRE_TIMEOUTS = 7, /* acquires that timed out */
    PRD_PG_M_ACQUIRE_BUSY = 8,     /* acquires refused: wait queue full */
    PRD_PG_M_QUERIES = 9,          /* statements run */
    PRD_PG_M_QUERY_ERRORS = 10,    /* statements that failed */
    PRD_PG_M_COMMITS = 11,         /* transactions committed by tx_run */
    PRD_PG_M_ROLLBACKS = 12,       /* transactions rolled back */
    PRD_PG_M_RETRIES = 13,         /* transaction attempts retried */
    PRD_PG_M_LEAKS = 14,           /* connections reported held too long */
    PRD_PG_M_SLOW_QUERIES = 15,    /* statements over the slow threshold */
    PRD_PG_M_BROKEN = 16,          /* connections found broken and dropped */
    PRD_PG_M_FAILOVERS = 17,       /* generations dropped (failover/shutdown) */
    PRD_PG_M_RECYCLED = 18,        /* closed for idle time or lifetime */
    PRD_PG_M_PREPARES = 19,        /* statements prepared */
    PRD_PG_M_UNKNOWN_COMMITS = 20, /* COMMITs whose outcome is unknown */
    PRD_PG_M_QUERY_TIMEOUTS = 21   /* statements that hit the client deadline */
} prd_pg_metric;
#define PRD_PG_METRIC_MAX 21

/* A metric's value now; 0 for a NULL pool or an unknown metric. */
PRD_API uint64_t prd_pg_pool_metric(const prd_pg_pool *pool, prd_pg_metric which);
/* The metric's Prometheus name without prefix ("acquired_total"), NULL past the end. */
PRD_API const char *prd_pg_metric_name(prd_pg_metric which);

/* Retries counted by the SQLSTATE that caused them ("40001", "40P01",
 * "08006" for a lost connection, ...); 0 when none. */
PRD_API uint64_t prd_pg_pool_retries_by_sqlstate(const prd_pg_pool *pool, const char *sqlstate);

typedef enum prd_pg_histogram {
    PRD_PG_H_ACQUIRE_WAIT = 0, /* time from acquire call to connection in hand */
    PRD_PG_H_QUERY = 1         /* statement round trip */
} prd_pg_histogram;

/*
 * Cumulative histogram bucket i (0-based, the last is +Inf with
 * *upper_ns = INT64_MAX): how many observations took at most *upper_ns.
 * Errors: PRD_EINVAL (NULL, unknown histogram), PRD_ENOTFOUND (i past the
 * last bucket). prd_pg_pool_histogram_sum gives the total in ns.
 */
PRD_API PRD_NODISCARD prd_status prd_pg_pool_histogram_bucket(const prd_pg_pool *pool, prd_pg_histogram h,
                                                size_t i, int64_t *upper_ns, uint64_t *count);
PRD_API uint64_t prd_pg_pool_histogram_sum_ns(const prd_pg_pool *pool, prd_pg_histogram h);

/*
 * Every metric in Prometheus text exposition format (# HELP and # TYPE
 * for each, every sample labelled pool="<name>"), names prefixed with
 * prefix (NULL: "prodready_pg_"; letters, digits, '_' and ':' only). Writes
 * at most out_size bytes including the NUL and returns the length of the
 * whole text without the NUL (snprintf convention: a result >= out_size
 * means it was cut); 0 on bad arguments.
 */
PRD_API size_t prd_pg_pool_prometheus(const prd_pg_pool *pool, const char *prefix, char *out,
                                      size_t out_size);

/* Convenience for transaction functions: return the status when it fails. */
#define PRD_PG_TRY(expr)                                                                      \
    do {                                                                                      \
        prd_status prd_pg_try_st_ = (expr);                                                   \
        if (prd_pg_try_st_ != PRD_OK)                                                         \
            return prd_pg_try_st_;                                                            \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* PRODREADY_PG_H */
