// Package prodready is libprodready from Go: Argon2id password hashing,
// PASETO v4 tokens and server-side sessions, sliding-window rate limits
// with net/http middleware and a login guard, a PostgreSQL pool with
// deadlines and retried transactions, and JSON logs that redact secrets.
//
// It is cgo over libprodready.so.1, found by pkg-config (an installed
// library, or PKG_CONFIG_PATH=<build>/meson-uninstalled for a build tree;
// binaries built inside the repository also get the repository's build
// tree in their run path). It needs no modules from outside.
//
// Errors are *Error values carrying the library's status:
// errors.Is(err, prodready.ErrMismatch), err.(*Error).ClientError().
// Every handle has Close (a finalizer is only a safety net); every call
// that waits takes a context.Context. There is no error state per OS
// thread: details travel with the error value.
package prodready

/*
#cgo pkg-config: prodready
#cgo LDFLAGS: -Wl,-rpath,${SRCDIR}/../../build/lib
#include <stdlib.h>
#include <string.h>
#include <prodready.h>

*/
import "C"

import (
	"unsafe"
)

// cstr is a C copy of s for a NUL-terminated argument; free it with
// C.free. A NUL inside s is refused (C would cut the text there).
func cstr(s, what string) (*C.char, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, newError(StatusInvalid, what+" contains a NUL byte")
		}
	}
	return C.CString(s), nil
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// bytesArg points C at b for the length of one call (Go memory holding no
// Go pointers may be passed so); nil for an empty slice.
func bytesArg(b []byte) (unsafe.Pointer, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), C.size_t(len(b))
}

// textOut calls an snprintf-style writer twice: for the length, then into
// a buffer of that size.
func textOut(write func(out *C.char, size C.size_t) C.size_t) string {
	need := write(nil, 0)
	buf := make([]byte, int(need)+1)
	got := write((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if got > need {
		got = need
	}
	return string(buf[:got])
}

// bufString is the text a C function wrote into buf, up to its NUL.
func bufString(buf []byte) string {
	for i, b := range buf {
		if b == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}
