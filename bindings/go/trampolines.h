/* The C side of the Go binding's callbacks: each passes user_data (a
 * runtime/cgo.Handle carried as an integer, never a Go pointer) on to an
 * exported Go function (callbacks.go). */
#ifndef PRODREADY_GO_TRAMPOLINES_H
#define PRODREADY_GO_TRAMPOLINES_H
#include <stdint.h>
#include <prodready.h>

prd_status go_tx_run(prd_pg_pool *pool, const prd_pg_tx_options *o, uintptr_t h, prd_pg_error *err,
                     const char *file, int line);
prd_status go_savepoint_run(prd_pg_conn *conn, uintptr_t h);
prd_status go_set_lockout(prd_login_guard *g, uintptr_t h);
prd_status go_add_callback(prd_logger *lg, uintptr_t h, prd_log_level min, int replace);
prd_status go_query_each(prd_pg_conn *c, const char *sql, const prd_pg_params *p, uintptr_t h, uint64_t *rows);
prd_status go_copy_out(prd_pg_conn *c, const char *sql, uintptr_t h, uint64_t *rows);
prd_status go_listener_new(const prd_pg_config *cfg, uintptr_t h, prd_pg_listener **out, prd_pg_error *err);
#endif
