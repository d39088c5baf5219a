package prodready

/*
#include <stdlib.h>
#include <prodready.h>
*/
import "C"

import (
	"context"
	"math"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// PasswordOptions configure a PasswordPolicy; the zero value is the
// OWASP preset (argon2id m=19456 KiB t=2 p=1) with legacy hashes refused.
type PasswordOptions struct {
	Preset      string // "owasp" (default), "rfc9106-low-memory", "moderate", "sensitive"
	T, MKiB, P  uint32 // the cost of new hashes; all zero: the preset's
	AllowLegacy bool   // verify bcrypt, sha512-crypt and yescrypt hashes (to migrate them)
	// Pepper: the current pepper and its id (1-32 of [A-Za-z0-9.-]);
	// RetiredPeppers still verify old hashes (which then need rehash).
	PepperID       string
	Pepper         *Secret
	RetiredPeppers map[string]*Secret
	MaxPasswordLen int           // 0: 4096 bytes
	BudgetKiB      uint64        // memory for concurrent hashes; 0: 2 x CPUs x m
	BudgetWait     time.Duration // how long a call waits for room; 0: 5 s
	// ArenaIdle: how long an idle hash arena (the memory one hash fills,
	// kept for the next) stays mapped; 0: 30 s; negative: none is kept.
	ArenaIdle time.Duration
}

// PasswordBackend names the Argon2 backend computing new hashes in this
// process: "own-avx512", "own-avx2", "own-ssse3", "own-sse2",
// "own-portable", "libsodium" or "libargon2".
func PasswordBackend() string { return C.GoString(C.prd_password_backend()) }

// PasswordPolicy hashes and verifies passwords. Safe for concurrent use.
type PasswordPolicy struct {
	raw      *C.prd_password_policy
	inflight sync.WaitGroup // calls a cancelled context left running
}

// NewPasswordPolicy makes a policy.
func NewPasswordPolicy(o PasswordOptions) (*PasswordPolicy, error) {
	var preset *C.char
	if o.Preset != "" {
		var err error
		if preset, err = cstr(o.Preset, "preset"); err != nil {
			return nil, err
		}
		defer free(preset)
	}
	var raw *C.prd_password_policy
	if err := checkWhat(C.prd_password_policy_new(preset, &raw), "unknown preset '"+o.Preset+"'"); err != nil {
		return nil, err
	}
	p := &PasswordPolicy{raw: raw}
	runtime.SetFinalizer(p, (*PasswordPolicy).Close)
	if err := p.configure(o); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *PasswordPolicy) configure(o PasswordOptions) error {
	if o.T != 0 || o.MKiB != 0 || o.P != 0 {
		t, m, par := o.T, o.MKiB, o.P
		if t == 0 {
			t = 2
		}
		if m == 0 {
			m = 19456
		}
		if par == 0 {
			par = 1
		}
		if err := checkWhat(C.prd_password_policy_set_params(p.raw, C.uint32_t(t), C.uint32_t(m), C.uint32_t(par)),
			"argon2 parameters out of range (t >= 1, 1 <= p, m >= 8*p KiB, within the caps)"); err != nil {
			return err
		}
	}
	if o.AllowLegacy {
		if err := check(C.prd_password_policy_set_allow_legacy(p.raw, 1)); err != nil {
			return err
		}
	}
	if o.MaxPasswordLen != 0 {
		if err := checkWhat(C.prd_password_policy_set_max_password_len(p.raw, C.size_t(o.MaxPasswordLen)), "max password length"); err != nil {
			return err
		}
	}
	if o.BudgetKiB != 0 || o.BudgetWait != 0 {
		wait := o.BudgetWait
		if wait == 0 {
			wait = 5 * time.Second
		}
		budget := o.BudgetKiB
		if budget == 0 {
			budget = uint64(2*runtime.NumCPU()) * 19456
		}
		if err := checkWhat(C.prd_password_policy_set_budget(p.raw, C.uint64_t(budget), C.uint32_t(wait.Milliseconds())), "budget"); err != nil {
			return err
		}
	}
	if o.ArenaIdle != 0 {
		ms := o.ArenaIdle.Milliseconds()
		switch {
		case o.ArenaIdle < 0:
			ms = 0 // none kept
		case ms == 0:
			ms = 1 // under a millisecond still keeps one briefly
		case ms > math.MaxUint32:
			ms = math.MaxUint32
		}
		if err := checkWhat(C.prd_password_policy_set_arena_idle(p.raw, C.uint32_t(ms)), "arena idle time"); err != nil {
			return err
		}
	}
	add := func(id string, s *Secret, current bool) error {
		c, err := cstr(id, "pepper id")
		if err != nil {
			return err
		}
		defer free(c)
		var st C.prd_status
		if current {
			st = C.prd_password_policy_set_pepper(p.raw, c, s.raw)
		} else {
			st = C.prd_password_policy_add_retired_pepper(p.raw, c, s.raw)
		}
		runtime.KeepAlive(s)
		return checkWhat(st, "pepper: an id of 1-32 [A-Za-z0-9.-] not already present, 16-64 bytes")
	}
	if o.Pepper != nil {
		if err := add(o.PepperID, o.Pepper, true); err != nil {
			return err
		}
	}
	for id, s := range o.RetiredPeppers {
		if err := add(id, s, false); err != nil {
			return err
		}
	}
	return nil
}

// Close frees the policy, after any call a cancelled context left
// running has finished.
func (p *PasswordPolicy) Close() error {
	p.inflight.Wait()
	if p.raw != nil {
		C.prd_password_policy_free(p.raw)
		p.raw = nil
	}
	return nil
}

// outcome is what a call run off the caller's goroutine returned.
type outcome[T any] struct {
	v   T
	err error
}

// blocking runs f (a C call that waits for CPU and the memory budget) on
// its own goroutine and returns its result, or ctx's error as soon as ctx
// ends; an abandoned call finishes on its own (Close waits for it) and its
// result is dropped. The result travels by channel only, so an abandoned
// call shares nothing with the caller.
func blocking[T any](p *PasswordPolicy, ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if ctx.Done() == nil {
		return f()
	}
	done := make(chan outcome[T], 1)
	p.inflight.Add(1)
	go func() {
		defer p.inflight.Done()
		v, err := f()
		done <- outcome[T]{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Hash hashes a password into a PHC string (about 20-45 ms at the
// default cost). ctx ending returns its error at once.
func (p *PasswordPolicy) Hash(ctx context.Context, password []byte) (string, error) {
	return blocking(p, ctx, func() (string, error) {
		buf := make([]byte, C.PRD_PASSWORD_HASH_SIZE)
		pw, n := bytesArg(password)
		st := C.prd_password_hash(p.raw, (*C.char)(pw), n, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		runtime.KeepAlive(p)
		if err := check(st); err != nil {
			return "", err
		}
		return bufString(buf), nil
	})
}

// Verify checks a password against a stored hash in constant time: nil
// on a match, ErrMismatch for a wrong password, and other errors for a
// hash that is malformed (ErrInvalid), over the caps (ErrTooBig), of an
// unknown pepper (ErrNotFound) or refused (ErrUnsupported).
func (p *PasswordPolicy) Verify(ctx context.Context, stored string, password []byte) error {
	s, err := cstr(stored, "stored hash")
	if err != nil {
		return err
	}
	_, err = blocking(p, ctx, func() (struct{}, error) {
		defer free(s)
		pw, n := bytesArg(password)
		st := C.prd_password_verify(p.raw, (*C.char)(pw), n, s)
		runtime.KeepAlive(p)
		return struct{}{}, check(st)
	})
	return err
}

// VerifyDummy spends what Verify would for an unknown account, then
// returns ErrMismatch, so timing tells no account apart.
func (p *PasswordPolicy) VerifyDummy(ctx context.Context, password []byte) error {
	_, err := blocking(p, ctx, func() (struct{}, error) {
		pw, n := bytesArg(password)
		st := C.prd_password_verify_dummy(p.raw, (*C.char)(pw), n)
		runtime.KeepAlive(p)
		return struct{}{}, check(st)
	})
	return err
}

// RehashReason says why a stored hash should be replaced ("" when not).
type RehashReason string

// NeedsRehash answers whether a stored hash should be replaced under the
// policy and why ("weaker params", "other params", "other algorithm",
// "other pepper", "legacy format"); "" when it is current.
func (p *PasswordPolicy) NeedsRehash(stored string) (RehashReason, error) {
	s, err := cstr(stored, "stored hash")
	if err != nil {
		return "", err
	}
	defer free(s)
	var r C.prd_rehash_reason
	st := C.prd_password_needs_rehash(p.raw, s, &r)
	runtime.KeepAlive(p)
	if err := check(st); err != nil {
		return "", err
	}
	if r == C.PRD_REHASH_NONE {
		return "", nil
	}
	return RehashReason(C.GoString(C.prd_rehash_reason_str(r))), nil
}

// VerifyAndUpgrade verifies and, when the stored hash is outdated, hashes
// the password again in the same call: the replacement ("" when current).
func (p *PasswordPolicy) VerifyAndUpgrade(ctx context.Context, stored string, password []byte) (string, error) {
	s, err := cstr(stored, "stored hash")
	if err != nil {
		return "", err
	}
	return blocking(p, ctx, func() (string, error) {
		defer free(s)
		buf := make([]byte, C.PRD_PASSWORD_HASH_SIZE)
		pw, n := bytesArg(password)
		var upgraded C.int
		st := C.prd_password_verify_and_upgrade(p.raw, (*C.char)(pw), n, s, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &upgraded)
		runtime.KeepAlive(p)
		if err := check(st); err != nil || upgraded == 0 {
			return "", err
		}
		return bufString(buf), nil
	})
}

// PasswordStat names a counter of Stat.
type PasswordStat int

const (
	StatInFlight    PasswordStat = C.PRD_PASSWORD_STAT_IN_FLIGHT     // hashes running now
	StatInFlightKiB PasswordStat = C.PRD_PASSWORD_STAT_IN_FLIGHT_KIB // their memory
	StatPeakKiB     PasswordStat = C.PRD_PASSWORD_STAT_PEAK_KIB      // the most in flight at once
	StatWaiting     PasswordStat = C.PRD_PASSWORD_STAT_WAITING       // calls waiting for budget
	StatBusy        PasswordStat = C.PRD_PASSWORD_STAT_BUSY          // calls that gave up with ErrBusy
	StatCompleted   PasswordStat = C.PRD_PASSWORD_STAT_COMPLETED     // hashes computed
	StatArenaKiB    PasswordStat = C.PRD_PASSWORD_STAT_ARENA_KIB     // memory kept in arenas for reuse
)

// Stat is a counter's current value, for metrics.
func (p *PasswordPolicy) Stat(s PasswordStat) uint64 {
	v := uint64(C.prd_password_stat_get(p.raw, C.prd_password_stat(s)))
	runtime.KeepAlive(p)
	return v
}

// RetryAfter is, after ErrBusy, how long until room is likely.
func (p *PasswordPolicy) RetryAfter() time.Duration {
	d := time.Duration(C.prd_password_retry_after_ms(p.raw)) * time.Millisecond
	runtime.KeepAlive(p)
	return d
}
