package prodready

/*
#include <stdlib.h>
#include <prodready.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// prometheus runs one of the library's *_prometheus functions with prefix;
// the library writes nothing for a prefix that is not a metric name prefix.
func prometheus(prefix string, write func(p *C.char, out *C.char, size C.size_t) C.size_t) (string, error) {
	c := C.CString(prefix)
	defer C.free(unsafe.Pointer(c))
	text := textOut(func(out *C.char, size C.size_t) C.size_t { return write(c, out, size) })
	if text == "" {
		return "", newError(StatusInvalid, "not a metric name prefix: letters, digits, '_' and ':'")
	}
	return text, nil
}

// Prometheus is the policy's counters in the Prometheus text format.
func (p *PasswordPolicy) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(p)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_password_policy_prometheus(p.raw, c, out, n)
	})
}

// Prometheus is each rule's keys, capacity and refused keys.
func (l *Limiter) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(l)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_limiter_prometheus(l.raw, c, out, n)
	})
}

// Prometheus is the store's local answers and failures.
func (s *SharedLimiter) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(s)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_rl_pg_prometheus(s.raw, c, out, n)
	})
}

// Prometheus is the guard's lockouts, attempts and failures.
func (g *LoginGuard) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(g)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_login_guard_prometheus(g.raw, c, out, n)
	})
}

// Prometheus is the logger's lines by level, drops, write errors and
// redactions by rule.
func (l *Logger) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(l)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_logger_prometheus(l.raw, c, out, n)
	})
}

// Prometheus is the list's entries and stale refusals.
func (l *Revocations) Prometheus(prefix string) (string, error) {
	defer runtime.KeepAlive(l)
	return prometheus(prefix, func(c, out *C.char, n C.size_t) C.size_t {
		return C.prd_token_revocations_prometheus(l.raw, c, out, n)
	})
}
