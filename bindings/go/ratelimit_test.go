package prodready_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"prodready"
)

func limiter(t *testing.T, limit uint64, window time.Duration, clock *prodready.Clock) *prodready.Limiter {
	t.Helper()
	l, err := prodready.NewLimiter(prodready.LimiterOptions{
		Rules: []prodready.Rule{{Name: "per-ip", Limit: limit, Window: window, Algorithm: prodready.Exact}},
		Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLimiterDecisionsAndHeaders(t *testing.T) {
	clock, _ := prodready.NewManualClock(0, 1_000_000_000)
	l := limiter(t, 3, time.Minute, clock)
	for left := uint64(3); left > 0; left-- {
		d, err := l.Check(1, []byte("10.0.0.1"))
		if err != nil || !d.Allowed || d.Remaining != left-1 {
			t.Fatalf("%+v %v", d, err)
		}
	}
	d, err := l.Check(1, []byte("10.0.0.1"))
	if err != nil || d.Allowed || d.RetryAfter != time.Minute {
		t.Fatalf("%+v %v", d, err)
	}
	if l.PolicyHeader() != `"per-ip";q=3;w=60` || l.RateLimitHeader(d) != `"per-ip";r=0;t=60` || d.RetryAfterHeader() != "60" {
		t.Fatalf("%q %q %q", l.PolicyHeader(), l.RateLimitHeader(d), d.RetryAfterHeader())
	}
	_ = clock.Advance(time.Minute)
	if d, _ := l.Check(1, []byte("10.0.0.1")); !d.Allowed {
		t.Fatal("the window slid")
	}
	if _, err := l.Check(1); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("no key: %v", err)
	}
	// A flood of keys, or one of a megabyte: refused before anything is copied.
	many := make([][]byte, 5000)
	for i := range many {
		many[i] = []byte("k")
	}
	if _, err := l.Check(1, many...); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("5000 keys: %v", err)
	}
	if _, err := l.Check(1, make([]byte, 1<<20)); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("a 1 MiB key: %v", err)
	}
	if d, err := l.Check(5, []byte("x")); err != nil || d.Allowed || d.RetryAfter != -1 {
		t.Fatalf("a cost over the limit: %+v %v", d, err)
	}
}

func TestReservations(t *testing.T) {
	clock, _ := prodready.NewManualClock(0, 1_000_000)
	l := limiter(t, 2, time.Minute, clock)
	d, r, err := l.Reserve(2, []byte("k"))
	if err != nil || !d.Allowed || r == nil {
		t.Fatal(err)
	}
	if err := r.Refund(); err != nil {
		t.Fatal(err)
	}
	if err := r.Refund(); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("settled twice: %v", err)
	}
	_, r, _ = l.Reserve(2, []byte("k"))
	_ = r.Commit()
	if d, r, _ := l.Reserve(1, []byte("k")); d.Allowed || r != nil {
		t.Fatal("full")
	}
}

func TestGoroutinesNeverExceedTheLimit(t *testing.T) {
	clock, _ := prodready.NewManualClock(0, 1_000_000)
	l := limiter(t, 1000, time.Hour, clock)
	var admitted int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				if d, err := l.Check(1, []byte("shared")); err == nil && d.Allowed {
					atomic.AddInt64(&admitted, 1)
				}
			}
		}()
	}
	wg.Wait()
	if admitted != 1000 {
		t.Fatalf("%d admitted of 2000 attempts", admitted)
	}
}

func TestMiddlewareSetsTheHeaders(t *testing.T) {
	clock, _ := prodready.NewManualClock(0, 1_000_000_000)
	l := limiter(t, 2, 30*time.Second, clock)
	h := prodready.Middleware(l, prodready.ClientAddress, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	do := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for i := 0; i < 2; i++ {
		w := do("192.0.2.1:5000")
		if w.Code != 200 || w.Header().Get("RateLimit-Policy") != `"per-ip";q=2;w=30` || w.Header().Get("RateLimit") == "" {
			t.Fatalf("%d %v", w.Code, w.Header())
		}
	}
	w := do("192.0.2.1:6000")
	if w.Code != 429 || w.Header().Get("Retry-After") != "30" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if w.Header().Get("RateLimit") != `"per-ip";r=0;t=30` || len(w.Body.String()) == 0 {
		t.Fatalf("%v %s", w.Header(), w.Body)
	}
	if w := do("[2001:db8::1]:443"); w.Code != 200 {
		t.Fatalf("another client: %d", w.Code)
	}
}

func TestLoginGuard(t *testing.T) {
	clock, _ := prodready.NewManualClock(0, 1_000_000_000)
	var mu sync.Mutex
	var seen []prodready.Lockout
	g, err := prodready.NewLoginGuard(prodready.LoginOptions{
		MaxKeys: 1024, FreeFailures: 2, BackoffBase: time.Second, BackoffCap: time.Minute, Clock: clock,
		OnLockout: func(l prodready.Lockout) { mu.Lock(); seen = append(seen, l); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for i := 0; i < 2; i++ {
		a, d, err := g.Check([]byte("alice"), []byte("203.0.113.7"))
		if err != nil || a == nil || !d.Allowed {
			t.Fatalf("free failure %d: %v", i, err)
		}
		_ = a.Failure()
	}
	a, d, err := g.Check([]byte("alice"), []byte("203.0.113.7"))
	if err != nil || a != nil || d.Allowed || d.Rule != 2 || d.RetryAfter != time.Second {
		t.Fatalf("%+v %v", d, err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Kind != prodready.LockoutBackoff || string(seen[0].Account) != "alice" || len(seen[0].SourceFingerprint) != 16 {
		t.Fatalf("%+v", seen)
	}
	mu.Unlock()
	a, _, _ = g.Check([]byte("alice"), []byte("198.51.100.1"))
	if a == nil {
		t.Fatal("another source must not wait")
	}
	if err := a.Success(); err != nil {
		t.Fatal(err)
	}
	if err := a.Success(); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("settled twice: %v", err)
	}
	if err := g.Unlock([]byte("alice")); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := g.Check([]byte("alice"), []byte("203.0.113.7")); a == nil {
		t.Fatal("unlocked")
	} else {
		_ = a.Abandon()
	}
}
