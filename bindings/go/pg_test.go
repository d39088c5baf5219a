package prodready_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"prodready"
)

func pool(t *testing.T, o prodready.PoolOptions) *prodready.Pool {
	t.Helper()
	ci := pgConninfo(t)
	if o.MaxSize == 0 {
		o.MaxSize = 8
	}
	p, err := prodready.NewPool(ci, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(time.Second) })
	return p
}

func mustExec(t *testing.T, p *prodready.Pool, sql string, args ...interface{}) int64 {
	t.Helper()
	n, err := p.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestQueriesAndTypedValues(t *testing.T) {
	p, ctx := pool(t, prodready.PoolOptions{}), context.Background()
	mustExec(t, p, "DROP TABLE IF EXISTS go_q")
	mustExec(t, p, "CREATE TABLE go_q (id bigint PRIMARY KEY, name text, score float8, ok bool, data bytea, at timestamptz)")
	if n := mustExec(t, p, "INSERT INTO go_q VALUES ($1, $2, $3, $4, $5, '2026-11-23T08:00:00Z')", 1, "O'Brien; DROP TABLE go_q", 2.5, true, []byte{0, 1, 255}); n != 1 {
		t.Fatal(n)
	}
	mustExec(t, p, "INSERT INTO go_q (id, name) VALUES ($1, $2)", int64(2), nil)
	rows, err := p.Query(ctx, "SELECT * FROM go_q ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Len() != 2 || rows.Columns()[1] != "name" {
		t.Fatal(rows.Len(), rows.Columns())
	}
	if s, ok := rows.Text(0, rows.Col("name")); !ok || s != "O'Brien; DROP TABLE go_q" {
		t.Fatal(s)
	}
	if v, ok, err := rows.Int64(0, 0); err != nil || !ok || v != 1 {
		t.Fatal(v, err)
	}
	if v, _, _ := rows.Float64(0, 2); v != 2.5 {
		t.Fatal(v)
	}
	if v, _, _ := rows.Bool(0, 3); !v {
		t.Fatal(v)
	}
	if b, _, err := rows.Bytes(0, 4); err != nil || string(b) != "\x00\x01\xff" {
		t.Fatal(b, err)
	}
	if at, _, err := rows.Time(0, 5); err != nil || !at.Equal(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)) {
		t.Fatal(at, err)
	}
	if _, ok := rows.Text(1, 1); ok || !rows.Null(1, 1) {
		t.Fatal("NULL")
	}
	if _, _, err := rows.Int64(0, 1); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, "INSERT INTO go_q (id, name) VALUES (3, $1)", "a\x00b"); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatal(err)
	}
}

func TestDatabaseErrors(t *testing.T) {
	p := pool(t, prodready.PoolOptions{})
	mustExec(t, p, "DROP TABLE IF EXISTS go_e")
	mustExec(t, p, "CREATE TABLE go_e (id int PRIMARY KEY)")
	mustExec(t, p, "INSERT INTO go_e VALUES (1)")
	_, err := p.Exec(context.Background(), "INSERT INTO go_e VALUES (1)")
	var e *prodready.Error
	if !errors.Is(err, prodready.ErrConflict) || !errors.As(err, &e) || e.SQLState != "23505" || !e.ClientError() {
		t.Fatalf("%#v", err)
	}
	if _, err := p.Query(context.Background(), "SELECT * FROM no_such_table"); !errors.Is(err, prodready.ErrDB) {
		t.Fatal(err)
	}
	if _, err := prodready.NewPool("host=/nonexistent-dir connect_timeout=1", prodready.PoolOptions{}); err == nil {
		t.Fatal("no server")
	}
	if _, err := prodready.NewPool(pgConninfo(t), prodready.PoolOptions{MaxSize: 20000}); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatal(err)
	}
}

var errApp = errors.New("not allowed")

func TestTransactions(t *testing.T) {
	p, ctx := pool(t, prodready.PoolOptions{}), context.Background()
	mustExec(t, p, "DROP TABLE IF EXISTS go_t")
	mustExec(t, p, "CREATE TABLE go_t (id int PRIMARY KEY, v text)")
	if err := p.Tx(ctx, nil, func(tx *prodready.Conn) error {
		_, err := tx.Exec(ctx, "INSERT INTO go_t VALUES (1, 'a'), (2, 'b')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := p.Tx(ctx, nil, func(tx *prodready.Conn) error {
		if _, err := tx.Exec(ctx, "INSERT INTO go_t VALUES (3, 'c')"); err != nil {
			return err
		}
		return errApp
	})
	if !errors.Is(err, errApp) {
		t.Fatalf("the function's own error: %v", err)
	}
	err = p.Tx(ctx, nil, func(tx *prodready.Conn) error {
		_, err := tx.Exec(ctx, "INSERT INTO go_t VALUES (1, 'dup')")
		return err
	})
	if !errors.Is(err, prodready.ErrConflict) {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic must reach the caller")
			}
		}()
		_ = p.Tx(ctx, nil, func(tx *prodready.Conn) error {
			_, _ = tx.Exec(ctx, "INSERT INTO go_t VALUES (4, 'p')")
			panic("bug")
		})
	}()
	err = p.Tx(ctx, nil, func(tx *prodready.Conn) error {
		if _, err := tx.Exec(ctx, "INSERT INTO go_t VALUES (5, 'kept')"); err != nil {
			return err
		}
		inner := tx.Savepoint(func(sp *prodready.Conn) error {
			_, err := sp.Exec(ctx, "INSERT INTO go_t VALUES (1, 'dup')")
			return err
		})
		if !errors.Is(inner, prodready.ErrConflict) {
			return fmt.Errorf("savepoint: %v", inner)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := p.Query(ctx, "SELECT string_agg(id::text, ',' ORDER BY id) FROM go_t")
	defer rows.Close()
	if s, _ := rows.Text(0, 0); s != "1,2,5" {
		t.Fatalf("rows %q: the failed transactions rolled back, the savepoint's work alone", s)
	}
}

func TestSerializableTransfersFromGoroutines(t *testing.T) {
	p, ctx := pool(t, prodready.PoolOptions{}), context.Background()
	mustExec(t, p, "DROP TABLE IF EXISTS go_acct")
	mustExec(t, p, "CREATE TABLE go_acct (id int PRIMARY KEY, balance bigint)")
	mustExec(t, p, "INSERT INTO go_acct SELECT g, 1000 FROM generate_series(1, 4) g")
	var runs int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				src, dst := (g+i)%4+1, (g+i+1)%4+1
				err := p.Tx(ctx, &prodready.TxOptions{Isolation: prodready.Serializable, MaxAttempts: 100}, func(tx *prodready.Conn) error {
					atomic.AddInt64(&runs, 1)
					rows, err := tx.Query(ctx, "SELECT balance FROM go_acct WHERE id = $1", src)
					if err != nil {
						return err
					}
					b, _, _ := rows.Int64(0, 0)
					rows.Close()
					if _, err := tx.Exec(ctx, "UPDATE go_acct SET balance = $1 WHERE id = $2", b-10, src); err != nil {
						return err
					}
					_, err = tx.Exec(ctx, "UPDATE go_acct SET balance = balance + 10 WHERE id = $1", dst)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rows, _ := p.Query(ctx, "SELECT sum(balance)::bigint FROM go_acct")
	defer rows.Close()
	if total, _, _ := rows.Int64(0, 0); total != 4000 {
		t.Fatalf("total %d: a transfer was lost or doubled", total)
	}
}

func TestContextsBoundTheWaits(t *testing.T) {
	p := pool(t, prodready.PoolOptions{MaxSize: 1, AcquireTimeout: 5 * time.Second})
	held, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	start := time.Now()
	_, err = p.Acquire(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("acquire past the context: %v after %v", err, time.Since(start))
	}
	held.Release()
	// A deadline on the statement: the C library ends the wait on the wire.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = p.Exec(ctx, "SELECT pg_sleep(5)")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("statement past its deadline: %v after %v", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, prodready.ErrTimeout) {
		t.Fatalf("%v", err)
	}
	// The pool recovers: the abandoned acquire gave its connection back.
	if _, err := p.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsAndStoresAcrossPools(t *testing.T) {
	a, b, ctx := pool(t, prodready.PoolOptions{}), pool(t, prodready.PoolOptions{}), context.Background()
	if _, err := a.MigrateStores(ctx); err != nil {
		t.Fatal(err)
	}
	set := fmt.Sprintf("go-test-%d", os.Getpid())
	m := []prodready.Migration{{Version: 1, Name: "create", SQL: fmt.Sprintf("CREATE TABLE go_m_%d (id int)", os.Getpid())}}
	if n, err := a.Migrate(ctx, set, m); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if n, err := b.Migrate(ctx, set, m); err != nil || n != 0 {
		t.Fatal(n, err)
	}
	m[0].SQL = "CREATE TABLE edited (id int)"
	if _, err := a.Migrate(ctx, set, m); !errors.Is(err, prodready.ErrConflict) {
		t.Fatal(err)
	}
	// Sessions made on one instance are seen and revoked on the other.
	sa, _ := prodready.NewPostgresTokenStore(a)
	sb, _ := prodready.NewPostgresTokenStore(b)
	ma, _ := prodready.NewSessions(sa, "sess", prodready.SessionOptions{})
	mb, _ := prodready.NewSessions(sb, "sess", prodready.SessionOptions{})
	tok, _ := ma.Create("pg-user")
	if sub, err := mb.Validate(tok); err != nil || sub != "pg-user" {
		t.Fatal(sub, err)
	}
	_ = mb.Revoke(tok)
	if _, err := ma.Validate(tok); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatal(err)
	}
	// One limit for both instances.
	rules := prodready.LimiterOptions{Rules: []prodready.Rule{{Name: "go-shared", Limit: 20, Window: time.Hour}}}
	la, err := prodready.NewSharedLimiter(rules, a, false)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := prodready.NewSharedLimiter(rules, b, false)
	key := []byte(fmt.Sprintf("k-%d", os.Getpid()))
	var admitted int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		l := la
		if i%2 == 1 {
			l = lb
		}
		wg.Add(1)
		go func(l *prodready.SharedLimiter) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if d, err := l.Check(1, key); err == nil && d.Allowed {
					atomic.AddInt64(&admitted, 1)
				}
			}
		}(l)
	}
	wg.Wait()
	if admitted != 20 {
		t.Fatalf("%d admitted", admitted)
	}
	// The login guard's account limit across instances.
	account := []byte(fmt.Sprintf("acct-%d", os.Getpid()))
	var guards []*prodready.LoginGuard
	for _, p := range []*prodready.Pool{a, b} {
		g, err := prodready.NewLoginGuard(prodready.LoginOptions{MaxKeys: 1024, SourceAttempts: 1000, AccountFailures: 4,
			FreeFailures: 100, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond, Pool: p})
		if err != nil {
			t.Fatal(err)
		}
		guards = append(guards, g)
	}
	allowed := 0
	for i := 0; i < 12; i++ {
		att, _, err := guards[i%2].Check(account, []byte(fmt.Sprintf("10.0.0.%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if att != nil {
			allowed++
			_ = att.Failure()
		}
	}
	if allowed != 4 {
		t.Fatalf("%d allowed", allowed)
	}
	for _, c := range []interface{ Close() error }{guards[0], guards[1], la, lb, ma, mb, sa, sb} {
		c.Close()
	}
}

func TestCopyRowsAndNotifications(t *testing.T) {
	p, ctx := pool(t, prodready.PoolOptions{}), context.Background()
	mustExec(t, p, "DROP TABLE IF EXISTS go_copy")
	mustExec(t, p, "CREATE TABLE go_copy (id int, v text)")
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	var chunks [][]byte
	for i := 0; i < 100; i++ {
		chunks = append(chunks, []byte(fmt.Sprintf("%d\tv%d\n", i, i)))
	}
	if n, err := c.CopyIn(ctx, "COPY go_copy FROM STDIN", chunks); err != nil || n != 100 {
		t.Fatal(n, err)
	}
	var out []byte
	if n, err := c.CopyOut(ctx, "COPY (SELECT * FROM go_copy ORDER BY id) TO STDOUT", func(b []byte) { out = append(out, b...) }); err != nil || n != 100 {
		t.Fatal(n, err)
	}
	var sum int64
	if n, err := c.QueryEach(ctx, "SELECT id FROM go_copy", func(r *prodready.Rows) error {
		v, _, err := r.Int64(0, 0)
		sum += v
		return err
	}); err != nil || n != 100 || sum != 4950 {
		t.Fatal(n, sum, err)
	}
	heard := make(chan prodready.Notification, 1)
	l, err := prodready.NewListener(pgConninfo(t), prodready.PoolOptions{}, func(n *prodready.Notification) {
		if n != nil {
			heard <- *n
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Listen("go_chan"); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify("go_chan", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-heard:
		if n.Channel != "go_chan" || n.Payload != "hello" {
			t.Fatal(n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
}
