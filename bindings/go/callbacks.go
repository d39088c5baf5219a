package prodready

// The C side of every callback reaches one of these through user_data,
// which carries a runtime/cgo.Handle (an integer, never a Go pointer).
// None of them lets a panic unwind into C.

/*
#include <stdint.h>
#include <prodready.h>
*/
import "C"

import (
	"runtime/cgo"
	"time"
	"unsafe"
)

//export prdGoLockout
func prdGoLockout(h C.uintptr_t, kind C.int, account unsafe.Pointer, accountLen C.size_t, sourceFp *C.char, forMs C.int64_t) {
	f := cgo.Handle(h).Value().(func(Lockout))
	l := Lockout{
		Kind:              LockoutKind(kind),
		Account:           C.GoBytes(account, C.int(accountLen)),
		SourceFingerprint: goString(sourceFp),
		For:               time.Duration(forMs) * time.Millisecond,
	}
	defer func() { _ = recover() }()
	f(l)
}

//export prdGoSink
func prdGoSink(h C.uintptr_t, line *C.char, n C.size_t) {
	f := cgo.Handle(h).Value().(func(string))
	s := C.GoStringN(line, C.int(n))
	defer func() { _ = recover() }()
	f(s)
}

//export prdGoTx
func prdGoTx(conn *C.prd_pg_conn, h C.uintptr_t) C.int {
	return C.int(cgo.Handle(h).Value().(*txBody).run(conn))
}

//export prdGoRow
func prdGoRow(h C.uintptr_t, row *C.prd_pg_result) C.int {
	return C.int(cgo.Handle(h).Value().(*rowBody).run(row))
}

//export prdGoCopy
func prdGoCopy(h C.uintptr_t, data *C.char, n C.size_t) (st C.int) {
	f := cgo.Handle(h).Value().(func([]byte))
	b := C.GoBytes(unsafe.Pointer(data), C.int(n))
	defer func() {
		if recover() != nil {
			st = C.PRD_EINTERNAL
		}
	}()
	f(b)
	return C.PRD_OK
}

//export prdGoNotify
func prdGoNotify(h C.uintptr_t, channel, payload *C.char, pid C.int) {
	f := cgo.Handle(h).Value().(func(*Notification))
	var n *Notification
	if channel != nil && payload != nil {
		n = &Notification{Channel: C.GoString(channel), Payload: C.GoString(payload), SenderPID: int(pid)}
	}
	defer func() { _ = recover() }()
	f(n)
}
