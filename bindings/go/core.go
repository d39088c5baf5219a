package prodready

/*
#include <stdlib.h>
#include <prodready.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// RequiredVersion is the C API this package was written for: the loaded
// library must have this major version and at least this minor.
var RequiredVersion = [2]int{1, 0}

// Init initialises the library (every call also does on first use) and
// checks that the loaded library is one this package can drive.
func Init() error {
	if err := check(C.prd_init()); err != nil {
		return err
	}
	major, minor, _ := VersionNumber()
	if major != RequiredVersion[0] || minor < RequiredVersion[1] {
		return newError(StatusUnsupported, fmt.Sprintf("libprodready %d.%d loaded; this package needs %d.x with x >= %d",
			major, minor, RequiredVersion[0], RequiredVersion[1]))
	}
	return nil
}

// Version is the loaded library's "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.prd_version()) }

// VersionNumber is the loaded library's version.
func VersionNumber() (major, minor, patch int) {
	n := int(C.prd_version_number())
	return n / 10000, n / 100 % 100, n % 100
}

// Encoding says how a secret's text is decoded.
type Encoding int

const (
	Raw       Encoding = C.PRD_SECRET_RAW       // the bytes as they are
	Hex       Encoding = C.PRD_SECRET_HEX       // hexadecimal
	Base64URL Encoding = C.PRD_SECRET_BASE64URL // unpadded base64url
)

// Secret is key material (a pepper, a fingerprint key) in the C library's
// guarded memory, wiped on Close. It has no String method: %v prints only
// its length.
type Secret struct {
	mu  sync.Mutex
	raw *C.prd_secret
}

func newSecret(st C.prd_status, raw *C.prd_secret) (*Secret, error) {
	if err := check(st); err != nil {
		return nil, err
	}
	s := &Secret{raw: raw}
	runtime.SetFinalizer(s, (*Secret).Close)
	return s, nil
}

// SecretFromBytes copies b (1 to 4096 bytes) into a new secret.
func SecretFromBytes(b []byte) (*Secret, error) {
	p, n := bytesArg(b)
	var raw *C.prd_secret
	return newSecret(C.prd_secret_from_bytes(p, n, &raw), raw)
}

// SecretFromEnv reads and decodes an environment variable.
func SecretFromEnv(name string, enc Encoding) (*Secret, error) {
	c, err := cstr(name, "variable name")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var raw *C.prd_secret
	return newSecret(C.prd_secret_from_env(c, C.prd_secret_encoding(enc), &raw), raw)
}

// SecretFromFile reads and decodes a file that gives group and others no
// access (ErrPermission otherwise).
func SecretFromFile(path string, enc Encoding) (*Secret, error) {
	c, err := cstr(path, "path")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var raw *C.prd_secret
	return newSecret(C.prd_secret_from_file(c, C.prd_secret_encoding(enc), &raw), raw)
}

// RandomSecret is n random bytes.
func RandomSecret(n int) (*Secret, error) {
	var raw *C.prd_secret
	return newSecret(C.prd_secret_random(C.size_t(n), &raw), raw)
}

// Len is how many bytes it holds.
func (s *Secret) Len() int { return int(C.prd_secret_len(s.raw)) }

// Equal compares two secrets in constant time for a given length.
func (s *Secret) Equal(o *Secret) bool { return C.prd_secret_equal(s.raw, o.raw) == 1 }

// Format prints the length only, whatever the verb.
func (s *Secret) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "Secret(%d bytes)", s.Len()) }

// Close wipes and frees it. Safe to call more than once.
func (s *Secret) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raw != nil {
		C.prd_secret_free(s.raw)
		s.raw = nil
	}
	return nil
}

// Clock is a manual clock (wall and monotonic nanoseconds) for tests:
// it moves only when told. APIs that take a *Clock take nil for the
// system clock. Objects that use a clock keep it alive.
type Clock struct {
	raw *C.prd_clock
}

// NewManualClock is a manual clock at these times.
func NewManualClock(wallNs, monoNs int64) (*Clock, error) {
	var raw *C.prd_clock
	if err := check(C.prd_clock_manual_new(C.int64_t(wallNs), C.int64_t(monoNs), &raw)); err != nil {
		return nil, err
	}
	c := &Clock{raw: raw}
	runtime.SetFinalizer(c, func(c *Clock) { C.prd_clock_free(c.raw) })
	return c, nil
}

// Advance moves both times forward; a negative d moves the wall clock only.
func (c *Clock) Advance(d time.Duration) error {
	err := check(C.prd_clock_manual_advance(c.raw, C.int64_t(d.Nanoseconds())))
	runtime.KeepAlive(c)
	return err
}

// SetWall sets the wall time (Unix nanoseconds).
func (c *Clock) SetWall(unixNs int64) error {
	err := check(C.prd_clock_manual_set_wall(c.raw, C.int64_t(unixNs)))
	runtime.KeepAlive(c)
	return err
}

// WallNs is the wall time; MonoNs the monotonic time.
func (c *Clock) WallNs() int64 {
	n := int64(C.prd_clock_wall_ns(c.ptr()))
	runtime.KeepAlive(c)
	return n
}

// MonoNs is the monotonic time in nanoseconds.
func (c *Clock) MonoNs() int64 {
	n := int64(C.prd_clock_mono_ns(c.ptr()))
	runtime.KeepAlive(c)
	return n
}

func (c *Clock) ptr() *C.prd_clock {
	if c == nil {
		return nil
	}
	return c.raw
}

// ParseRFC3339 reads a strict RFC 3339 time into Unix nanoseconds.
func ParseRFC3339(s string) (int64, error) {
	var ns C.int64_t
	p, n := strArg(s)
	if err := check(C.prd_rfc3339_parse((*C.char)(p), n, &ns)); err != nil {
		return 0, err
	}
	return int64(ns), nil
}

func strArg(s string) (unsafe.Pointer, C.size_t) { return bytesArg([]byte(s)) }
