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

// KeyKind is what a token key is for.
type KeyKind int

const (
	KeyLocal  KeyKind = C.PRD_KEY_LOCAL  // 32-byte symmetric key for v4.local
	KeyPublic KeyKind = C.PRD_KEY_PUBLIC // Ed25519 public key: verifies v4.public
	KeySecret KeyKind = C.PRD_KEY_SECRET // Ed25519 secret key: signs v4.public
)

// Purpose is a token's kind.
type Purpose int

const (
	Local  Purpose = C.PRD_TOKEN_LOCAL  // v4.local
	Public Purpose = C.PRD_TOKEN_PUBLIC // v4.public
)

// Key is a token key: immutable, safe for concurrent use, wiped on Close.
// It prints as its kind and public id, never its material.
type Key struct {
	raw *C.prd_token_key
}

func newKey(st C.prd_status, raw *C.prd_token_key, what string) (*Key, error) {
	if err := checkWhat(st, what); err != nil {
		return nil, err
	}
	k := &Key{raw: raw}
	runtime.SetFinalizer(k, (*Key).Close)
	return k, nil
}

// GenerateKey makes a random KeyLocal or KeySecret key.
func GenerateKey(kind KeyKind) (*Key, error) {
	var raw *C.prd_token_key
	return newKey(C.prd_token_key_generate(C.prd_key_kind(kind), &raw), raw, "only local and secret keys are generated")
}

// KeyFromPASERK parses k4.local., k4.public. or k4.secret., strictly.
func KeyFromPASERK(paserk string) (*Key, error) {
	c, err := cstr(paserk, "PASERK")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var raw *C.prd_token_key
	return newKey(C.prd_token_key_from_paserk(c, &raw), raw, "not a k4.local, k4.public or k4.secret PASERK")
}

// KeyFromHex reads 64 hex digits (local, public) or 128 (secret).
func KeyFromHex(kind KeyKind, hex string) (*Key, error) {
	c, err := cstr(hex, "hex key")
	if err != nil {
		return nil, err
	}
	defer free(c)
	var raw *C.prd_token_key
	return newKey(C.prd_token_key_from_hex(C.prd_key_kind(kind), c, &raw), raw, "hex key of the wrong length or not hex")
}

// KeyFromBytes: 32 bytes (local, public), 32 or 64 (secret).
func KeyFromBytes(kind KeyKind, b []byte) (*Key, error) {
	p, n := bytesArg(b)
	var raw *C.prd_token_key
	return newKey(C.prd_token_key_from_bytes(C.prd_key_kind(kind), p, n, &raw), raw, "key bytes of the wrong length")
}

// PublicKey is the public half of a secret key.
func (k *Key) PublicKey() (*Key, error) {
	var raw *C.prd_token_key
	st := C.prd_token_key_public(k.raw, &raw)
	runtime.KeepAlive(k)
	return newKey(st, raw, "a local key has no public half")
}

// Kind is the key's kind.
func (k *Key) Kind() KeyKind {
	kind := KeyKind(C.prd_token_key_kind(k.raw))
	runtime.KeepAlive(k)
	return kind
}

// PASERK is the key's PASERK: secret for local and secret keys (wipe
// copies you make; the string itself cannot be wiped in Go, so prefer
// passing keys as files or environment variables).
func (k *Key) PASERK() string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_token_key_paserk(k.raw, out, size) })
	runtime.KeepAlive(k)
	return s
}

// ID is the key's PASERK id (k4.lid., k4.pid., k4.sid.); not secret.
func (k *Key) ID() string {
	s := textOut(func(out *C.char, size C.size_t) C.size_t { return C.prd_token_key_id(k.raw, out, size) })
	runtime.KeepAlive(k)
	return s
}

// Format prints the kind and the id only.
func (k *Key) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "Key(%d, %s)", k.Kind(), k.ID()) }

// Close wipes and frees the key.
func (k *Key) Close() error {
	if k.raw != nil {
		C.prd_token_key_free(k.raw)
		k.raw = nil
	}
	return nil
}

func takeString(p *C.char) string {
	s := C.GoString(p)
	C.prd_free(unsafe.Pointer(p))
	return s
}

func takeBytes(p *C.uchar, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	b := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.prd_free(unsafe.Pointer(p))
	return b
}

func rejected(st C.prd_status, why *C.char) error {
	if st == C.PRD_OK {
		return nil
	}
	return &Error{Status: Status(st), Detail: goString(why)}
}

// Encrypt makes a v4.local token of any payload (the raw protocol: use
// Keyring.Issue for tokens with claims).
func Encrypt(k *Key, payload, footer, implicit []byte) (string, error) {
	return rawMake(k, payload, footer, implicit, true)
}

// Sign makes a v4.public token of any payload with a secret key.
func Sign(k *Key, payload, footer, implicit []byte) (string, error) {
	return rawMake(k, payload, footer, implicit, false)
}

func rawMake(k *Key, payload, footer, implicit []byte, local bool) (string, error) {
	pp, pn := bytesArg(payload)
	fp, fn := bytesArg(footer)
	ip, in := bytesArg(implicit)
	var out *C.char
	var st C.prd_status
	if local {
		st = C.prd_token_v4_encrypt(k.raw, pp, pn, fp, fn, ip, in, &out)
	} else {
		st = C.prd_token_v4_sign(k.raw, pp, pn, fp, fn, ip, in, &out)
	}
	runtime.KeepAlive(k)
	if err := check(st); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// Decrypt opens a v4.local token (Open with a local key).
func Decrypt(k *Key, token string, expectFooter, implicit []byte) (payload, footer []byte, err error) {
	return rawOpen(k, token, expectFooter, implicit, true)
}

// VerifySigned opens a v4.public token with a public (or secret) key.
// expectFooter nil accepts any footer; rejections are ErrBadToken with
// the library's reason as Detail.
func VerifySigned(k *Key, token string, expectFooter, implicit []byte) (payload, footer []byte, err error) {
	return rawOpen(k, token, expectFooter, implicit, false)
}

func rawOpen(k *Key, token string, expect, implicit []byte, local bool) ([]byte, []byte, error) {
	tp, tn := strArg(token)
	ep, en := bytesArg(expect)
	if expect != nil && len(expect) == 0 {
		// An expected empty footer is not "any footer": a real pointer.
		empty := C.malloc(1)
		defer C.free(empty)
		ep = empty
	}
	ip, in := bytesArg(implicit)
	var p, f *C.uchar
	var pl, fl C.size_t
	var why *C.char
	var st C.prd_status
	if local {
		st = C.prd_token_v4_decrypt(k.raw, (*C.char)(tp), tn, ep, en, ip, in, 0, &p, &pl, &f, &fl, &why)
	} else {
		st = C.prd_token_v4_verify_signed(k.raw, (*C.char)(tp), tn, ep, en, ip, in, 0, &p, &pl, &f, &fl, &why)
	}
	runtime.KeepAlive(k)
	payload, footer := takeBytes(p, pl), takeBytes(f, fl)
	if err := rejected(st, why); err != nil {
		return nil, nil, err
	}
	return payload, footer, nil
}

// Keyring holds up to 16 keys, one current per purpose; new tokens carry
// the current key's id, verification picks the key by it. Safe for
// concurrent use, changes included.
type Keyring struct {
	raw *C.prd_keyring
}

// NewKeyring is an empty ring.
func NewKeyring() (*Keyring, error) {
	var raw *C.prd_keyring
	if err := check(C.prd_keyring_new(&raw)); err != nil {
		return nil, err
	}
	r := &Keyring{raw: raw}
	runtime.SetFinalizer(r, (*Keyring).Close)
	return r, nil
}

// Add adds a copy of k; current: issue with it from now on.
func (r *Keyring) Add(k *Key, current bool) error {
	cur := C.int(0)
	if current {
		cur = 1
	}
	err := check(C.prd_keyring_add(r.raw, k.raw, cur))
	runtime.KeepAlive(k)
	runtime.KeepAlive(r)
	return err
}

// SetCurrent makes the key with this id current.
func (r *Keyring) SetCurrent(kid string) error { return r.byID(kid, true) }

// Remove removes the key with this id: its tokens stop verifying.
func (r *Keyring) Remove(kid string) error { return r.byID(kid, false) }

func (r *Keyring) byID(kid string, current bool) error {
	c, err := cstr(kid, "key id")
	if err != nil {
		return err
	}
	defer free(c)
	var st C.prd_status
	if current {
		st = C.prd_keyring_set_current(r.raw, c)
	} else {
		st = C.prd_keyring_remove(r.raw, c)
	}
	runtime.KeepAlive(r)
	return check(st)
}

// Len is how many keys it holds.
func (r *Keyring) Len() int { n := int(C.prd_keyring_count(r.raw)); runtime.KeepAlive(r); return n }

// Close frees the ring (verifiers made on it keep it alive until they close).
func (r *Keyring) Close() error {
	if r.raw != nil {
		C.prd_keyring_free(r.raw)
		r.raw = nil
	}
	return nil
}

// Claims are a token's claims, built in order:
//
//	prodready.NewClaims(15*time.Minute).Set("sub", "alice").SetJSON("roles", `["admin"]`)
//
// Expiry is mandatory (the TTL, or ExpiresAt); iat and a random jti are
// added when the token is issued. Errors (a refused name, text that is
// not JSON) come back from Issue or Payload.
type Claims struct {
	ttl       time.Duration
	expiry    time.Time
	notBefore time.Time
	ops       []claimOp
}

type claimOp struct {
	name, text string
	n          int64
	kind       byte // 's' string, 'i' integer, 'j' JSON text
}

// NewClaims starts claims that expire ttl after issuing (0: set ExpiresAt).
func NewClaims(ttl time.Duration) *Claims { return &Claims{ttl: ttl} }

// Set sets a string claim ("exp", "nbf" and "iat" are refused).
func (c *Claims) Set(name, value string) *Claims {
	c.ops = append(c.ops, claimOp{name: name, text: value, kind: 's'})
	return c
}

// SetInt sets an integer claim.
func (c *Claims) SetInt(name string, v int64) *Claims {
	c.ops = append(c.ops, claimOp{name: name, n: v, kind: 'i'})
	return c
}

// SetJSON sets a claim of any JSON value given as text (an object, an
// array, ...); duplicate keys and text after the value are refused.
func (c *Claims) SetJSON(name, json string) *Claims {
	c.ops = append(c.ops, claimOp{name: name, text: json, kind: 'j'})
	return c
}

// ExpiresAt sets a fixed expiry instead of the TTL.
func (c *Claims) ExpiresAt(t time.Time) *Claims { c.expiry = t; return c }

// NotBefore sets nbf.
func (c *Claims) NotBefore(t time.Time) *Claims { c.notBefore = t; return c }

// IssueOptions are the rest of an issue: a footer (JSON object text merged
// after kid), an implicit assertion and a clock.
type IssueOptions struct {
	Footer   string
	Implicit []byte
	Clock    *Clock
}

func (c *Claims) build() (*C.prd_token_claims, error) {
	var raw *C.prd_token_claims
	if err := check(C.prd_token_claims_new(&raw)); err != nil {
		return nil, err
	}
	fail := func(err error) (*C.prd_token_claims, error) {
		C.prd_token_claims_free(raw)
		return nil, err
	}
	if c.ttl != 0 {
		if err := checkWhat(C.prd_token_claims_set_ttl(raw, C.int64_t(c.ttl.Milliseconds())), "ttl: 1 ms to 10 years"); err != nil {
			return fail(err)
		}
	}
	if !c.expiry.IsZero() {
		if err := checkWhat(C.prd_token_claims_set_expiry(raw, C.int64_t(c.expiry.UnixNano())), "expiry"); err != nil {
			return fail(err)
		}
	}
	if !c.notBefore.IsZero() {
		if err := checkWhat(C.prd_token_claims_set_not_before(raw, C.int64_t(c.notBefore.UnixNano())), "not before"); err != nil {
			return fail(err)
		}
	}
	for _, op := range c.ops {
		n, err := cstr(op.name, "claim name")
		if err != nil {
			return fail(err)
		}
		var st C.prd_status
		what := fmt.Sprintf("claim '%s': a name of 1-64 bytes other than exp, nbf, iat", op.name)
		switch op.kind {
		case 's':
			var cv *C.char
			if cv, err = cstr(op.text, "claim value"); err != nil {
				free(n)
				return fail(err)
			}
			st = C.prd_token_claims_set_string(raw, n, cv)
			free(cv)
		case 'i':
			st = C.prd_token_claims_set_int(raw, n, C.int64_t(op.n))
		default:
			p, l := strArg(op.text)
			st = C.prd_token_claims_set_json_text(raw, n, (*C.char)(p), l)
			what = fmt.Sprintf("claim '%s': not one JSON value, or a refused name", op.name)
		}
		free(n)
		if err := checkWhat(st, what); err != nil {
			return fail(err)
		}
	}
	return raw, nil
}

// Payload is the JSON payload issuing would use now (for Encrypt/Sign
// when the footer must be chosen byte for byte).
func (c *Claims) Payload(clock *Clock) (string, error) {
	raw, err := c.build()
	if err != nil {
		return "", err
	}
	defer C.prd_token_claims_free(raw)
	var out *C.char
	st := C.prd_token_claims_payload(raw, clock.ptr(), &out)
	runtime.KeepAlive(clock)
	if err := check(st); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// Issue makes a token of purpose with the ring's current key.
func (r *Keyring) Issue(p Purpose, c *Claims, o *IssueOptions) (string, error) {
	raw, err := c.build()
	if err != nil {
		return "", err
	}
	defer C.prd_token_claims_free(raw)
	if o == nil {
		o = &IssueOptions{}
	}
	fp, fn := strArg(o.Footer)
	ip, in := bytesArg(o.Implicit)
	var out *C.char
	st := C.prd_token_issue(r.raw, C.prd_token_purpose(p), raw, (*C.char)(fp), fn, ip, in, o.Clock.ptr(), &out)
	runtime.KeepAlive(r)
	runtime.KeepAlive(o.Clock)
	if err := check(st); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// VerifierOptions: what a token must satisfy beyond its key and expiry.
type VerifierOptions struct {
	ExpLeeway, NbfLeeway time.Duration // defaults 30 s each; set UseLeeway to give zero
	UseLeeway            bool
	Issuer               string
	Audiences            []string
	RequireClaims        []string
	MaxSize              int    // bytes; 0: 8 KiB
	Footer               []byte // the footer must be exactly this (nil: any, by kid)
	Clock                *Clock
	Revocations          *Revocations
}

// Verifier verifies tokens; safe for concurrent use. It keeps its ring,
// clock and revocation list alive.
type Verifier struct {
	raw  *C.prd_token_verifier
	ring *Keyring
	o    VerifierOptions
}

// NewVerifier makes a verifier of purpose tokens against ring.
func NewVerifier(ring *Keyring, p Purpose, o VerifierOptions) (*Verifier, error) {
	var raw *C.prd_token_verifier
	if err := check(C.prd_token_verifier_new(ring.raw, C.prd_token_purpose(p), &raw)); err != nil {
		return nil, err
	}
	v := &Verifier{raw: raw, ring: ring, o: o}
	runtime.SetFinalizer(v, (*Verifier).Close)
	if err := v.configure(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *Verifier) configure() error {
	o := v.o
	if o.UseLeeway || o.ExpLeeway != 0 || o.NbfLeeway != 0 {
		if err := checkWhat(C.prd_token_verifier_set_leeway(v.raw, C.int64_t(o.ExpLeeway.Milliseconds()), C.int64_t(o.NbfLeeway.Milliseconds())), "leeway: 0 to 1 day"); err != nil {
			return err
		}
	}
	set := func(s, what string, f func(*C.char) C.prd_status) error {
		c, err := cstr(s, what)
		if err != nil {
			return err
		}
		defer free(c)
		return checkWhat(f(c), what)
	}
	if o.Issuer != "" {
		if err := set(o.Issuer, "issuer", func(c *C.char) C.prd_status { return C.prd_token_verifier_set_issuer(v.raw, c) }); err != nil {
			return err
		}
	}
	for _, a := range o.Audiences {
		if err := set(a, "audience", func(c *C.char) C.prd_status { return C.prd_token_verifier_add_audience(v.raw, c) }); err != nil {
			return err
		}
	}
	for _, n := range o.RequireClaims {
		if err := set(n, "required claim", func(c *C.char) C.prd_status { return C.prd_token_verifier_require_claim(v.raw, c) }); err != nil {
			return err
		}
	}
	if o.MaxSize != 0 {
		if err := checkWhat(C.prd_token_verifier_set_max_size(v.raw, C.size_t(o.MaxSize)), "max size: 64 to 1048576 bytes"); err != nil {
			return err
		}
	}
	if o.Footer != nil {
		p, n := bytesArg(o.Footer)
		if err := checkWhat(C.prd_token_verifier_set_footer(v.raw, p, n), "footer"); err != nil {
			return err
		}
	}
	if o.Clock != nil {
		if err := check(C.prd_token_verifier_set_clock(v.raw, o.Clock.raw)); err != nil {
			return err
		}
	}
	if o.Revocations != nil {
		if err := check(C.prd_token_verifier_set_revocations(v.raw, o.Revocations.raw)); err != nil {
			return err
		}
	}
	return nil
}

// Verified is a verified token: its claims as JSON text exactly as in the
// token, its footer and its expiry.
type Verified struct {
	ClaimsJSON string
	Footer     []byte
	Expiry     time.Time
	raw        *C.prd_token_verified
}

// Verify verifies a token: ErrExpired, ErrNotYet or ErrBadToken (with the
// library's reason as Detail, for logs, never for users) when rejected.
func (v *Verifier) Verify(token string, implicit []byte) (*Verified, error) {
	tp, tn := strArg(token)
	ip, in := bytesArg(implicit)
	var out *C.prd_token_verified
	var why *C.char
	st := C.prd_token_verify(v.raw, (*C.char)(tp), tn, ip, in, &out, &why)
	runtime.KeepAlive(v)
	if err := rejected(st, why); err != nil {
		return nil, err
	}
	defer C.prd_token_verified_free(out)
	var fl C.size_t
	f := C.prd_token_verified_footer(out, &fl)
	return &Verified{
		ClaimsJSON: C.GoString(C.prd_token_verified_claims_text(out)),
		Footer:     C.GoBytes(unsafe.Pointer(f), C.int(fl)),
		Expiry:     time.Unix(0, int64(C.prd_token_verified_expiry(out))),
	}, nil
}

// Close frees the verifier.
func (v *Verifier) Close() error {
	if v.raw != nil {
		C.prd_token_verifier_free(v.raw)
		v.raw = nil
	}
	runtime.KeepAlive(v.ring)
	runtime.KeepAlive(v.o.Clock)
	runtime.KeepAlive(v.o.Revocations)
	return nil
}

// Revocations is a jti revocation list, in this process or shared
// through PostgreSQL. Safe for concurrent use.
type Revocations struct {
	raw    *C.prd_token_revocations
	pool   *Pool
	mu     sync.Mutex
	clocks []*Clock // every clock set stays alive: a check may still read an old one
}

// NewRevocations makes a list: pool nil for this process only.
func NewRevocations(pool *Pool) (*Revocations, error) {
	var raw *C.prd_token_revocations
	var p *C.prd_pg_pool
	if pool != nil {
		p = pool.raw
	}
	if err := check(C.prd_token_revocations_new(p, &raw)); err != nil {
		return nil, err
	}
	l := &Revocations{raw: raw, pool: pool}
	runtime.SetFinalizer(l, (*Revocations).Close)
	return l, nil
}

// SetRefresh: merge others' revocations when the copy is older than
// refresh; fail closed past maxStale without a merge.
func (l *Revocations) SetRefresh(refresh, maxStale time.Duration) error {
	return check(C.prd_token_revocations_set_refresh(l.raw, C.int64_t(refresh.Milliseconds()), C.int64_t(maxStale.Milliseconds())))
}

// SetClock sets the list's clock.
func (l *Revocations) SetClock(c *Clock) error {
	l.mu.Lock()
	l.clocks = append(l.clocks, c)
	l.mu.Unlock()
	return check(C.prd_token_revocations_set_clock(l.raw, c.raw))
}

// RevokeJTI revokes a jti until expires (the token's exp).
func (l *Revocations) RevokeJTI(jti string, expires time.Time) error {
	c, err := cstr(jti, "jti")
	if err != nil {
		return err
	}
	defer free(c)
	return check(C.prd_token_revoke_jti(l.raw, c, C.int64_t(expires.UnixNano())))
}

// Check is nil when jti is not revoked, ErrBadToken when it is, ErrDB when
// the copy is staler than its bound.
func (l *Revocations) Check(jti string) error {
	c, err := cstr(jti, "jti")
	if err != nil {
		return err
	}
	defer free(c)
	return check(C.prd_token_jti_check(l.raw, c))
}

// Len is how many revocations are held.
func (l *Revocations) Len() int { return int(C.prd_token_revocations_count(l.raw)) }

// Close frees the list.
func (l *Revocations) Close() error {
	if l.raw != nil {
		C.prd_token_revocations_free(l.raw)
		l.raw = nil
	}
	runtime.KeepAlive(l.pool)
	return nil
}
