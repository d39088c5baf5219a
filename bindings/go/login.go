package prodready

/*
#include <stdlib.h>
#include <stdint.h>
#include <prodready.h>
#include "trampolines.h"
static prd_rl_decision decision_init_login(void) { prd_rl_decision d = PRD_RL_DECISION_INIT; return d; }
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// LockoutKind is which limit a lockout is.
type LockoutKind int

const (
	LockoutSource  LockoutKind = C.PRD_LOGIN_LOCKOUT_SOURCE  // the source made too many attempts
	LockoutAccount LockoutKind = C.PRD_LOGIN_LOCKOUT_ACCOUNT // the account had too many failures
	LockoutBackoff LockoutKind = C.PRD_LOGIN_LOCKOUT_BACKOFF // the (account, source) pair backs off
)

// Lockout is a lockout as the guard reports it: the source as a
// fingerprint (16 hex digits), never the address.
type Lockout struct {
	Kind              LockoutKind
	Account           []byte
	SourceFingerprint string
	For               time.Duration
}

// LoginOptions configure a LoginGuard; zero values are the defaults (100
// attempts per source per hour, 10 failures per account per 15 minutes,
// backoff after 3 failures from 1 s doubling to 15 minutes).
type LoginOptions struct {
	MaxKeys                 int // per table; 0: 100000
	SourceAttempts          uint64
	SourceWindow            time.Duration
	AccountFailures         uint64
	AccountWindow           time.Duration
	FreeFailures            uint32
	BackoffBase, BackoffCap time.Duration
	Clock                   *Clock
	OnLockout               func(Lockout) // on the thread whose attempt caused it; must not use the guard
	Logger                  *Logger       // lockouts as warn lines too
	Pool                    *Pool         // state in PostgreSQL: the limits hold across instances
}

// LoginGuard protects logins; safe for concurrent use.
type LoginGuard struct {
	raw    *C.prd_login_guard
	o      LoginOptions
	handle cgo.Handle
}

// NewLoginGuard makes a guard.
func NewLoginGuard(o LoginOptions) (*LoginGuard, error) {
	keys := o.MaxKeys
	if keys == 0 {
		keys = 100000
	}
	var raw *C.prd_login_guard
	if err := checkWhat(C.prd_login_guard_new(C.size_t(keys), &raw), "max keys: 16..2^24"); err != nil {
		return nil, err
	}
	g := &LoginGuard{raw: raw, o: o}
	runtime.SetFinalizer(g, (*LoginGuard).Close)
	if err := g.configure(); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *LoginGuard) configure() error {
	o := g.o
	if o.SourceAttempts != 0 || o.SourceWindow != 0 || o.AccountFailures != 0 || o.AccountWindow != 0 {
		sa, sw, af, aw := o.SourceAttempts, o.SourceWindow, o.AccountFailures, o.AccountWindow
		if sa == 0 {
			sa = 100
		}
		if sw == 0 {
			sw = time.Hour
		}
		if af == 0 {
			af = 10
		}
		if aw == 0 {
			aw = 15 * time.Minute
		}
		if err := checkWhat(C.prd_login_guard_set_limits(g.raw, C.uint64_t(sa), C.int64_t(sw.Milliseconds()), C.uint64_t(af), C.int64_t(aw.Milliseconds())), "login limits out of range"); err != nil {
			return err
		}
	}
	if o.FreeFailures != 0 || o.BackoffBase != 0 || o.BackoffCap != 0 {
		ff, base, cp := o.FreeFailures, o.BackoffBase, o.BackoffCap
		if ff == 0 {
			ff = 3
		}
		if base == 0 {
			base = time.Second
		}
		if cp == 0 {
			cp = 15 * time.Minute
		}
		if err := checkWhat(C.prd_login_guard_set_backoff(g.raw, C.uint32_t(ff), C.int64_t(base.Milliseconds()), C.int64_t(cp.Milliseconds())), "backoff out of range"); err != nil {
			return err
		}
	}
	if o.Clock != nil {
		if err := check(C.prd_login_guard_set_clock(g.raw, o.Clock.raw)); err != nil {
			return err
		}
	}
	if o.OnLockout != nil {
		g.handle = cgo.NewHandle(o.OnLockout)
		if err := check(C.go_set_lockout(g.raw, C.uintptr_t(g.handle))); err != nil {
			return err
		}
	}
	if o.Logger != nil {
		if err := check(C.prd_login_guard_set_logger(g.raw, o.Logger.raw)); err != nil {
			return err
		}
	}
	if o.Pool != nil {
		if err := check(C.prd_login_guard_set_pg(g.raw, o.Pool.raw)); err != nil {
			return err
		}
	}
	return nil
}

// Close frees the guard.
func (g *LoginGuard) Close() error {
	if g.raw != nil {
		C.prd_login_guard_free(g.raw)
		g.raw = nil
		if g.handle != 0 {
			g.handle.Delete()
		}
	}
	runtime.KeepAlive(g.o.Clock)
	runtime.KeepAlive(g.o.Logger)
	runtime.KeepAlive(g.o.Pool)
	return nil
}

// Attempt is an allowed attempt between the check and its outcome:
// settle it once with Success, Failure or Abandon.
type Attempt struct {
	g        *LoginGuard
	att      *C.prd_login_attempt
	Decision Decision
}

// Check asks whether source may try account now. Allowed: verify the
// password, then settle the returned Attempt (counted as a failure
// until Success says otherwise). Denied: attempt is nil and the decision
// says which rule (0 source, 1 account, 2 backoff) and the wait.
func (g *LoginGuard) Check(account, source []byte) (*Attempt, Decision, error) {
	ap, an := bytesArg(account)
	sp, sn := bytesArg(source)
	att := (*C.prd_login_attempt)(C.calloc(1, C.size_t(unsafe.Sizeof(C.prd_login_attempt{}))))
	d := C.decision_init_login()
	st := C.prd_login_guard_check(g.raw, ap, an, sp, sn, att, &d)
	runtime.KeepAlive(g)
	dec, err := decided(st, d)
	if err != nil || !dec.Allowed {
		C.free(unsafe.Pointer(att))
		return nil, dec, err
	}
	a := &Attempt{g: g, att: att, Decision: dec}
	// Forgotten, it counts as a failure (the safe side), like Failure.
	runtime.SetFinalizer(a, func(a *Attempt) { _ = a.Failure() })
	return a, dec, nil
}

func (a *Attempt) settle(f func(*C.prd_login_guard, *C.prd_login_attempt) C.prd_status) error {
	if a.att == nil {
		return newError(StatusInvalid, "attempt already settled")
	}
	st := f(a.g.raw, a.att)
	runtime.KeepAlive(a.g)
	C.free(unsafe.Pointer(a.att))
	a.att = nil
	runtime.SetFinalizer(a, nil)
	return check(st)
}

// Success: the password was right. The failure is refunded, the backoff
// ends and the source becomes familiar to the account for 30 days.
func (a *Attempt) Success() error {
	return a.settle(func(g *C.prd_login_guard, t *C.prd_login_attempt) C.prd_status {
		return C.prd_login_guard_success(g, t)
	})
}

// Failure: the password was wrong; the counts stay.
func (a *Attempt) Failure() error {
	return a.settle(func(g *C.prd_login_guard, t *C.prd_login_attempt) C.prd_status {
		return C.prd_login_guard_failure(g, t)
	})
}

// Abandon: the attempt could not be judged (the password store or the
// hashing budget failed); the failure is refunded.
func (a *Attempt) Abandon() error {
	return a.settle(func(g *C.prd_login_guard, t *C.prd_login_attempt) C.prd_status {
		return C.prd_login_guard_abandon(g, t)
	})
}

// Unlock lifts an account's lockout (after a reset or a second factor).
func (g *LoginGuard) Unlock(account []byte) error {
	ap, an := bytesArg(account)
	st := C.prd_login_guard_unlock(g.raw, ap, an)
	runtime.KeepAlive(g)
	return check(st)
}

// PolicyHeader is the RateLimit-Policy value of the guard's rules.
func (g *LoginGuard) PolicyHeader() string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_login_guard_policy_header(g.raw, out, size) })
	runtime.KeepAlive(g)
	return s
}

// RateLimitHeader is the RateLimit value of a guard's decision.
func (g *LoginGuard) RateLimitHeader(d Decision) string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t {
		return C.prd_login_guard_ratelimit_header(g.raw, &d.raw, out, size)
	})
	runtime.KeepAlive(g)
	return s
}
