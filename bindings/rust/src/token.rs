//! PASETO v4 tokens with mandatory expiry: keys and PASERK, key rings for
//! rotation, claims, issuing and verification with typed rejections, and
//! the raw v4 protocol.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{Claims, Key, KeyKind, Keyring, Purpose, Verifier};
//! use std::time::Duration;
//! let ring = Keyring::new()?;
//! ring.add(&Key::generate(KeyKind::Local)?, true)?;
//! let mut claims = Claims::new()?;
//! claims.ttl(Duration::from_secs(900))?.string("sub", "alice")?;
//! let token = ring.issue(Purpose::Local, &claims)?;
//! let verified = Verifier::new(&ring, Purpose::Local)?.verify(&token)?;
//! assert!(verified.claims_json().contains("\"sub\":\"alice\""));
//! # Ok(()) }
//! ```
//!
//! A rejected token is an [`Error`](crate::Error) with status `Expired`,
//! `NotYet` or `BadToken`, and the library's precise reason (for logs,
//! never for users) as its detail.
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{self, Clock};
use crate::error::{check, check_invalid, check_with, Result};
use crate::secret::SecretString;
use crate::sys;
use crate::util::{cstring, from_c, ms_i64, text_out};

/// What a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A 32-byte symmetric key for `v4.local`.
    Local,
    /// An Ed25519 public key that verifies `v4.public`.
    Public,
    /// An Ed25519 secret key that signs `v4.public`.
    Secret,
}

impl KeyKind {
    fn code(self) -> c_int {
        match self {
            KeyKind::Local => sys::PRD_KEY_LOCAL,
            KeyKind::Public => sys::PRD_KEY_PUBLIC,
            KeyKind::Secret => sys::PRD_KEY_SECRET,
        }
    }
}

/// The two kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// `v4.local`: encrypted with a local key.
    Local,
    /// `v4.public`: signed with a secret key, verified with its public key.
    Public,
}

impl Purpose {
    fn code(self) -> c_int {
        match self {
            Purpose::Local => sys::PRD_TOKEN_LOCAL,
            Purpose::Public => sys::PRD_TOKEN_PUBLIC,
        }
    }
}

/// A token key. Immutable; shareable between threads; wiped when dropped.
pub struct Key {
    raw: NonNull<sys::prd_token_key>,
}

unsafe impl Send for Key {}
unsafe impl Sync for Key {}

impl Key {
    fn made(st: c_int, out: *mut sys::prd_token_key, what: &str) -> Result<Key> {
        check_invalid(st, what)?;
        Ok(Key { raw: NonNull::new(out).expect("PRD_OK with a NULL key") })
    }

    /// A new random key: `Local` or `Secret` (take the public half with
    /// [`Key::public_key`]).
    pub fn generate(kind: KeyKind) -> Result<Key> {
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_token_key_generate(kind.code(), &mut out) };
        Key::made(st, out, "only local and secret keys are generated")
    }

    /// Parse a PASERK (`k4.local.`, `k4.public.`, `k4.secret.`), strictly.
    pub fn from_paserk(paserk: &str) -> Result<Key> {
        let c = cstring(paserk, "PASERK")?;
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_token_key_from_paserk(c.as_ptr(), &mut out) };
        Key::made(st, out, "not a k4.local, k4.public or k4.secret PASERK")
    }

    /// From hex: 64 digits for a local or public key, 128 for a secret key.
    pub fn from_hex(kind: KeyKind, hex: &str) -> Result<Key> {
        let c = cstring(hex, "hex key")?;
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_token_key_from_hex(kind.code(), c.as_ptr(), &mut out) };
        Key::made(st, out, "hex key of the wrong length or not hex")
    }

    /// From raw bytes: 32 for local or public; 32 (a seed) or 64 for secret.
    pub fn from_bytes(kind: KeyKind, bytes: &[u8]) -> Result<Key> {
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_token_key_from_bytes(kind.code(), bytes.as_ptr().cast(), bytes.len(), &mut out) };
        Key::made(st, out, "key bytes of the wrong length")
    }

    /// The public key of a secret key (or a copy of a public key).
    pub fn public_key(&self) -> Result<Key> {
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_token_key_public(self.raw.as_ptr(), &mut out) };
        Key::made(st, out, "a local key has no public half")
    }

    /// Its kind.
    pub fn kind(&self) -> KeyKind {
        match unsafe { sys::prd_token_key_kind(self.raw.as_ptr()) } {
            sys::PRD_KEY_LOCAL => KeyKind::Local,
            sys::PRD_KEY_PUBLIC => KeyKind::Public,
            _ => KeyKind::Secret,
        }
    }

    /// Its PASERK. Secret for local and secret keys, hence a
    /// [`SecretString`] (wiped when dropped).
    pub fn to_paserk(&self) -> SecretString {
        let mut buf = vec![0u8; sys::PRD_PASERK_SIZE];
        let n = unsafe { sys::prd_token_key_paserk(self.raw.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.min(sys::PRD_PASERK_SIZE - 1));
        SecretString::from_vec(buf)
    }

    /// Its PASERK id (`k4.lid.`, `k4.sid.`, `k4.pid.`); not secret.
    pub fn id(&self) -> String {
        text_out(|out, size| unsafe { sys::prd_token_key_id(self.raw.as_ptr(), out, size) })
    }

    pub(crate) fn as_ptr(&self) -> *const sys::prd_token_key {
        self.raw.as_ptr()
    }
}

impl fmt::Debug for Key {
    /// The kind and the id only, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?}, {})", self.kind(), self.id())
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        unsafe { sys::prd_token_key_free(self.raw.as_ptr()) }
    }
}

/// A token string the library allocated (`char **out`): copied into a
/// `String` and the C buffer wiped and freed.
fn take_c_string(p: *mut c_char) -> String {
    let s = from_c(p).unwrap_or_default();
    unsafe { sys::prd_free(p.cast()) };
    s
}

fn take_c_bytes(p: *mut u8, len: usize) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    let v = unsafe { std::slice::from_raw_parts(p, len) }.to_vec();
    unsafe { sys::prd_free(p.cast()) };
    v
}

fn rejected(st: c_int, why: *const c_char) -> Result<()> {
    check_with(st, || from_c(why))
}

/// The raw PASETO v4 protocol: any payload bytes, no claims checks. Use
/// [`Keyring::issue`] and [`Verifier`] for tokens with claims.
pub mod v4 {
    use super::*;

    fn bytes_ptr(b: &[u8]) -> *const std::os::raw::c_void {
        if b.is_empty() {
            ptr::null()
        } else {
            b.as_ptr().cast()
        }
    }

    /// A decoded token: its payload and footer.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Decoded {
        /// The payload bytes.
        pub payload: Vec<u8>,
        /// The footer bytes (empty when none).
        pub footer: Vec<u8>,
    }

    type Make = unsafe extern "C" fn(
        *const sys::prd_token_key,
        *const std::os::raw::c_void,
        usize,
        *const std::os::raw::c_void,
        usize,
        *const std::os::raw::c_void,
        usize,
        *mut *mut c_char,
    ) -> c_int;

    fn make(f: Make, key: &Key, payload: &[u8], footer: &[u8], implicit: &[u8]) -> Result<String> {
        let mut out = ptr::null_mut();
        check(unsafe {
            f(
                key.as_ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                bytes_ptr(footer),
                footer.len(),
                bytes_ptr(implicit),
                implicit.len(),
                &mut out,
            )
        })?;
        Ok(take_c_string(out))
    }

    /// Encrypt a `v4.local` token with a local key.
    pub fn encrypt(key: &Key, payload: &[u8], footer: &[u8], implicit: &[u8]) -> Result<String> {
        make(sys::prd_token_v4_encrypt, key, payload, footer, implicit)
    }

    /// Sign a `v4.public` token with a secret key.
    pub fn sign(key: &Key, payload: &[u8], footer: &[u8], implicit: &[u8]) -> Result<String> {
        make(sys::prd_token_v4_sign, key, payload, footer, implicit)
    }

    type Open = unsafe extern "C" fn(
        *const sys::prd_token_key,
        *const c_char,
        usize,
        *const std::os::raw::c_void,
        usize,
        *const std::os::raw::c_void,
        usize,
        usize,
        *mut *mut u8,
        *mut usize,
        *mut *mut u8,
        *mut usize,
        *mut *const c_char,
    ) -> c_int;

    fn open(
        f: Open,
        key: &Key,
        token: &str,
        expect_footer: Option<&[u8]>,
        implicit: &[u8],
        max_size: usize,
    ) -> Result<Decoded> {
        let (mut p, mut plen, mut ft, mut flen, mut why) = (ptr::null_mut(), 0, ptr::null_mut(), 0, ptr::null());
        let (fp, fl) = match expect_footer {
            Some(b) => (b.as_ptr().cast(), b.len()),
            None => (ptr::null(), 0),
        };
        let st = unsafe {
            f(
                key.as_ptr(),
                token.as_ptr().cast(),
                token.len(),
                fp,
                fl,
                bytes_ptr(implicit),
                implicit.len(),
                max_size,
                &mut p,
                &mut plen,
                &mut ft,
                &mut flen,
                &mut why,
            )
        };
        let payload = take_c_bytes(p, plen);
        let footer = take_c_bytes(ft, flen);
        rejected(st, why)?;
        Ok(Decoded { payload, footer })
    }

    /// Decrypt a `v4.local` token. `expect_footer`: the footer must be
    /// exactly these bytes (compared in constant time); `None` accepts any.
    /// `max_size` 0 is the default 8 KiB. Rejections are `BadToken`.
    pub fn decrypt(
        key: &Key,
        token: &str,
        expect_footer: Option<&[u8]>,
        implicit: &[u8],
        max_size: usize,
    ) -> Result<Decoded> {
        open(sys::prd_token_v4_decrypt, key, token, expect_footer, implicit, max_size)
    }

    /// Verify a `v4.public` token with a public (or secret) key.
    pub fn verify(
        key: &Key,
        token: &str,
        expect_footer: Option<&[u8]>,
        implicit: &[u8],
        max_size: usize,
    ) -> Result<Decoded> {
        open(sys::prd_token_v4_verify_signed, key, token, expect_footer, implicit, max_size)
    }
}

struct RingRaw(NonNull<sys::prd_keyring>);

// The header: a ring may be changed while other threads issue and verify.
unsafe impl Send for RingRaw {}
unsafe impl Sync for RingRaw {}

impl Drop for RingRaw {
    fn drop(&mut self) {
        unsafe { sys::prd_keyring_free(self.0.as_ptr()) }
    }
}

/// Up to 16 keys, one current per purpose: new tokens use it and carry its
/// id in the footer; verification picks the key by that id, so keys
/// rotate without a flag day. Cheap to clone (clones are one ring); safe
/// to change while other threads issue and verify.
#[derive(Clone)]
pub struct Keyring {
    raw: Arc<RingRaw>,
}

/// How to issue a token beyond its claims.
#[derive(Clone, Debug, Default)]
pub struct IssueOptions<'a> {
    /// JSON text of an object merged into the footer after `kid`.
    pub footer: Option<&'a str>,
    /// An implicit assertion: authenticated, never sent.
    pub implicit: &'a [u8],
    /// The clock for `iat` and `exp`; `None` is the system's.
    pub clock: Option<&'a Clock>,
}

impl Keyring {
    /// An empty ring.
    pub fn new() -> Result<Keyring> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_keyring_new(&mut out) })?;
        Ok(Keyring { raw: Arc::new(RingRaw(NonNull::new(out).expect("PRD_OK with a NULL ring"))) })
    }

    fn ptr(&self) -> *mut sys::prd_keyring {
        self.raw.0.as_ptr()
    }

    /// Add a copy of `key`; `current`: issue with it from now on (a local or
    /// secret key). `Invalid` for a public key made current or a key
    /// already present, `TooBig` when the ring is full.
    pub fn add(&self, key: &Key, current: bool) -> Result<()> {
        check(unsafe { sys::prd_keyring_add(self.ptr(), key.as_ptr(), current as c_int) })
    }

    /// Make the key with this id current.
    pub fn set_current(&self, kid: &str) -> Result<()> {
        let c = cstring(kid, "key id")?;
        check(unsafe { sys::prd_keyring_set_current(self.ptr(), c.as_ptr()) })
    }

    /// Remove the key with this id: tokens made with it stop verifying.
    pub fn remove(&self, kid: &str) -> Result<()> {
        let c = cstring(kid, "key id")?;
        check(unsafe { sys::prd_keyring_remove(self.ptr(), c.as_ptr()) })
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        unsafe { sys::prd_keyring_count(self.ptr()) }
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Issue a token with the current key of `purpose`.
    pub fn issue(&self, purpose: Purpose, claims: &Claims) -> Result<String> {
        self.issue_with(purpose, claims, &IssueOptions::default())
    }

    /// Issue with a footer, an implicit assertion or a clock.
    pub fn issue_with(&self, purpose: Purpose, claims: &Claims, opts: &IssueOptions<'_>) -> Result<String> {
        let (fp, fl) = opts.footer.map_or((ptr::null(), 0), |f| (f.as_ptr().cast::<c_char>(), f.len()));
        let ip = if opts.implicit.is_empty() { ptr::null() } else { opts.implicit.as_ptr().cast() };
        let mut out = ptr::null_mut();
        check(unsafe {
            sys::prd_token_issue(
                self.ptr(),
                purpose.code(),
                claims.raw.as_ptr(),
                fp,
                fl,
                ip,
                opts.implicit.len(),
                clock::opt(opts.clock),
                &mut out,
            )
        })?;
        Ok(take_c_string(out))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({} keys)", self.len())
    }
}

/// A claims builder. `exp` is mandatory (set [`Claims::ttl`] or
/// [`Claims::expiry_ns`]); `iat` and a random `jti` are added when issued.
/// Belongs to one thread at a time (`Send`, not `Sync`).
pub struct Claims {
    raw: NonNull<sys::prd_token_claims>,
}

unsafe impl Send for Claims {}

impl Claims {
    /// No claims yet.
    pub fn new() -> Result<Claims> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_claims_new(&mut out) })?;
        Ok(Claims { raw: NonNull::new(out).expect("PRD_OK with NULL claims") })
    }

    fn set(&mut self, st: c_int, what: impl FnOnce() -> String) -> Result<&mut Claims> {
        check_with(st, || Some(what()))?;
        Ok(self)
    }

    /// Expire this long after issuing (1 ms to 10 years).
    pub fn ttl(&mut self, ttl: Duration) -> Result<&mut Claims> {
        let st = unsafe { sys::prd_token_claims_set_ttl(self.raw.as_ptr(), ms_i64(ttl)) };
        self.set(st, || "ttl: 1 ms to 10 years".into())
    }

    /// Expire at a fixed time (Unix nanoseconds).
    pub fn expiry_ns(&mut self, unix_ns: i64) -> Result<&mut Claims> {
        let st = unsafe { sys::prd_token_claims_set_expiry(self.raw.as_ptr(), unix_ns) };
        self.set(st, || "expiry".into())
    }

    /// Not valid before this time (Unix nanoseconds).
    pub fn not_before_ns(&mut self, unix_ns: i64) -> Result<&mut Claims> {
        let st = unsafe { sys::prd_token_claims_set_not_before(self.raw.as_ptr(), unix_ns) };
        self.set(st, || "not before".into())
    }

    /// A string claim (`exp`, `nbf`, `iat` are refused: use the setters).
    pub fn string(&mut self, name: &str, value: &str) -> Result<&mut Claims> {
        let (n, v) = (cstring(name, "claim name")?, cstring(value, "claim value")?);
        let st = unsafe { sys::prd_token_claims_set_string(self.raw.as_ptr(), n.as_ptr(), v.as_ptr()) };
        self.set(st, || format!("claim '{name}': a name of 1-64 bytes other than exp, nbf, iat"))
    }

    /// An integer claim.
    pub fn int(&mut self, name: &str, value: i64) -> Result<&mut Claims> {
        let n = cstring(name, "claim name")?;
        let st = unsafe { sys::prd_token_claims_set_int(self.raw.as_ptr(), n.as_ptr(), value) };
        self.set(st, || format!("claim '{name}': a name of 1-64 bytes other than exp, nbf, iat"))
    }

    /// A claim of any JSON value given as text (an object, an array, ...);
    /// duplicate keys and text after the value are refused.
    pub fn json(&mut self, name: &str, json: &str) -> Result<&mut Claims> {
        let n = cstring(name, "claim name")?;
        let st = unsafe {
            sys::prd_token_claims_set_json_text(self.raw.as_ptr(), n.as_ptr(), json.as_ptr().cast(), json.len())
        };
        self.set(st, || format!("claim '{name}': not one JSON value, or a refused name"))
    }

    /// The payload issuing would use now (with `iat`, `exp`, `nbf`, `jti`),
    /// for the raw [`v4`] functions when the footer is chosen byte for byte.
    pub fn payload(&self, clock: Option<&Clock>) -> Result<String> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_claims_payload(self.raw.as_ptr(), clock::opt(clock), &mut out) })?;
        Ok(take_c_string(out))
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        unsafe { sys::prd_token_claims_free(self.raw.as_ptr()) }
    }
}

/// What a token must satisfy: the ring and purpose, leeways, issuer,
/// audiences, required claims, size limits, a fixed footer, the clock and a
/// revocation list. Configure (`&mut self`), then share it: `verify` takes
/// `&self` and may run on many threads at once. It keeps the ring, clock
/// and list it was given alive.
pub struct Verifier {
    raw: NonNull<sys::prd_token_verifier>,
    _ring: Keyring,
    _clock: Option<Clock>,
    _revocations: Option<Revocations>,
}

unsafe impl Send for Verifier {}
unsafe impl Sync for Verifier {}

impl Verifier {
    /// A verifier of `purpose` tokens against `ring`. Defaults: 30 s leeway
    /// for exp and nbf, no issuer or audience check, tokens up to 8 KiB.
    pub fn new(ring: &Keyring, purpose: Purpose) -> Result<Verifier> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_verifier_new(ring.ptr(), purpose.code(), &mut out) })?;
        Ok(Verifier {
            raw: NonNull::new(out).expect("PRD_OK with a NULL verifier"),
            _ring: ring.clone(),
            _clock: None,
            _revocations: None,
        })
    }

    fn set(&mut self, st: c_int, what: &str) -> Result<&mut Verifier> {
        check_invalid(st, what)?;
        Ok(self)
    }

    /// Leeways for exp and for nbf (each 0 to 1 day).
    pub fn leeway(&mut self, exp: Duration, nbf: Duration) -> Result<&mut Verifier> {
        let st = unsafe { sys::prd_token_verifier_set_leeway(self.raw.as_ptr(), ms_i64(exp), ms_i64(nbf)) };
        self.set(st, "leeway: 0 to 1 day")
    }

    /// The `iss` claim must equal this.
    pub fn issuer(&mut self, iss: &str) -> Result<&mut Verifier> {
        let c = cstring(iss, "issuer")?;
        let st = unsafe { sys::prd_token_verifier_set_issuer(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st, "issuer")
    }

    /// The `aud` claim must contain one of the audiences added (up to 16).
    pub fn audience(&mut self, aud: &str) -> Result<&mut Verifier> {
        let c = cstring(aud, "audience")?;
        let st = unsafe { sys::prd_token_verifier_add_audience(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st, "audience")
    }

    /// This claim must be present (up to 16 such).
    pub fn require_claim(&mut self, name: &str) -> Result<&mut Verifier> {
        let c = cstring(name, "claim name")?;
        let st = unsafe { sys::prd_token_verifier_require_claim(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st, "required claim")
    }

    /// The largest token looked at (64 bytes to 1 MiB).
    pub fn max_size(&mut self, bytes: usize) -> Result<&mut Verifier> {
        let st = unsafe { sys::prd_token_verifier_set_max_size(self.raw.as_ptr(), bytes) };
        self.set(st, "max size: 64 to 1048576 bytes")
    }

    /// The footer must be exactly these bytes (no key id lookup then).
    pub fn footer(&mut self, footer: &[u8]) -> Result<&mut Verifier> {
        let st = unsafe { sys::prd_token_verifier_set_footer(self.raw.as_ptr(), footer.as_ptr().cast(), footer.len()) };
        self.set(st, "footer")
    }

    /// The clock for exp and nbf (kept alive by the verifier).
    pub fn clock(&mut self, clock: &Clock) -> Result<&mut Verifier> {
        let st = unsafe { sys::prd_token_verifier_set_clock(self.raw.as_ptr(), clock.as_ptr()) };
        self.set(st, "clock")?;
        self._clock = Some(clock.clone());
        Ok(self)
    }

    /// Refuse tokens whose jti is on this list (and tokens without a jti).
    pub fn revocations(&mut self, list: &Revocations) -> Result<&mut Verifier> {
        let st = unsafe { sys::prd_token_verifier_set_revocations(self.raw.as_ptr(), list.ptr()) };
        self.set(st, "revocation list")?;
        self._revocations = Some(list.clone());
        Ok(self)
    }

    /// Verify a token: `Ok` with its claims, or `Err` with status
    /// `Expired`, `NotYet` or `BadToken` and the reason as detail.
    pub fn verify(&self, token: &str) -> Result<Verified> {
        self.verify_with_implicit(token, &[])
    }

    /// Verify with an implicit assertion the token was made with.
    pub fn verify_with_implicit(&self, token: &str, implicit: &[u8]) -> Result<Verified> {
        let mut out = ptr::null_mut();
        let mut why = ptr::null();
        let ip = if implicit.is_empty() { ptr::null() } else { implicit.as_ptr().cast() };
        let st = unsafe {
            sys::prd_token_verify(
                self.raw.as_ptr(),
                token.as_ptr().cast(),
                token.len(),
                ip,
                implicit.len(),
                &mut out,
                &mut why,
            )
        };
        rejected(st, why)?;
        Ok(Verified { raw: NonNull::new(out).expect("PRD_OK with no result") })
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        unsafe { sys::prd_token_verifier_free(self.raw.as_ptr()) }
    }
}

/// A verified token: its claims as JSON text exactly as in the token, its
/// footer and its expiry.
pub struct Verified {
    raw: NonNull<sys::prd_token_verified>,
}

unsafe impl Send for Verified {}
unsafe impl Sync for Verified {}

impl Verified {
    /// The claims, JSON text exactly as in the token.
    pub fn claims_json(&self) -> &str {
        let p = unsafe { sys::prd_token_verified_claims_text(self.raw.as_ptr()) };
        if p.is_null() {
            return "";
        }
        // Verified claims were parsed as JSON, so they are UTF-8.
        unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("")
    }

    /// The footer bytes (empty when none).
    pub fn footer(&self) -> &[u8] {
        let mut len = 0usize;
        let p = unsafe { sys::prd_token_verified_footer(self.raw.as_ptr(), &mut len) };
        if p.is_null() || len == 0 {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(p.cast(), len) }
    }

    /// The expiry, Unix nanoseconds.
    pub fn expiry_ns(&self) -> i64 {
        unsafe { sys::prd_token_verified_expiry(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified").field("claims", &self.claims_json()).finish()
    }
}

impl Drop for Verified {
    fn drop(&mut self) {
        unsafe { sys::prd_token_verified_free(self.raw.as_ptr()) }
    }
}

struct RevRaw {
    raw: NonNull<sys::prd_token_revocations>,
    _pool: Option<crate::pg::Pool>,
    // Every clock ever set stays alive: a check on another thread may still
    // be reading the one a later set_clock replaced.
    clocks: std::sync::Mutex<Vec<Clock>>,
}

unsafe impl Send for RevRaw {}
unsafe impl Sync for RevRaw {}

impl Drop for RevRaw {
    fn drop(&mut self) {
        unsafe { sys::prd_token_revocations_free(self.raw.as_ptr()) }
    }
}

/// A revocation list of jti values, to end PASETO tokens before they
/// expire: in this process only, or shared through PostgreSQL (every list
/// on the database refuses a jti revoked anywhere within its refresh
/// interval, and fails closed when its copy is staler than its bound).
/// Cheap to clone; thread-safe.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<RevRaw>,
}

impl Revocations {
    fn make(pool: Option<&crate::pg::Pool>) -> Result<Revocations> {
        let mut out = ptr::null_mut();
        let p = pool.map_or(ptr::null_mut(), |p| p.as_ptr());
        check(unsafe { sys::prd_token_revocations_new(p, &mut out) })?;
        Ok(Revocations {
            inner: Arc::new(RevRaw {
                raw: NonNull::new(out).expect("PRD_OK with NULL"),
                _pool: pool.cloned(),
                clocks: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    /// A list in this process only.
    pub fn local() -> Result<Revocations> {
        Revocations::make(None)
    }

    /// A list shared through PostgreSQL (the stores' schema).
    pub fn postgres(pool: &crate::pg::Pool) -> Result<Revocations> {
        Revocations::make(Some(pool))
    }

    fn ptr(&self) -> *mut sys::prd_token_revocations {
        self.inner.raw.as_ptr()
    }

    /// Merge others' revocations when the copy is older than `refresh`;
    /// fail closed past `max_stale` without a merge. Configure before use.
    pub fn set_refresh(&self, refresh: Duration, max_stale: Duration) -> Result<()> {
        check(unsafe { sys::prd_token_revocations_set_refresh(self.ptr(), ms_i64(refresh), ms_i64(max_stale)) })
    }

    /// The most live revocations held; one more is `Busy`, never dropped.
    pub fn set_max_entries(&self, max: usize) -> Result<()> {
        check(unsafe { sys::prd_token_revocations_set_max_entries(self.ptr(), max) })
    }

    /// The wall clock of expiries and the monotonic clock of staleness
    /// (kept alive by the list).
    pub fn set_clock(&self, clock: &Clock) -> Result<()> {
        // Kept before the C side can use it, and for as long as the list lives.
        self.inner.clocks.lock().unwrap_or_else(|e| e.into_inner()).push(clock.clone());
        check(unsafe { sys::prd_token_revocations_set_clock(self.ptr(), clock.as_ptr()) })
    }

    /// Revoke a jti until `expires_ns` (the token's exp, Unix ns).
    pub fn revoke_jti(&self, jti: &str, expires_ns: i64) -> Result<()> {
        let c = cstring(jti, "jti")?;
        check(unsafe { sys::prd_token_revoke_jti(self.ptr(), c.as_ptr(), expires_ns) })
    }

    /// Revoke a verified token by its jti and exp.
    pub fn revoke(&self, token: &Verified) -> Result<()> {
        check(unsafe { sys::prd_token_revoke_verified(self.ptr(), token.raw.as_ptr()) })
    }

    /// `Ok` when not revoked, `Err(BadToken)` when revoked, `Err(Db)` when
    /// the copy is staler than its bound.
    pub fn check(&self, jti: &str) -> Result<()> {
        let c = cstring(jti, "jti")?;
        check(unsafe { sys::prd_token_jti_check(self.ptr(), c.as_ptr()) })
    }

    /// Revocations held now.
    pub fn len(&self) -> usize {
        unsafe { sys::prd_token_revocations_count(self.ptr()) }
    }

    /// True when none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks refused because the copy was too stale.
    pub fn stale_refusals(&self) -> u64 {
        unsafe { sys::prd_token_revocations_stale_refusals(self.ptr()) }
    }
}

opaque_debug!(Claims, Verifier, Revocations);

impl Revocations {
    /// Entries and stale refusals in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_token_revocations_prometheus(self.ptr(), p, out, size)
        })
    }
}
