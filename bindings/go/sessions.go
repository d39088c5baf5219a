package prodready

/*
#include <stdlib.h>
#include <prodready.h>
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// TokenStore is where session, single-use and refresh records live: in
// memory, or in PostgreSQL (shared by every instance). Safe for
// concurrent use; it keeps its pool alive.
type TokenStore struct {
	raw  *C.prd_token_store
	pool *Pool
}

// NewMemoryTokenStore holds at most maxEntries records (1 to 10^7).
func NewMemoryTokenStore(maxEntries int) (*TokenStore, error) {
	var raw *C.prd_token_store
	if err := check(C.prd_token_store_new_memory(C.size_t(maxEntries), &raw)); err != nil {
		return nil, err
	}
	s := &TokenStore{raw: raw}
	runtime.SetFinalizer(s, (*TokenStore).Close)
	return s, nil
}

// NewPostgresTokenStore keeps records in PostgreSQL (apply
// Pool.MigrateStores first).
func NewPostgresTokenStore(pool *Pool) (*TokenStore, error) {
	var raw *C.prd_token_store
	if err := check(C.prd_token_store_new_pg(pool.raw, &raw)); err != nil {
		return nil, err
	}
	s := &TokenStore{raw: raw, pool: pool}
	runtime.SetFinalizer(s, (*TokenStore).Close)
	return s, nil
}

// Close frees the store (after the Sessions made on it).
func (s *TokenStore) Close() error {
	if s.raw != nil {
		C.prd_token_store_free(s.raw)
		s.raw = nil
	}
	runtime.KeepAlive(s.pool)
	return nil
}

// SessionOptions configure Sessions; zero values are the defaults (30
// minutes idle, 8 hours absolute; refresh tokens 14 days, families 90
// days, no grace).
type SessionOptions struct {
	Idle, Absolute                   time.Duration
	RefreshTTL, RefreshFamily, Grace time.Duration
	Clock                            *Clock
}

// Sessions manages opaque tokens "<prefix>_..." on a store: sessions,
// single-use tokens and refresh families. Safe for concurrent use.
type Sessions struct {
	raw   *C.prd_token_sessions
	store *TokenStore
	clock *Clock
}

// NewSessions makes a manager (prefix: 1-16 of [a-z0-9]).
func NewSessions(store *TokenStore, prefix string, o SessionOptions) (*Sessions, error) {
	p, err := cstr(prefix, "prefix")
	if err != nil {
		return nil, err
	}
	defer free(p)
	var raw *C.prd_token_sessions
	if err := checkWhat(C.prd_token_sessions_new(store.raw, p, &raw), "prefix: 1-16 of [a-z0-9]"); err != nil {
		return nil, err
	}
	s := &Sessions{raw: raw, store: store, clock: o.Clock}
	runtime.SetFinalizer(s, (*Sessions).Close)
	if o.Idle != 0 || o.Absolute != 0 {
		idle, abs := o.Idle, o.Absolute
		if idle == 0 {
			idle = 30 * time.Minute
		}
		if abs == 0 {
			abs = 8 * time.Hour
		}
		if err := checkWhat(C.prd_token_sessions_set_timeouts(raw, C.int64_t(idle.Milliseconds()), C.int64_t(abs.Milliseconds())), "timeouts: idle no longer than absolute"); err != nil {
			s.Close()
			return nil, err
		}
	}
	if o.RefreshTTL != 0 || o.RefreshFamily != 0 || o.Grace != 0 {
		ttl, fam := o.RefreshTTL, o.RefreshFamily
		if ttl == 0 {
			ttl = 14 * 24 * time.Hour
		}
		if fam == 0 {
			fam = 90 * 24 * time.Hour
		}
		if err := checkWhat(C.prd_token_refresh_set_policy(raw, C.int64_t(ttl.Milliseconds()), C.int64_t(fam.Milliseconds()), C.int64_t(o.Grace.Milliseconds())), "refresh policy"); err != nil {
			s.Close()
			return nil, err
		}
	}
	if o.Clock != nil {
		if err := check(C.prd_token_sessions_set_clock(raw, o.Clock.raw)); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close frees the manager.
func (s *Sessions) Close() error {
	if s.raw != nil {
		C.prd_token_sessions_free(s.raw)
		s.raw = nil
	}
	runtime.KeepAlive(s.store)
	runtime.KeepAlive(s.clock)
	return nil
}

const tokenSize = C.PRD_OPAQUE_TOKEN_SIZE
const subjectSize = C.PRD_SESSION_SUBJECT_SIZE

func outBuf(n int) ([]byte, *C.char) {
	b := make([]byte, n)
	return b, (*C.char)(unsafe.Pointer(&b[0]))
}

// Create starts a session for subject (1-256 bytes); its token.
func (s *Sessions) Create(subject string) (string, error) {
	c, err := cstr(subject, "subject")
	if err != nil {
		return "", err
	}
	defer free(c)
	b, out := outBuf(tokenSize)
	st := C.prd_token_session_create(s.raw, c, out, tokenSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// Validate returns the subject of a live session and slides its idle
// timeout: ErrExpired (timed out) or ErrBadToken (unknown, revoked).
func (s *Sessions) Validate(token string) (string, error) {
	tp, tn := strArg(token)
	b, out := outBuf(subjectSize)
	st := C.prd_token_session_validate(s.raw, (*C.char)(tp), tn, out, subjectSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// Rotate replaces a session's token; the old one stops at once.
func (s *Sessions) Rotate(token string) (string, error) {
	tp, tn := strArg(token)
	b, out := outBuf(tokenSize)
	st := C.prd_token_session_rotate(s.raw, (*C.char)(tp), tn, out, tokenSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// Revoke ends one session (ErrBadToken when unknown).
func (s *Sessions) Revoke(token string) error {
	tp, tn := strArg(token)
	st := C.prd_token_session_revoke(s.raw, (*C.char)(tp), tn)
	runtime.KeepAlive(s)
	return check(st)
}

// RevokeSubject ends every session, family and single-use token of subject.
func (s *Sessions) RevokeSubject(subject string) (int, error) {
	c, err := cstr(subject, "subject")
	if err != nil {
		return 0, err
	}
	defer free(c)
	var n C.size_t
	st := C.prd_token_session_revoke_subject(s.raw, c, &n)
	runtime.KeepAlive(s)
	return int(n), check(st)
}

// IssueSingleUse makes a single-use token for purpose, tied to binding
// (the user's current password hash: the token dies when it changes).
func (s *Sessions) IssueSingleUse(purpose, subject string, ttl time.Duration, binding []byte) (string, error) {
	p, err := cstr(purpose, "purpose")
	if err != nil {
		return "", err
	}
	defer free(p)
	c, err := cstr(subject, "subject")
	if err != nil {
		return "", err
	}
	defer free(c)
	bp, bn := bytesArg(binding)
	b, out := outBuf(tokenSize)
	st := C.prd_token_single_use_issue(s.raw, p, c, C.int64_t(ttl.Milliseconds()), bp, bn, out, tokenSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// ConsumeSingleUse redeems a single-use token once: its subject, then
// ErrBadToken forever; ErrExpired after its ttl.
func (s *Sessions) ConsumeSingleUse(purpose, token string, binding []byte) (string, error) {
	p, err := cstr(purpose, "purpose")
	if err != nil {
		return "", err
	}
	defer free(p)
	tp, tn := strArg(token)
	bp, bn := bytesArg(binding)
	b, out := outBuf(subjectSize)
	st := C.prd_token_single_use_consume(s.raw, p, (*C.char)(tp), tn, bp, bn, out, subjectSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// IssueRefresh starts a refresh family for subject; its first token.
func (s *Sessions) IssueRefresh(subject string) (string, error) {
	c, err := cstr(subject, "subject")
	if err != nil {
		return "", err
	}
	defer free(c)
	b, out := outBuf(tokenSize)
	st := C.prd_token_refresh_issue(s.raw, c, out, tokenSize)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return "", err
	}
	return bufString(b), nil
}

// ErrRefreshReused is the error of RotateRefresh when a token already
// rotated was presented again: the family is revoked (errors.Is with
// ErrBadToken holds too). Its Detail is "reused".
var ErrRefreshReused = &Error{Status: StatusBadToken, Detail: "reused"}

// RotateRefresh spends a refresh token: the family's new token and the
// subject. A reused token returns the subject and ErrRefreshReused (tell
// the owner: the family is revoked).
func (s *Sessions) RotateRefresh(token string) (newToken, subject string, err error) {
	tp, tn := strArg(token)
	b, out := outBuf(tokenSize)
	sb, sout := outBuf(subjectSize)
	var reused C.int
	st := C.prd_token_refresh_rotate(s.raw, (*C.char)(tp), tn, out, tokenSize, sout, subjectSize, &reused)
	runtime.KeepAlive(s)
	if st == C.PRD_EBADTOKEN && reused != 0 {
		return "", bufString(sb), &Error{Status: StatusBadToken, Detail: "reused"}
	}
	if err := check(st); err != nil {
		return "", "", err
	}
	return bufString(b), bufString(sb), nil
}

// RevokeRefresh ends the family of a refresh token.
func (s *Sessions) RevokeRefresh(token string) error {
	tp, tn := strArg(token)
	st := C.prd_token_refresh_revoke(s.raw, (*C.char)(tp), tn)
	runtime.KeepAlive(s)
	return check(st)
}

// SessionInfo is one of a subject's live sessions or refresh families.
type SessionInfo struct {
	ID                         string // 32 hex digits, never the token
	Refresh                    bool   // a refresh family, not a session
	Created, LastUsed, Expires time.Time
}

// List is a subject's live sessions and families, oldest first.
func (s *Sessions) List(subject string) ([]SessionInfo, error) {
	c, err := cstr(subject, "subject")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var count C.size_t
	if err := check(C.prd_token_session_list(s.raw, c, nil, 0, &count)); err != nil {
		return nil, err
	}
	n := int(count)
	if n > C.PRD_SESSION_LIST_MAX {
		n = C.PRD_SESSION_LIST_MAX
	}
	if n == 0 {
		return nil, nil
	}
	// C memory: the array is the library's to write whole structs into.
	arr := (*[C.PRD_SESSION_LIST_MAX]C.prd_session_info)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.prd_session_info{}))))
	defer C.free(unsafe.Pointer(arr))
	arr[0].size = C.size_t(unsafe.Sizeof(C.prd_session_info{}))
	st := C.prd_token_session_list(s.raw, c, &arr[0], C.size_t(n), &count)
	runtime.KeepAlive(s)
	if err := check(st); err != nil {
		return nil, err
	}
	if int(count) < n {
		n = int(count)
	}
	out := make([]SessionInfo, n)
	for i := 0; i < n; i++ {
		e := &arr[i]
		out[i] = SessionInfo{
			ID:       C.GoString(&e.id[0]),
			Refresh:  e.kind == C.PRD_SESSION_KIND_REFRESH,
			Created:  time.Unix(0, int64(e.created_ns)),
			LastUsed: time.Unix(0, int64(e.last_used_ns)),
			Expires:  time.Unix(0, int64(e.expires_ns)),
		}
	}
	return out, nil
}

// RevokeID ends the subject's session or family with this id
// (ErrNotFound: the subject has none by that id).
func (s *Sessions) RevokeID(subject, id string) error {
	c, err := cstr(subject, "subject")
	if err != nil {
		return err
	}
	defer free(c)
	i, err := cstr(id, "id")
	if err != nil {
		return err
	}
	defer free(i)
	st := C.prd_token_session_revoke_id(s.raw, c, i)
	runtime.KeepAlive(s)
	return check(st)
}

// NewOpaqueToken makes "<prefix>_<base64url>" (256 random bits and a
// checksum) and the digest to store in its place.
func NewOpaqueToken(prefix string) (string, [32]byte, error) {
	var digest [32]byte
	p, err := cstr(prefix, "prefix")
	if err != nil {
		return "", digest, err
	}
	defer free(p)
	b, out := outBuf(tokenSize)
	d := (*C.uchar)(C.malloc(32))
	defer C.free(unsafe.Pointer(d))
	if err := check(C.prd_token_opaque_new(p, out, tokenSize, d)); err != nil {
		return "", digest, err
	}
	copy(digest[:], C.GoBytes(unsafe.Pointer(d), 32))
	return bufString(b), digest, nil
}

// OpaqueDigest checks an opaque token's form and checksum (ErrBadToken
// otherwise) and returns the digest to look it up by.
func OpaqueDigest(prefix, token string) ([32]byte, error) {
	var digest [32]byte
	p, err := cstr(prefix, "prefix")
	if err != nil {
		return digest, err
	}
	defer free(p)
	tp, tn := strArg(token)
	d := (*C.uchar)(C.malloc(32))
	defer C.free(unsafe.Pointer(d))
	if err := check(C.prd_token_opaque_digest(p, (*C.char)(tp), tn, d)); err != nil {
		return digest, err
	}
	copy(digest[:], C.GoBytes(unsafe.Pointer(d), 32))
	return digest, nil
}
