package prodready

/*
#include <prodready.h>
*/
import "C"

import (
	"fmt"
)

// Status is a status of the C library (prd_status). The numbers never
// change within SONAME 1.
type Status int

// The statuses. Client statuses are the caller's mistake (HTTP 4xx), the
// others system failures (5xx): see Status.ClientError.
const (
	StatusOK          Status = 0
	StatusInvalid     Status = 1  // EINVAL: invalid input or argument
	StatusMismatch    Status = 2  // EMISMATCH: a password or value does not match
	StatusExpired     Status = 3  // EEXPIRED: a token or session expired
	StatusNotYet      Status = 4  // ENOTYET: a token is not valid yet
	StatusLimited     Status = 5  // ELIMITED: a rate limit was exceeded
	StatusBusy        Status = 6  // EBUSY: busy (the hashing budget), try later
	StatusTimeout     Status = 7  // ETIMEOUT: a deadline passed
	StatusNoMemory    Status = 8  // ENOMEM
	StatusIO          Status = 9  // EIO
	StatusDB          Status = 10 // EDB: a database error
	StatusRetry       Status = 11 // ERETRY: retries exhausted, or a retryable failure
	StatusClosed      Status = 12 // ECLOSED: closed or shutting down
	StatusTooBig      Status = 13 // ETOOBIG: over a configured limit
	StatusNoSpace     Status = 14 // ENOSPACE: an output buffer too small
	StatusBadToken    Status = 15 // EBADTOKEN: a token is invalid
	StatusNotFound    Status = 16 // ENOTFOUND: no such key, session or entry
	StatusPermission  Status = 17 // EPERM: a permission problem
	StatusConflict    Status = 18 // ECONFLICT: a constraint was violated
	StatusUnknown     Status = 19 // EUNKNOWN: outcome unknown (connection lost in COMMIT)
	StatusInternal    Status = 20 // EINTERNAL: an internal error
	StatusUnsupported Status = 21 // EUNSUPPORTED: valid but unsupported
)

// Name is the stable identifier ("EMISMATCH"), for logs and metric labels.
func (s Status) Name() string { return C.GoString(C.prd_status_name(C.prd_status(s))) }

// Phrase is the fixed English phrase of the status.
func (s Status) Phrase() string { return C.GoString(C.prd_status_str(C.prd_status(s))) }

// ClientError reports whether the status is the caller's mistake (4xx).
func (s Status) ClientError() bool { return C.prd_status_is_client_error(C.prd_status(s)) != 0 }

func (s Status) String() string { return s.Name() }

// Error is a failure of the library: its status and, where the library
// gave one, a detail (a token's rejection reason, the server's message)
// and a database error's SQLSTATE. Compare with errors.Is against the
// Err* values, which match by status.
type Error struct {
	Status   Status
	Detail   string
	SQLState string
}

func (e *Error) Error() string {
	msg := e.Status.Phrase()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.SQLState != "" {
		msg += fmt.Sprintf(" (SQLSTATE %s)", e.SQLState)
	}
	return msg
}

// Is matches another *Error of the same status (the Err* sentinels).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Detail == "" || t.Detail == e.Detail)
}

// ClientError reports whether the error is the caller's mistake (4xx).
func (e *Error) ClientError() bool { return e.Status.ClientError() }

// Sentinels for errors.Is: errors.Is(err, prodready.ErrExpired).
var (
	ErrInvalid     = &Error{Status: StatusInvalid}
	ErrMismatch    = &Error{Status: StatusMismatch}
	ErrExpired     = &Error{Status: StatusExpired}
	ErrNotYet      = &Error{Status: StatusNotYet}
	ErrLimited     = &Error{Status: StatusLimited}
	ErrBusy        = &Error{Status: StatusBusy}
	ErrTimeout     = &Error{Status: StatusTimeout}
	ErrNoMemory    = &Error{Status: StatusNoMemory}
	ErrIO          = &Error{Status: StatusIO}
	ErrDB          = &Error{Status: StatusDB}
	ErrRetry       = &Error{Status: StatusRetry}
	ErrClosed      = &Error{Status: StatusClosed}
	ErrTooBig      = &Error{Status: StatusTooBig}
	ErrNoSpace     = &Error{Status: StatusNoSpace}
	ErrBadToken    = &Error{Status: StatusBadToken}
	ErrNotFound    = &Error{Status: StatusNotFound}
	ErrPermission  = &Error{Status: StatusPermission}
	ErrConflict    = &Error{Status: StatusConflict}
	ErrUnknown     = &Error{Status: StatusUnknown}
	ErrInternal    = &Error{Status: StatusInternal}
	ErrUnsupported = &Error{Status: StatusUnsupported}
)

func newError(s Status, detail string) *Error { return &Error{Status: s, Detail: detail} }

// check is nil for PRD_OK, else the status as an *Error.
func check(st C.prd_status) error {
	if st == C.PRD_OK {
		return nil
	}
	return &Error{Status: Status(st)}
}

// checkWhat says what was refused when the library answers EINVAL (its
// EINVAL names nothing; the binding knows the argument).
func checkWhat(st C.prd_status, what string) error {
	if st == C.PRD_OK {
		return nil
	}
	if Status(st) == StatusInvalid {
		return newError(StatusInvalid, what)
	}
	return &Error{Status: Status(st)}
}
