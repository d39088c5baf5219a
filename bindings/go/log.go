package prodready

/*
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <prodready.h>
#include "trampolines.h"
static void set_field(prd_log_field *f, const char *key, int type, size_t len, const char *s, int64_t i, uint64_t u, double d) {
    f->key = key; f->type = (prd_log_field_type)type; f->len = len;
    switch (type) {
    case PRD_LF_INT: f->v.i = i; break;
    case PRD_LF_UINT: f->v.u = u; break;
    case PRD_LF_DOUBLE: f->v.d = d; break;
    case PRD_LF_BOOL: f->v.b = (int)i; break;
    case PRD_LF_STATUS: f->v.st = (prd_status)i; break;
    case PRD_LF_NULL: f->v.i = 0; break;
    default: f->v.s = s;
    }
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Level is a line's level.
type Level int

const (
	LevelDebug Level = C.PRD_LOG_DEBUG
	LevelInfo  Level = C.PRD_LOG_INFO
	LevelWarn  Level = C.PRD_LOG_WARN
	LevelError Level = C.PRD_LOG_ERROR
	LevelFatal Level = C.PRD_LOG_FATAL
	LevelOff   Level = C.PRD_LOG_OFF
)

// Field is one structured field of a line; make them with String, Int,
// Uint, Float, Bool, Null, JSON, Secret, Err.
type Field struct {
	key  string
	kind C.int
	s    string
	i    int64
	u    uint64
	f    float64
}

// String is a string field (redacted by shape like every string).
func String(key, v string) Field { return Field{key: key, kind: C.PRD_LF_STRING, s: v} }

// Int is an integer field.
func Int(key string, v int64) Field { return Field{key: key, kind: C.PRD_LF_INT, i: v} }

// Uint is an unsigned field.
func Uint(key string, v uint64) Field { return Field{key: key, kind: C.PRD_LF_UINT, u: v} }

// Float is a float field (NaN and infinities are written as strings).
func Float(key string, v float64) Field { return Field{key: key, kind: C.PRD_LF_DOUBLE, f: v} }

// Bool is a boolean field.
func Bool(key string, v bool) Field {
	f := Field{key: key, kind: C.PRD_LF_BOOL}
	if v {
		f.i = 1
	}
	return f
}

// Null is a JSON null.
func Null(key string) Field { return Field{key: key, kind: C.PRD_LF_NULL} }

// JSON is any JSON value given as text, written as that value (redacted inside).
func JSON(key, text string) Field { return Field{key: key, kind: C.PRD_LF_JSON_TEXT, s: text} }

// SecretField is always written as "[REDACTED]", whatever the rules.
func SecretField(key, v string) Field { return Field{key: key, kind: C.PRD_LF_SECRET, s: v} }

// Err is an error field: a library *Error as its status object, any other
// error as its text.
func Err(key string, err error) Field {
	if e, ok := err.(*Error); ok {
		return Field{key: key, kind: C.PRD_LF_STATUS, i: int64(e.Status)}
	}
	if err == nil {
		return Null(key)
	}
	return String(key, err.Error())
}

// cFields lays fields out in one block of C memory (the array holds
// pointers, so it cannot be Go memory): the array, then each key with its
// NUL and each string value.
func cFields(fields []Field) (*C.prd_log_field, C.size_t, unsafe.Pointer) {
	if len(fields) == 0 {
		return nil, 0, nil
	}
	size := uintptr(len(fields)) * unsafe.Sizeof(C.prd_log_field{})
	for _, f := range fields {
		size += uintptr(len(f.key)+1) + uintptr(len(f.s))
	}
	block := C.malloc(C.size_t(size))
	arr := (*C.prd_log_field)(block)
	text := unsafe.Add(block, uintptr(len(fields))*unsafe.Sizeof(C.prd_log_field{}))
	put := func(s string, nul bool) *C.char {
		p := (*C.char)(text)
		if len(s) > 0 {
			C.memcpy(text, unsafe.Pointer(&[]byte(s)[0]), C.size_t(len(s)))
		}
		text = unsafe.Add(text, len(s))
		if nul {
			*(*byte)(text) = 0
			text = unsafe.Add(text, 1)
		}
		return p
	}
	for i, f := range fields {
		key := put(f.key, true)
		sv := put(f.s, false)
		elem := (*C.prd_log_field)(unsafe.Add(block, uintptr(i)*unsafe.Sizeof(C.prd_log_field{})))
		C.set_field(elem, key, f.kind, C.size_t(len(f.s)), sv, C.int64_t(f.i), C.uint64_t(f.u), C.double(f.f))
	}
	return arr, C.size_t(len(fields)), block
}

// sinks are the Go callbacks the C sinks call, shared by a logger and its
// children; their handles go when the last of them closes.
type sinks struct {
	mu      sync.Mutex
	users   int
	handles []cgo.Handle
	keep    []interface{} // clocks and keys the C side points at
}

func (s *sinks) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.users == 0 {
		for _, h := range s.handles {
			h.Delete()
		}
		s.handles = nil
		s.keep = nil
	}
}

// LoggerOptions configure a Logger; the zero value writes JSON lines to
// stderr at level info with the default redaction.
type LoggerOptions struct {
	Level      Level  // 0 is debug: set LevelInfo or use the default by leaving UseLevel false
	UseLevel   bool   // take Level (otherwise info)
	FD         int    // replace stderr by this file descriptor (0: keep stderr; not closed)
	File       string // replace the sinks by this file (O_APPEND, 0640)
	Func       func(line string)
	RedactKeys []string          // extra keys (any depth) or dotted paths to redact
	AllowKeys  []string          // allowlist mode: only these (and the standard names) in clear
	Patterns   map[string]string // name -> value pattern (docs/log.md's language)
	Profile    int               // 0 default, 1 ECS, 2 OpenTelemetry
	Async      int               // queue this many lines for a writer thread (0: synchronous)
	Clock      *Clock
}

// Logger writes structured JSON lines that never leak a secret. Safe for
// concurrent use once made.
type Logger struct {
	raw   *C.prd_logger
	sinks *sinks
}

// NewLogger makes a logger.
func NewLogger(o LoggerOptions) (*Logger, error) {
	var raw *C.prd_logger
	if err := check(C.prd_logger_new(&raw)); err != nil {
		return nil, err
	}
	l := &Logger{raw: raw, sinks: &sinks{users: 1}}
	runtime.SetFinalizer(l, (*Logger).Close)
	if err := l.configure(o); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Logger) configure(o LoggerOptions) error {
	if o.UseLevel {
		if err := check(C.prd_logger_set_level(l.raw, C.prd_log_level(o.Level))); err != nil {
			return err
		}
	}
	if o.FD != 0 {
		if err := check(C.prd_logger_set_fd(l.raw, C.int(o.FD))); err != nil {
			return err
		}
	}
	if o.File != "" {
		c, err := cstr(o.File, "path")
		if err != nil {
			return err
		}
		st := C.prd_logger_set_file(l.raw, c)
		free(c)
		if err := check(st); err != nil {
			return err
		}
	}
	if o.Func != nil {
		h := cgo.NewHandle(o.Func)
		l.sinks.handles = append(l.sinks.handles, h)
		if err := check(C.go_add_callback(l.raw, C.uintptr_t(h), C.PRD_LOG_DEBUG, 1)); err != nil {
			return err
		}
	}
	each := func(list []string, f func(*C.char) C.prd_status) error {
		for _, k := range list {
			c, err := cstr(k, "key")
			if err != nil {
				return err
			}
			st := f(c)
			free(c)
			if err := checkWhat(st, "key or path '"+k+"'"); err != nil {
				return err
			}
		}
		return nil
	}
	if err := each(o.RedactKeys, func(c *C.char) C.prd_status { return C.prd_logger_redact_key(l.raw, c) }); err != nil {
		return err
	}
	if err := each(o.AllowKeys, func(c *C.char) C.prd_status { return C.prd_logger_allow_key(l.raw, c) }); err != nil {
		return err
	}
	for name, pat := range o.Patterns {
		n, err := cstr(name, "pattern name")
		if err != nil {
			return err
		}
		p, err := cstr(pat, "pattern")
		if err != nil {
			free(n)
			return err
		}
		st := C.prd_logger_redact_pattern(l.raw, n, p)
		free(n)
		free(p)
		if err := checkWhat(st, "pattern '"+name+"'"); err != nil {
			return err
		}
	}
	if o.Profile != 0 {
		if err := check(C.prd_logger_set_profile(l.raw, C.prd_log_profile(o.Profile))); err != nil {
			return err
		}
	}
	if o.Clock != nil {
		l.sinks.keep = append(l.sinks.keep, o.Clock)
		if err := check(C.prd_logger_set_clock(l.raw, o.Clock.raw)); err != nil {
			return err
		}
	}
	if o.Async != 0 {
		if err := check(C.prd_logger_set_async(l.raw, C.size_t(o.Async), 0)); err != nil {
			return err
		}
	}
	return nil
}

// SetLevel moves the threshold; safe at any time.
func (l *Logger) SetLevel(level Level) error {
	err := check(C.prd_logger_set_level(l.raw, C.prd_log_level(level)))
	runtime.KeepAlive(l)
	return err
}

// Enabled reports whether a line at level would be written.
func (l *Logger) Enabled(level Level) bool {
	ok := C.prd_logger_enabled(l.raw, C.prd_log_level(level)) != 0
	runtime.KeepAlive(l)
	return ok
}

// Log writes one line. It never fails: errors are counted by the library.
func (l *Logger) Log(level Level, msg string, fields ...Field) {
	if !l.Enabled(level) {
		return
	}
	m := C.CString(msg)
	arr, n, block := cFields(fields)
	C.prd_log(l.raw, C.prd_log_level(level), m, arr, n)
	runtime.KeepAlive(l)
	C.free(unsafe.Pointer(m))
	C.free(block)
}

// Debug writes a debug line.
func (l *Logger) Debug(msg string, fields ...Field) { l.Log(LevelDebug, msg, fields...) }

// Info writes an info line.
func (l *Logger) Info(msg string, fields ...Field) { l.Log(LevelInfo, msg, fields...) }

// Warn writes a warn line.
func (l *Logger) Warn(msg string, fields ...Field) { l.Log(LevelWarn, msg, fields...) }

// Error writes an error line.
func (l *Logger) Error(msg string, fields ...Field) { l.Log(LevelError, msg, fields...) }

func (l *Logger) child(st C.prd_status, raw *C.prd_logger) (*Logger, error) {
	runtime.KeepAlive(l)
	if err := check(st); err != nil {
		return nil, err
	}
	l.sinks.mu.Lock()
	l.sinks.users++
	l.sinks.mu.Unlock()
	c := &Logger{raw: raw, sinks: l.sinks}
	runtime.SetFinalizer(c, (*Logger).Close)
	return c, nil
}

// With is a child logger whose lines carry these fields (encoded and
// redacted once); it shares this logger's sinks. Close it too.
func (l *Logger) With(fields ...Field) (*Logger, error) {
	arr, n, block := cFields(fields)
	defer C.free(block)
	var raw *C.prd_logger
	return l.child(C.prd_log_with(l.raw, arr, n, &raw), raw)
}

// WithTraceparent is a child carrying a W3C traceparent's ids.
func (l *Logger) WithTraceparent(traceparent string) (*Logger, error) {
	p, n := strArg(traceparent)
	var raw *C.prd_logger
	return l.child(C.prd_log_with_traceparent(l.raw, (*C.char)(p), n, &raw), raw)
}

// Scrub redacts one existing log line by this logger's rules; JSON stays
// valid JSON.
func (l *Logger) Scrub(line string) (string, error) {
	p, n := strArg(line)
	var out *C.char
	var olen C.size_t
	st := C.prd_log_scrub_line(l.raw, (*C.char)(p), n, &out, &olen)
	runtime.KeepAlive(l)
	if err := check(st); err != nil {
		return "", err
	}
	s := C.GoStringN(out, C.int(olen))
	C.prd_free(unsafe.Pointer(out))
	return s, nil
}

// LogCounter names a counter of Count.
type LogCounter int

const (
	CountDebug       LogCounter = C.PRD_LOG_COUNT_DEBUG
	CountInfo        LogCounter = C.PRD_LOG_COUNT_INFO
	CountWarn        LogCounter = C.PRD_LOG_COUNT_WARN
	CountError       LogCounter = C.PRD_LOG_COUNT_ERROR
	CountFatal       LogCounter = C.PRD_LOG_COUNT_FATAL
	CountDropped     LogCounter = C.PRD_LOG_COUNT_DROPPED
	CountSampledOut  LogCounter = C.PRD_LOG_COUNT_SAMPLED_OUT
	CountWriteErrors LogCounter = C.PRD_LOG_COUNT_WRITE_ERRORS
)

// Count is a counter's value.
func (l *Logger) Count(c LogCounter) uint64 {
	n := uint64(C.prd_logger_count(l.raw, C.prd_log_counter(c)))
	runtime.KeepAlive(l)
	return n
}

// Close frees this logger (a child only itself; the sinks close with the
// last logger sharing them).
func (l *Logger) Close() error {
	if l.raw != nil {
		C.prd_logger_free(l.raw)
		l.raw = nil
		l.sinks.release()
	}
	return nil
}
