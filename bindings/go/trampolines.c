/* See trampolines.h. */
#include "trampolines.h"

#include "_cgo_export.h"

static prd_status tx_fn(prd_pg_conn *conn, void *ud) { return prdGoTx(conn, (uintptr_t)ud); }

prd_status go_tx_run(prd_pg_pool *pool, const prd_pg_tx_options *o, uintptr_t h, prd_pg_error *err,
                     const char *file, int line)
{
    return prd_pg_tx_run_at(pool, o, tx_fn, (void *)h, err, file, line);
}

prd_status go_savepoint_run(prd_pg_conn *conn, uintptr_t h) { return prd_pg_savepoint_run(conn, tx_fn, (void *)h); }

static void lockout_fn(void *ud, prd_login_lockout_kind kind, const void *account, size_t account_len,
                       const char *source_fp, int64_t for_ms)
{
    prdGoLockout((uintptr_t)ud, (int)kind, (void *)account, account_len, (char *)source_fp, for_ms);
}

prd_status go_set_lockout(prd_login_guard *g, uintptr_t h)
{
    return prd_login_guard_set_lockout_callback(g, h ? lockout_fn : NULL, (void *)h);
}

static void sink_fn(void *ud, const char *line, size_t len) { prdGoSink((uintptr_t)ud, (char *)line, len); }

prd_status go_add_callback(prd_logger *lg, uintptr_t h, prd_log_level min, int replace)
{
    return replace ? prd_logger_set_callback(lg, sink_fn, (void *)h)
                   : prd_logger_add_callback(lg, sink_fn, (void *)h, min);
}

static prd_status row_fn(void *ud, const prd_pg_result *row)
{
    return prdGoRow((uintptr_t)ud, (prd_pg_result *)row);
}

prd_status go_query_each(prd_pg_conn *c, const char *sql, const prd_pg_params *p, uintptr_t h, uint64_t *rows)
{
    return prd_pg_query_each(c, sql, p, row_fn, (void *)h, rows);
}

static prd_status copy_fn(void *ud, const char *data, size_t len) { return prdGoCopy((uintptr_t)ud, (char *)data, len); }

prd_status go_copy_out(prd_pg_conn *c, const char *sql, uintptr_t h, uint64_t *rows)
{
    return prd_pg_copy_out(c, sql, copy_fn, (void *)h, rows);
}

static void notify_fn(void *ud, const char *channel, const char *payload, int pid)
{
    prdGoNotify((uintptr_t)ud, (char *)channel, (char *)payload, pid);
}

prd_status go_listener_new(const prd_pg_config *cfg, uintptr_t h, prd_pg_listener **out, prd_pg_error *err)
{
    return prd_pg_listener_new(cfg, notify_fn, (void *)h, out, err);
}
