package prodready

/*
#include <stdlib.h>
#include <stdint.h>
#include <prodready.h>
#include "trampolines.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

func pgError(st C.prd_status, err *C.prd_pg_error) error {
	if st == C.PRD_OK {
		return nil
	}
	e := &Error{Status: Status(st)}
	if err != nil {
		e.Detail = goString(C.prd_pg_error_message(err))
		e.SQLState = goString(C.prd_pg_error_sqlstate(err))
	}
	return e
}

// errBox is an error object for one call.
func withErr(f func(*C.prd_pg_error) C.prd_status) error {
	var e *C.prd_pg_error
	if err := check(C.prd_pg_error_new(&e)); err != nil {
		return err
	}
	defer C.prd_pg_error_free(e)
	st := f(e)
	return pgError(st, e)
}

// PoolOptions configure a Pool; zero values are the library's defaults
// (1 to 10 connections, acquire and connect timeouts 5 s, statement
// timeout 30 s; docs/pg.md).
type PoolOptions struct {
	MinSize, MaxSize                      uint32
	AcquireTimeout, ConnectTimeout        time.Duration
	StatementTimeout, QueryTimeout        time.Duration
	IdleInTransactionTimeout, LockTimeout time.Duration
	ApplicationName                       string
	Logger                                *Logger
}

func newPgConfig(conninfo string, o PoolOptions) (*C.prd_pg_config, error) {
	c, err := cstr(conninfo, "conninfo")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var cfg *C.prd_pg_config
	if err := checkWhat(C.prd_pg_config_new(c, &cfg), "malformed conninfo"); err != nil {
		return nil, err
	}
	set := func(st C.prd_status) error {
		if st == C.PRD_OK {
			return nil
		}
		return &Error{Status: Status(st), Detail: goString(C.prd_pg_config_error(cfg))}
	}
	// Each setting left at zero keeps the library's default.
	timeouts := []struct {
		d   time.Duration
		set func(C.uint32_t) C.prd_status
	}{
		{o.AcquireTimeout, func(v C.uint32_t) C.prd_status { return C.prd_pg_config_set_acquire_timeout_ms(cfg, v) }},
		{o.ConnectTimeout, func(v C.uint32_t) C.prd_status { return C.prd_pg_config_set_connect_timeout_ms(cfg, v) }},
		{o.StatementTimeout, func(v C.uint32_t) C.prd_status { return C.prd_pg_config_set_statement_timeout_ms(cfg, v) }},
		{o.QueryTimeout, func(v C.uint32_t) C.prd_status { return C.prd_pg_config_set_query_timeout_ms(cfg, v) }},
		{o.IdleInTransactionTimeout, func(v C.uint32_t) C.prd_status {
			return C.prd_pg_config_set_idle_in_transaction_timeout_ms(cfg, v)
		}},
		{o.LockTimeout, func(v C.uint32_t) C.prd_status { return C.prd_pg_config_set_lock_timeout_ms(cfg, v) }},
	}
	steps := []func() error{
		func() error {
			if o.MaxSize == 0 {
				return nil
			}
			return set(C.prd_pg_config_set_max_size(cfg, C.uint32_t(o.MaxSize)))
		},
		func() error {
			if o.MinSize == 0 {
				return nil
			}
			return set(C.prd_pg_config_set_min_size(cfg, C.uint32_t(o.MinSize)))
		},
		func() error {
			for _, t := range timeouts {
				if t.d == 0 {
					continue
				}
				if err := set(t.set(C.uint32_t(t.d.Milliseconds()))); err != nil {
					return err
				}
			}
			return nil
		},
		func() error {
			if o.ApplicationName == "" {
				return nil
			}
			n, err := cstr(o.ApplicationName, "application name")
			if err != nil {
				return err
			}
			defer free(n)
			return set(C.prd_pg_config_set_application_name(cfg, n))
		},
		func() error {
			if o.Logger == nil {
				return nil
			}
			return set(C.prd_pg_config_set_logger(cfg, o.Logger.raw))
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			C.prd_pg_config_free(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

// Pool is a pool of PostgreSQL connections; safe for concurrent use.
type Pool struct {
	raw    *C.prd_pg_pool
	logger *Logger
}

// NewPool connects (conninfo "" means libpq's PG* variables). With
// MinSize above 0 the first connection is made now: a wrong password
// fails here.
func NewPool(conninfo string, o PoolOptions) (*Pool, error) {
	cfg, err := newPgConfig(conninfo, o)
	if err != nil {
		return nil, err
	}
	defer C.prd_pg_config_free(cfg)
	var raw *C.prd_pg_pool
	if err := withErr(func(e *C.prd_pg_error) C.prd_status { return C.prd_pg_pool_new(cfg, &raw, e) }); err != nil {
		return nil, err
	}
	p := &Pool{raw: raw, logger: o.Logger}
	runtime.SetFinalizer(p, func(p *Pool) { _ = p.Close(0) })
	return p, nil
}

// Close stops handing out connections, waits up to drain for those out
// and frees the pool. Close everything made on the pool first.
func (p *Pool) Close(drain time.Duration) error {
	if p.raw == nil {
		return nil
	}
	err := check(C.prd_pg_pool_close(p.raw, C.uint32_t(drain.Milliseconds())))
	C.prd_pg_pool_free(p.raw)
	p.raw = nil
	runtime.KeepAlive(p.logger)
	return err
}

// Conn is a connection: the transaction's inside Tx, or one taken with
// Acquire (then Release it). Use it from one goroutine at a time.
type Conn struct {
	raw  *C.prd_pg_conn
	ctx  context.Context
	last C.prd_status
}

func caller() (*C.char, C.int) {
	_, file, line, ok := runtime.Caller(2)
	if !ok {
		file, line = "go", 0
	}
	return C.CString(file), C.int(line)
}

// Acquire takes a connection, waiting up to the pool's acquire timeout
// or until ctx ends (then a connection that arrives later goes back).
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, line := caller()
	type result struct {
		c   *C.prd_pg_conn
		err error
	}
	// Unbuffered: the acquiring goroutine hands the connection over only
	// to a caller still waiting, and releases it otherwise.
	got := make(chan result)
	abandoned := make(chan struct{})
	go func() {
		defer free(file)
		var c *C.prd_pg_conn
		err := withErr(func(e *C.prd_pg_error) C.prd_status { return C.prd_pg_pool_acquire_at(p.raw, &c, e, file, line) })
		select {
		case got <- result{c, err}:
		case <-abandoned:
			if err == nil {
				C.prd_pg_pool_release(c)
			}
		}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			return nil, r.err
		}
		return &Conn{raw: r.c, ctx: ctx}, nil
	case <-ctx.Done():
		close(abandoned)
		return nil, ctx.Err()
	}
}

// Release gives the connection back (one left in a transaction is rolled back).
func (c *Conn) Release() {
	if c.raw != nil {
		C.prd_pg_pool_release(c.raw)
		c.raw = nil
	}
}

// params builds a parameter list: nil is NULL; string, []byte (bytea),
// int, int32, int64, float64 and bool are typed; anything else is its
// fmt text.
func params(args []interface{}) (*C.prd_pg_params, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var p *C.prd_pg_params
	if err := check(C.prd_pg_params_new(&p)); err != nil {
		return nil, err
	}
	for i, a := range args {
		var st C.prd_status
		switch v := a.(type) {
		case nil:
			st = C.prd_pg_params_add_null(p)
		case string:
			ptr, n := strArg(v)
			st = C.prd_pg_params_add_textn(p, (*C.char)(ptr), n)
		case []byte:
			ptr, n := bytesArg(v)
			st = C.prd_pg_params_add_bytea(p, ptr, n)
		case int:
			st = C.prd_pg_params_add_int64(p, C.int64_t(v))
		case int32:
			st = C.prd_pg_params_add_int32(p, C.int32_t(v))
		case int64:
			st = C.prd_pg_params_add_int64(p, C.int64_t(v))
		case float64:
			st = C.prd_pg_params_add_double(p, C.double(v))
		case bool:
			b := C.int(0)
			if v {
				b = 1
			}
			st = C.prd_pg_params_add_bool(p, b)
		default:
			s := fmt.Sprint(v)
			ptr, n := strArg(s)
			st = C.prd_pg_params_add_textn(p, (*C.char)(ptr), n)
		}
		if err := checkWhat(st, fmt.Sprintf("parameter $%d: text with a NUL byte", i+1)); err != nil {
			C.prd_pg_params_free(p)
			return nil, err
		}
	}
	return p, nil
}

func (c *Conn) run(ctx context.Context, sql string, args []interface{}) (*C.prd_pg_result, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	q, err := cstr(sql, "SQL")
	if err != nil {
		return nil, err
	}
	defer free(q)
	p, err := params(args)
	if err != nil {
		return nil, err
	}
	defer C.prd_pg_params_free(p)
	var res *C.prd_pg_result
	st := C.prd_pg_query(c.raw, q, p, &res)
	c.last = st
	if st != C.PRD_OK {
		return nil, pgError(st, C.prd_pg_conn_error(c.raw))
	}
	return res, nil
}

// Exec runs one statement; the row count of its command tag. Errors:
// ErrConflict (unique or check violation), ErrRetry (serialization
// failure or deadlock: return it from a Tx function to have it re-run),
// ErrTimeout, ErrDB, with the SQLSTATE.
func (c *Conn) Exec(ctx context.Context, sql string, args ...interface{}) (int64, error) {
	res, err := c.run(ctx, sql, args)
	if err != nil {
		return 0, err
	}
	defer C.prd_pg_result_free(res)
	return int64(C.prd_pg_result_affected(res)), nil
}

// Query runs one statement; its rows (Close them).
func (c *Conn) Query(ctx context.Context, sql string, args ...interface{}) (*Rows, error) {
	res, err := c.run(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	r := &Rows{raw: res}
	runtime.SetFinalizer(r, (*Rows).Close)
	return r, nil
}

// Rows is a statement's result.
type Rows struct {
	raw *C.prd_pg_result
}

// Len is how many rows.
func (r *Rows) Len() int { return int(C.prd_pg_result_rows(r.raw)) }

// Columns are the column names.
func (r *Rows) Columns() []string {
	n := int(C.prd_pg_result_cols(r.raw))
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(C.prd_pg_result_column_name(r.raw, C.size_t(i)))
	}
	return out
}

// Col is the index of a column by name (-1 when absent).
func (r *Rows) Col(name string) int {
	c := C.CString(name)
	defer C.free(unsafe.Pointer(c))
	return int(C.prd_pg_result_column_index(r.raw, c))
}

// Null reports whether a cell is NULL.
func (r *Rows) Null(row, col int) bool {
	return C.prd_pg_result_is_null(r.raw, C.size_t(row), C.size_t(col)) != 0
}

// Text is a cell's text ("" and false for NULL or out of range).
func (r *Rows) Text(row, col int) (string, bool) {
	var n C.size_t
	p := C.prd_pg_result_text(r.raw, C.size_t(row), C.size_t(col), &n)
	if p == nil {
		return "", false
	}
	return C.GoStringN(p, C.int(n)), true
}

func typed(st C.prd_status) (bool, error) {
	switch st {
	case C.PRD_OK:
		return true, nil
	case C.PRD_ENOTFOUND:
		return false, nil
	default:
		return false, newError(Status(st), "not a value of that type")
	}
}

// Int64 is an integer cell (false for NULL).
func (r *Rows) Int64(row, col int) (int64, bool, error) {
	var v C.int64_t
	ok, err := typed(C.prd_pg_result_int64(r.raw, C.size_t(row), C.size_t(col), &v))
	return int64(v), ok, err
}

// Float64 is a float cell.
func (r *Rows) Float64(row, col int) (float64, bool, error) {
	var v C.double
	ok, err := typed(C.prd_pg_result_double(r.raw, C.size_t(row), C.size_t(col), &v))
	return float64(v), ok, err
}

// Bool is a boolean cell.
func (r *Rows) Bool(row, col int) (bool, bool, error) {
	var v C.int
	ok, err := typed(C.prd_pg_result_bool(r.raw, C.size_t(row), C.size_t(col), &v))
	return v != 0, ok, err
}

// Time is a timestamp(tz) cell.
func (r *Rows) Time(row, col int) (time.Time, bool, error) {
	var us C.int64_t
	ok, err := typed(C.prd_pg_result_timestamp_us(r.raw, C.size_t(row), C.size_t(col), &us))
	return time.UnixMicro(int64(us)).UTC(), ok, err
}

// Bytes is a bytea cell, decoded.
func (r *Rows) Bytes(row, col int) ([]byte, bool, error) {
	var n C.size_t
	st := C.prd_pg_result_bytea(r.raw, C.size_t(row), C.size_t(col), nil, 0, &n)
	if st == C.PRD_ENOTFOUND {
		return nil, false, nil
	}
	if st != C.PRD_OK && st != C.PRD_ENOSPACE {
		return nil, false, newError(Status(st), "not a bytea value")
	}
	buf := C.malloc(n + 1)
	defer C.free(buf)
	if err := check(C.prd_pg_result_bytea(r.raw, C.size_t(row), C.size_t(col), buf, n+1, &n)); err != nil {
		return nil, false, err
	}
	return C.GoBytes(buf, C.int(n)), true, nil
}

// Close frees the rows.
func (r *Rows) Close() error {
	if r.raw != nil {
		C.prd_pg_result_free(r.raw)
		r.raw = nil
	}
	return nil
}

// Exec runs one statement on a connection of the pool. With a deadline
// on ctx the statement runs as a one-statement transaction whose timeout
// is that deadline (the C library ends the wait on the wire).
func (p *Pool) Exec(ctx context.Context, sql string, args ...interface{}) (int64, error) {
	var n int64
	err := p.withConn(ctx, func(c *Conn) error {
		var err error
		n, err = c.Exec(ctx, sql, args...)
		return err
	})
	return n, err
}

// Query runs one statement on a connection of the pool; its rows.
func (p *Pool) Query(ctx context.Context, sql string, args ...interface{}) (*Rows, error) {
	var rows *Rows
	err := p.withConn(ctx, func(c *Conn) error {
		var err error
		rows, err = c.Query(ctx, sql, args...)
		return err
	})
	return rows, err
}

func (p *Pool) withConn(ctx context.Context, f func(*Conn) error) error {
	if _, ok := ctx.Deadline(); ok {
		return p.Tx(ctx, nil, f)
	}
	c, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return f(c)
}

// Isolation is a transaction's isolation level.
type Isolation int

const (
	ReadCommitted  Isolation = C.PRD_PG_READ_COMMITTED
	RepeatableRead Isolation = C.PRD_PG_REPEATABLE_READ
	Serializable   Isolation = C.PRD_PG_SERIALIZABLE
)

// TxOptions: isolation, read only, attempts (0: 10) and a timeout over
// all attempts (0: none beyond ctx's deadline and the query timeout).
type TxOptions struct {
	Isolation   Isolation
	ReadOnly    bool
	MaxAttempts uint32
	Timeout     time.Duration
}

type txBody struct {
	fn       func(*Conn) error
	ctx      context.Context
	err      error
	returned C.prd_status
	panicked interface{}
}

func (b *txBody) run(conn *C.prd_pg_conn) (st C.prd_status) {
	c := &Conn{raw: conn, ctx: b.ctx}
	b.err = nil
	defer func() {
		if p := recover(); p != nil {
			b.panicked = p
			st = C.PRD_EINTERNAL
		}
		b.returned = st
	}()
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return C.PRD_ETIMEOUT
	}
	if err := b.fn(c); err != nil {
		b.err = err
		// The failed statement's status decides whether the library runs
		// fn again (ERETRY); an error of the application's rolls back.
		if c.last != C.PRD_OK {
			return c.last
		}
		return C.PRD_EINTERNAL
	}
	return C.PRD_OK
}

// Tx runs fn in a transaction: BEGIN, fn, COMMIT, and fn again from the
// start on a serialization failure or deadlock. fn may run more than
// once: keep its effects outside the database idempotent. fn's own error
// rolls back and is returned as it was; a panic in fn rolls back and
// panics again here. ctx's deadline becomes the transaction's timeout:
// every statement's and COMMIT's wait ends by it, and no retry starts
// that would pass it; the wait for a connection is the pool's acquire
// timeout.
func (p *Pool) Tx(ctx context.Context, o *TxOptions, fn func(tx *Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o == nil {
		o = &TxOptions{}
	}
	var opts *C.prd_pg_tx_options
	if err := check(C.prd_pg_tx_options_new(&opts)); err != nil {
		return err
	}
	defer C.prd_pg_tx_options_free(opts)
	timeout := o.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return context.DeadlineExceeded
		}
		if timeout == 0 || left < timeout {
			timeout = left
		}
	}
	ro := C.int(0)
	if o.ReadOnly {
		ro = 1
	}
	for _, st := range []C.prd_status{
		C.prd_pg_tx_options_set_isolation(opts, C.prd_pg_isolation(o.Isolation)),
		C.prd_pg_tx_options_set_read_only(opts, ro),
	} {
		if err := check(st); err != nil {
			return err
		}
	}
	if o.MaxAttempts != 0 {
		if err := checkWhat(C.prd_pg_tx_options_set_max_attempts(opts, C.uint32_t(o.MaxAttempts)), "max attempts: 1..1000"); err != nil {
			return err
		}
	}
	if timeout > 0 {
		ms := timeout.Milliseconds()
		if ms < 1 {
			ms = 1
		}
		if err := check(C.prd_pg_tx_options_set_timeout_ms(opts, C.uint32_t(ms))); err != nil {
			return err
		}
	}
	body := &txBody{fn: fn, ctx: ctx}
	h := cgo.NewHandle(body)
	defer h.Delete()
	file, line := caller()
	defer free(file)
	var st C.prd_status
	err := withErr(func(e *C.prd_pg_error) C.prd_status {
		st = C.go_tx_run(p.raw, opts, C.uintptr_t(h), e, file, line)
		return st
	})
	if ctxErr := ctx.Err(); ctxErr != nil && Status(st) == StatusTimeout {
		err = fmt.Errorf("%w: %v", ctxErr, err)
	}
	return body.finish(st, err)
}

// finish is the outcome of a transaction or savepoint run with body: a
// panic in fn panics again here; fn's own error when that is what ended
// it; else the library's error.
func (b *txBody) finish(st C.prd_status, libErr error) error {
	if b.panicked != nil {
		panic(b.panicked)
	}
	if st == C.PRD_OK {
		return nil
	}
	if b.err != nil && st == b.returned {
		return b.err
	}
	return libErr
}

// Savepoint runs fn inside the transaction between SAVEPOINT and RELEASE;
// when fn fails, its work alone is rolled back and its error returned.
func (c *Conn) Savepoint(fn func(tx *Conn) error) error {
	body := &txBody{fn: fn, ctx: c.context()}
	h := cgo.NewHandle(body)
	defer h.Delete()
	st := C.go_savepoint_run(c.raw, C.uintptr_t(h))
	c.last = st
	return body.finish(st, pgError(st, C.prd_pg_conn_error(c.raw)))
}

func (c *Conn) context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

type rowBody struct {
	fn       func(*Rows) error
	err      error
	panicked interface{}
}

func (b *rowBody) run(row *C.prd_pg_result) (st C.prd_status) {
	defer func() {
		if p := recover(); p != nil {
			b.panicked = p
			st = C.PRD_EINTERNAL
		}
	}()
	if err := b.fn(&Rows{raw: row}); err != nil {
		b.err = err
		return C.PRD_EINTERNAL
	}
	return C.PRD_OK
}

// QueryEach calls fn with each row as it arrives (a one-row Rows valid
// during the call only), so memory is one row's whatever the result's
// size; fn's error stops it and is returned.
func (c *Conn) QueryEach(ctx context.Context, sql string, fn func(row *Rows) error, args ...interface{}) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q, err := cstr(sql, "SQL")
	if err != nil {
		return 0, err
	}
	defer free(q)
	p, err := params(args)
	if err != nil {
		return 0, err
	}
	defer C.prd_pg_params_free(p)
	body := &rowBody{fn: fn}
	h := cgo.NewHandle(body)
	defer h.Delete()
	var rows C.uint64_t
	st := C.go_query_each(c.raw, q, p, C.uintptr_t(h), &rows)
	c.last = st
	if body.panicked != nil {
		panic(body.panicked)
	}
	if body.err != nil {
		return int64(rows), body.err
	}
	return int64(rows), pgError(st, C.prd_pg_conn_error(c.raw))
}

// CopyIn runs COPY ... FROM STDIN with the chunks as its data; the rows stored.
func (c *Conn) CopyIn(ctx context.Context, sql string, chunks [][]byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q, err := cstr(sql, "SQL")
	if err != nil {
		return 0, err
	}
	defer free(q)
	if st := C.prd_pg_copy_in_start(c.raw, q); st != C.PRD_OK {
		return 0, pgError(st, C.prd_pg_conn_error(c.raw))
	}
	for _, ch := range chunks {
		ptr, n := bytesArg(ch)
		if st := C.prd_pg_copy_in_put(c.raw, ptr, n); st != C.PRD_OK {
			reason := C.CString("client failed")
			_ = C.prd_pg_copy_in_end(c.raw, reason, nil)
			C.free(unsafe.Pointer(reason))
			return 0, pgError(st, C.prd_pg_conn_error(c.raw))
		}
	}
	var rows C.uint64_t
	if st := C.prd_pg_copy_in_end(c.raw, nil, &rows); st != C.PRD_OK {
		return 0, pgError(st, C.prd_pg_conn_error(c.raw))
	}
	return int64(rows), nil
}

// CopyOut runs COPY ... TO STDOUT, calling fn with each row.
func (c *Conn) CopyOut(ctx context.Context, sql string, fn func(row []byte)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q, err := cstr(sql, "SQL")
	if err != nil {
		return 0, err
	}
	defer free(q)
	h := cgo.NewHandle(fn)
	defer h.Delete()
	var rows C.uint64_t
	st := C.go_copy_out(c.raw, q, C.uintptr_t(h), &rows)
	return int64(rows), pgError(st, C.prd_pg_conn_error(c.raw))
}

// Notify sends NOTIFY channel, payload (in the open transaction if any).
func (c *Conn) Notify(channel, payload string) error {
	ch, err := cstr(channel, "channel")
	if err != nil {
		return err
	}
	defer free(ch)
	pl, err := cstr(payload, "payload")
	if err != nil {
		return err
	}
	defer free(pl)
	st := C.prd_pg_notify(c.raw, ch, pl)
	return pgError(st, C.prd_pg_conn_error(c.raw))
}

// MigrateStores applies the library's stores' schema; how many ran.
func (p *Pool) MigrateStores(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n C.uint32_t
	err := withErr(func(e *C.prd_pg_error) C.prd_status { return C.prd_pg_stores_migrate(p.raw, &n, e) })
	return int(n), err
}

// Migration is one versioned migration of an application's set.
type Migration struct {
	Version uint32
	Name    string
	SQL     string
}

// Migrate applies set's migrations in order, each in its own transaction,
// under an advisory lock, refusing one edited after it was applied
// (ErrConflict); how many ran.
func (p *Pool) Migrate(ctx context.Context, set string, ms []Migration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s, err := cstr(set, "set")
	if err != nil {
		return 0, err
	}
	defer free(s)
	size := C.size_t(unsafe.Sizeof(C.prd_pg_migration{}))
	arr := (*[1 << 16]C.prd_pg_migration)(C.calloc(C.size_t(len(ms)+1), size))
	defer C.free(unsafe.Pointer(arr))
	var strs []*C.char
	defer func() {
		for _, c := range strs {
			free(c)
		}
	}()
	for i, m := range ms {
		n, err := cstr(m.Name, "migration name")
		if err != nil {
			return 0, err
		}
		q, err := cstr(m.SQL, "migration SQL")
		if err != nil {
			free(n)
			return 0, err
		}
		strs = append(strs, n, q)
		arr[i] = C.prd_pg_migration{size: size, version: C.uint32_t(m.Version), name: n, sql: q}
	}
	var applied C.uint32_t
	err = withErr(func(e *C.prd_pg_error) C.prd_status {
		return C.prd_pg_migrate(p.raw, s, &arr[0], C.size_t(len(ms)), &applied, e)
	})
	return int(applied), err
}

// Prometheus is the pool's metrics in the Prometheus text format.
func (p *Pool) Prometheus(prefix string) string {
	c := C.CString(prefix)
	defer C.free(unsafe.Pointer(c))
	return textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_pg_pool_prometheus(p.raw, c, out, size) })
}

// Notification is one NOTIFY heard by a Listener.
type Notification struct {
	Channel, Payload string
	SenderPID        int
}

// Listener LISTENs on a connection of its own and calls fn on its own
// thread with each notification, or with nil after a reconnection
// (notifications in between may have been missed: resynchronise).
type Listener struct {
	raw *C.prd_pg_listener
	h   cgo.Handle
}

// NewListener connects a listener.
func NewListener(conninfo string, o PoolOptions, fn func(*Notification)) (*Listener, error) {
	cfg, err := newPgConfig(conninfo, o)
	if err != nil {
		return nil, err
	}
	defer C.prd_pg_config_free(cfg)
	h := cgo.NewHandle(fn)
	var raw *C.prd_pg_listener
	if err := withErr(func(e *C.prd_pg_error) C.prd_status { return C.go_listener_new(cfg, C.uintptr_t(h), &raw, e) }); err != nil {
		h.Delete()
		return nil, err
	}
	l := &Listener{raw: raw, h: h}
	runtime.SetFinalizer(l, (*Listener).Close)
	return l, nil
}

// Listen subscribes to a channel.
func (l *Listener) Listen(channel string) error {
	c, err := cstr(channel, "channel")
	if err != nil {
		return err
	}
	defer free(c)
	return check(C.prd_pg_listener_listen(l.raw, c))
}

// Close stops the listener.
func (l *Listener) Close() error {
	if l.raw != nil {
		C.prd_pg_listener_free(l.raw)
		l.raw = nil
		l.h.Delete()
	}
	return nil
}
