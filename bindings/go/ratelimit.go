package prodready

/*
#include <stdlib.h>
#include <string.h>
#include <prodready.h>
static prd_rl_decision decision_init_rl(void) { prd_rl_decision d = PRD_RL_DECISION_INIT; return d; }
*/
import "C"

import (
	"net/http"
	"runtime"
	"time"
	"unsafe"
)

// Algorithm is how a rule counts.
type Algorithm int

const (
	Exact   Algorithm = C.PRD_RL_EXACT   // an exact sliding window (limits up to 2^20)
	Counter Algorithm = C.PRD_RL_COUNTER // two weighted fixed windows
	GCRA    Algorithm = C.PRD_RL_GCRA    // the generic cell-rate algorithm
)

// Rule is one limit: at most Limit units per Window. Name (1-32 of
// [A-Za-z0-9_-]) appears in the RateLimit headers. Burst is GCRA's (0:
// the limit).
type Rule struct {
	Name      string
	Limit     uint64
	Window    time.Duration
	Algorithm Algorithm
	Burst     uint64
}

// LimiterOptions: the rules (up to 8, checked together atomically), keys
// tracked per rule (0: 100000) and a clock.
type LimiterOptions struct {
	Rules   []Rule
	MaxKeys int
	Clock   *Clock
}

func newConfig(o LimiterOptions) (*C.prd_limiter_config, error) {
	var cfg *C.prd_limiter_config
	if err := check(C.prd_limiter_config_new(&cfg)); err != nil {
		return nil, err
	}
	for _, r := range o.Rules {
		n, err := cstr(r.Name, "rule name")
		if err != nil {
			C.prd_limiter_config_free(cfg)
			return nil, err
		}
		var st C.prd_status
		if r.Algorithm == GCRA && r.Burst != 0 {
			st = C.prd_limiter_config_add_gcra(cfg, n, C.uint64_t(r.Limit), C.int64_t(r.Window.Milliseconds()), C.uint64_t(r.Burst))
		} else {
			st = C.prd_limiter_config_add_rule(cfg, n, C.uint64_t(r.Limit), C.int64_t(r.Window.Milliseconds()), C.prd_rl_algorithm(r.Algorithm))
		}
		free(n)
		if err := checkWhat(st, "rule '"+r.Name+"': a name of 1-32 [A-Za-z0-9_-], limit 1..2^48 (exact: 2^20), window 1 ms..30 days"); err != nil {
			C.prd_limiter_config_free(cfg)
			return nil, err
		}
	}
	if o.MaxKeys != 0 {
		if err := checkWhat(C.prd_limiter_config_set_max_keys(cfg, C.size_t(o.MaxKeys)), "max keys: 16..2^26"); err != nil {
			C.prd_limiter_config_free(cfg)
			return nil, err
		}
	}
	if o.Clock != nil {
		if err := check(C.prd_limiter_config_set_clock(cfg, o.Clock.raw)); err != nil {
			C.prd_limiter_config_free(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed    bool
	Rule       int           // the deciding rule
	Limit      uint64        // its limit
	Remaining  uint64        // units it would still admit now
	Reset      time.Duration // until its window holds nothing of this key
	RetryAfter time.Duration // when denied: until admitted; -1: never (cost over the limit)
	raw        C.prd_rl_decision
}

func decisionOf(d C.prd_rl_decision) Decision {
	ra := time.Duration(d.retry_after_ms) * time.Millisecond
	if d.retry_after_ms < 0 {
		ra = -1
	}
	return Decision{
		Allowed: d.allowed != 0, Rule: int(d.rule), Limit: uint64(d.limit), Remaining: uint64(d.remaining),
		Reset: time.Duration(d.reset_ms) * time.Millisecond, RetryAfter: ra, raw: d,
	}
}

// decided: denial is a Decision, not an error.
func decided(st C.prd_status, d C.prd_rl_decision) (Decision, error) {
	if st == C.PRD_ELIMITED {
		return decisionOf(d), nil
	}
	if err := check(st); err != nil {
		return Decision{}, err
	}
	return decisionOf(d), nil
}

// RetryAfterHeader is the Retry-After value (seconds, at least 1).
func (d Decision) RetryAfterHeader() string {
	return textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_limiter_retry_after_header(&d.raw, out, size) })
}

// keys as the C array: in C memory, since it holds pointers (to the keys'
// bytes, copied into the same block).
type cKeys struct {
	arr *C.prd_rl_key
	n   C.size_t
}

func makeKeys(keys [][]byte) (cKeys, error) {
	if len(keys) > C.PRD_RL_MAX_RULES {
		// More keys than a limiter has rules: refused before anything is
		// copied (a flood of keys must not cost memory first).
		return cKeys{}, newError(StatusInvalid, "more keys than a limiter has rules")
	}
	total := 0
	for _, k := range keys {
		if len(k) > C.PRD_RL_KEY_MAX {
			return cKeys{}, newError(StatusInvalid, "a key over 1024 bytes")
		}
		total += len(k)
	}
	n := len(keys)
	size := C.size_t(n)*C.size_t(unsafe.Sizeof(C.prd_rl_key{})) + C.size_t(total) + 1
	block := C.malloc(size)
	arr := (*[C.PRD_RL_MAX_RULES]C.prd_rl_key)(block)
	data := unsafe.Add(block, uintptr(n)*unsafe.Sizeof(C.prd_rl_key{}))
	for i, k := range keys {
		if len(k) > 0 {
			C.memcpy(data, unsafe.Pointer(&k[0]), C.size_t(len(k)))
		}
		arr[i].data = data
		arr[i].len = C.size_t(len(k))
		data = unsafe.Add(data, len(k))
	}
	return cKeys{arr: (*C.prd_rl_key)(block), n: C.size_t(n)}, nil
}

func (k cKeys) free() { C.free(unsafe.Pointer(k.arr)) }

// Limiter is an in-process (or shared-memory) limiter; safe for
// concurrent use.
type Limiter struct {
	raw   *C.prd_limiter
	clock *Clock
}

// NewLimiter makes an in-process limiter.
func NewLimiter(o LimiterOptions) (*Limiter, error) {
	cfg, err := newConfig(o)
	if err != nil {
		return nil, err
	}
	defer C.prd_limiter_config_free(cfg)
	var raw *C.prd_limiter
	if err := checkWhat(C.prd_limiter_new(cfg, &raw), "a limiter needs at least one rule"); err != nil {
		return nil, err
	}
	l := &Limiter{raw: raw, clock: o.Clock}
	runtime.SetFinalizer(l, (*Limiter).Close)
	return l, nil
}

// Close frees the limiter.
func (l *Limiter) Close() error {
	if l.raw != nil {
		C.prd_limiter_free(l.raw)
		l.raw = nil
	}
	runtime.KeepAlive(l.clock)
	return nil
}

// Check checks cost units for keys (one per rule) and records them when
// every rule admits them. A denial is Decision.Allowed false, not an error.
func (l *Limiter) Check(cost uint64, keys ...[]byte) (Decision, error) {
	k, err := makeKeys(keys)
	if err != nil {
		return Decision{}, err
	}
	defer k.free()
	d := C.decision_init_rl()
	st := C.prd_limiter_check(l.raw, k.arr, k.n, C.uint64_t(cost), &d)
	runtime.KeepAlive(l)
	return decided(st, d)
}

// Peek: would this be admitted now? Records nothing.
func (l *Limiter) Peek(cost uint64, keys ...[]byte) (Decision, error) {
	k, err := makeKeys(keys)
	if err != nil {
		return Decision{}, err
	}
	defer k.free()
	d := C.decision_init_rl()
	st := C.prd_limiter_peek(l.raw, k.arr, k.n, C.uint64_t(cost), &d)
	runtime.KeepAlive(l)
	return decided(st, d)
}

// Reservation is units reserved, to Commit or Refund once.
type Reservation struct {
	resv    *C.prd_rl_reservation
	commit  func(*C.prd_rl_reservation) C.prd_status
	refund  func(*C.prd_rl_reservation) C.prd_status
	settled bool
}

func newReservation() *C.prd_rl_reservation {
	return (*C.prd_rl_reservation)(C.calloc(1, C.size_t(unsafe.Sizeof(C.prd_rl_reservation{}))))
}

// Commit keeps the units.
func (r *Reservation) Commit() error { return r.settle(r.commit) }

// Refund gives back what of the units still counts.
func (r *Reservation) Refund() error { return r.settle(r.refund) }

func (r *Reservation) settle(f func(*C.prd_rl_reservation) C.prd_status) error {
	if r.settled {
		return newError(StatusInvalid, "reservation already settled")
	}
	st := f(r.resv)
	if st == C.PRD_OK {
		r.settled = true
		C.free(unsafe.Pointer(r.resv))
	}
	return check(st)
}

// Reserve reserves cost units as Check would; when admitted, settle the
// Reservation (an unsettled one stays counted, the safe side).
func (l *Limiter) Reserve(cost uint64, keys ...[]byte) (Decision, *Reservation, error) {
	k, err := makeKeys(keys)
	if err != nil {
		return Decision{}, nil, err
	}
	defer k.free()
	d := C.decision_init_rl()
	resv := newReservation()
	st := C.prd_limiter_reserve(l.raw, k.arr, k.n, C.uint64_t(cost), &d, resv)
	runtime.KeepAlive(l)
	dec, err := decided(st, d)
	if err != nil || !dec.Allowed {
		C.free(unsafe.Pointer(resv))
		return dec, nil, err
	}
	return dec, &Reservation{
		resv: resv,
		commit: func(r *C.prd_rl_reservation) C.prd_status {
			s := C.prd_limiter_commit(l.raw, r)
			runtime.KeepAlive(l)
			return s
		},
		refund: func(r *C.prd_rl_reservation) C.prd_status {
			s := C.prd_limiter_refund(l.raw, r)
			runtime.KeepAlive(l)
			return s
		},
	}, nil
}

// PolicyHeader is the RateLimit-Policy value.
func (l *Limiter) PolicyHeader() string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_limiter_policy_header(l.raw, out, size) })
	runtime.KeepAlive(l)
	return s
}

// RateLimitHeader is the RateLimit value for a decision.
func (l *Limiter) RateLimitHeader(d Decision) string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t {
		return C.prd_limiter_ratelimit_header(l.raw, &d.raw, out, size)
	})
	runtime.KeepAlive(l)
	return s
}

// ProblemJSON is the RFC 9457 body of a denial ("" when allowed).
func (l *Limiter) ProblemJSON(d Decision) string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_limiter_problem_json(l.raw, &d.raw, out, size) })
	runtime.KeepAlive(l)
	return s
}

// Checker is what the middleware needs: a check and its headers
// (*Limiter and *SharedLimiter are Checkers).
type Checker interface {
	Check(cost uint64, keys ...[]byte) (Decision, error)
	PolicyHeader() string
	RateLimitHeader(d Decision) string
	ProblemJSON(d Decision) string
}

// Middleware limits requests: keys returns the request's keys (one per
// rule, e.g. the client address). Every answer carries RateLimit-Policy
// and RateLimit; a denial is 429 with Retry-After and an RFC 9457 body; a
// limiter that fails (a full table, a database down and failing closed)
// is 503 with Retry-After: 1.
func Middleware(c Checker, keys func(*http.Request) [][]byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.Check(1, keys(r)...)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "rate limiter unavailable", http.StatusServiceUnavailable)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Policy", c.PolicyHeader())
		h.Set("RateLimit", c.RateLimitHeader(d))
		if !d.Allowed {
			h.Set("Retry-After", d.RetryAfterHeader())
			h.Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(c.ProblemJSON(d)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddress is a key function for Middleware: the connection's
// remote address without its port (no proxy header is believed).
func ClientAddress(r *http.Request) [][]byte {
	host := r.RemoteAddr
	if i := lastColon(host); i >= 0 {
		host = host[:i]
	}
	return [][]byte{[]byte(host)}
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
		if s[i] == ']' {
			return -1
		}
	}
	return -1
}

// SharedLimiter keeps a limiter's state in PostgreSQL, so every instance
// of a service enforces one limit together. Safe for concurrent use.
type SharedLimiter struct {
	raw     *C.prd_rl_pg
	headers *Limiter // writes the headers (the same rules; values from the decision)
	pool    *Pool
}

// NewSharedLimiter puts the rules' state in pool's database; it fails
// closed (ErrDB) while the database fails unless failOpen.
func NewSharedLimiter(o LimiterOptions, pool *Pool, failOpen bool) (*SharedLimiter, error) {
	cfg, err := newConfig(o)
	if err != nil {
		return nil, err
	}
	defer C.prd_limiter_config_free(cfg)
	headers, err := NewLimiter(LimiterOptions{Rules: o.Rules, MaxKeys: 16})
	if err != nil {
		return nil, err
	}
	var raw *C.prd_rl_pg
	if err := check(C.prd_rl_pg_new(cfg, pool.raw, &raw)); err != nil {
		headers.Close()
		return nil, err
	}
	if failOpen {
		_ = check(C.prd_rl_pg_set_fail_open(raw, 1))
	}
	s := &SharedLimiter{raw: raw, headers: headers, pool: pool}
	runtime.SetFinalizer(s, (*SharedLimiter).Close)
	return s, nil
}

// Check checks cost units against the shared state (one round trip).
func (s *SharedLimiter) Check(cost uint64, keys ...[]byte) (Decision, error) {
	k, err := makeKeys(keys)
	if err != nil {
		return Decision{}, err
	}
	defer k.free()
	d := C.decision_init_rl()
	st := C.prd_rl_pg_check(s.raw, k.arr, k.n, C.uint64_t(cost), &d)
	runtime.KeepAlive(s)
	return decided(st, d)
}

// PolicyHeader is the RateLimit-Policy value.
func (s *SharedLimiter) PolicyHeader() string { return s.headers.PolicyHeader() }

// RateLimitHeader is the RateLimit value for a decision.
func (s *SharedLimiter) RateLimitHeader(d Decision) string { return s.headers.RateLimitHeader(d) }

// ProblemJSON is the RFC 9457 body of a denial.
func (s *SharedLimiter) ProblemJSON(d Decision) string { return s.headers.ProblemJSON(d) }

// Failures is how many checks the failure policy answered.
func (s *SharedLimiter) Failures() uint64 { return uint64(C.prd_rl_pg_failures(s.raw)) }

// Close frees the store (giving back what is left of its leases).
func (s *SharedLimiter) Close() error {
	if s.raw != nil {
		C.prd_rl_pg_free(s.raw)
		s.raw = nil
		s.headers.Close()
	}
	runtime.KeepAlive(s.pool)
	return nil
}
