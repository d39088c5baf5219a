//! Opaque tokens on the server side: sessions with idle and absolute
//! timeouts, single-use tokens (password reset, email verification) tied
//! to a binding, and refresh-token families with reuse detection, in
//! memory or in PostgreSQL (shared by every instance of a service).
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{Sessions, TokenStore};
//! let sessions = Sessions::new(&TokenStore::memory(100_000)?, "sess")?;
//! let token = sessions.create("user-42")?;
//! assert_eq!(sessions.validate(&token)?, "user-42");
//! # Ok(()) }
//! ```
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{check, Result};
use crate::pg::Pool;
use crate::sys;
use crate::util::{buf_to_string, cstring, ms_i64};

struct StoreRaw {
    raw: NonNull<sys::prd_token_store>,
    _pool: Option<Pool>,
}

// The header: a store is thread-safe.
unsafe impl Send for StoreRaw {}
unsafe impl Sync for StoreRaw {}

impl Drop for StoreRaw {
    fn drop(&mut self) {
        unsafe { sys::prd_token_store_free(self.raw.as_ptr()) }
    }
}

/// Where session, single-use and refresh records live. Cheap to clone;
/// the managers made on it keep it alive, and it keeps its pool alive.
#[derive(Clone)]
pub struct TokenStore {
    inner: Arc<StoreRaw>,
}

impl TokenStore {
    /// In memory, at most `max_entries` records (1 to 10^7): full with no
    /// expired record to reclaim, creating fails with `Busy`.
    pub fn memory(max_entries: usize) -> Result<TokenStore> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_store_new_memory(max_entries, &mut out) })?;
        Ok(TokenStore { inner: Arc::new(StoreRaw { raw: NonNull::new(out).expect("NULL store"), _pool: None }) })
    }

    /// In PostgreSQL (apply [`Pool::migrate_stores`] first): every instance
    /// sees what another made, rotated or revoked, and records survive
    /// restarts. Each operation is one statement.
    pub fn postgres(pool: &Pool) -> Result<TokenStore> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_store_new_pg(pool.as_ptr(), &mut out) })?;
        Ok(TokenStore {
            inner: Arc::new(StoreRaw { raw: NonNull::new(out).expect("NULL store"), _pool: Some(pool.clone()) }),
        })
    }

    /// Records held now (expired ones not yet reclaimed included).
    pub fn len(&self) -> usize {
        unsafe { sys::prd_token_store_count(self.inner.raw.as_ptr()) }
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kind of a listed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A session.
    Session,
    /// A refresh-token family.
    Refresh,
}

/// One of a subject's live sessions or refresh families ("your devices").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// 32 hex digits naming it (never the token); pass to [`Sessions::revoke_id`].
    pub id: String,
    /// Session or refresh family.
    pub kind: SessionKind,
    /// Created, Unix nanoseconds.
    pub created_ns: i64,
    /// Last used, Unix nanoseconds.
    pub last_used_ns: i64,
    /// When it ends if unused, Unix nanoseconds.
    pub expires_ns: i64,
}

/// The outcome of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Rotated: store the new token; the one presented is spent.
    Rotated {
        /// The family's new token.
        token: String,
        /// Whose family it is.
        subject: String,
    },
    /// A token already rotated was presented again: two parties hold the
    /// family's tokens, and the whole family is now revoked. Tell its owner.
    Reused {
        /// Whose family it was.
        subject: String,
    },
}

/// Sessions, single-use tokens and refresh families on a store. Thread-safe
/// once configured (`&mut self` setters first); keeps its store and clock
/// alive.
pub struct Sessions {
    raw: NonNull<sys::prd_token_sessions>,
    _store: TokenStore,
    _clock: Option<Clock>,
}

unsafe impl Send for Sessions {}
unsafe impl Sync for Sessions {}

const TOKEN: usize = sys::PRD_OPAQUE_TOKEN_SIZE;
const SUBJECT: usize = sys::PRD_SESSION_SUBJECT_SIZE;

impl Sessions {
    /// Managers of tokens `<prefix>_...` (prefix: 1-16 of `[a-z0-9]`).
    /// Defaults: 30 minutes idle, 8 hours absolute.
    pub fn new(store: &TokenStore, prefix: &str) -> Result<Sessions> {
        let p = cstring(prefix, "prefix")?;
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_token_sessions_new(store.inner.raw.as_ptr(), p.as_ptr(), &mut out) })?;
        Ok(Sessions { raw: NonNull::new(out).expect("NULL sessions"), _store: store.clone(), _clock: None })
    }

    fn p(&self) -> *mut sys::prd_token_sessions {
        self.raw.as_ptr()
    }

    /// The idle timeout (sliding) and the absolute lifetime of sessions.
    pub fn set_timeouts(&mut self, idle: Duration, absolute: Duration) -> Result<&mut Sessions> {
        check(unsafe { sys::prd_token_sessions_set_timeouts(self.p(), ms_i64(idle), ms_i64(absolute)) })?;
        Ok(self)
    }

    /// The clock (kept alive by the manager).
    pub fn set_clock(&mut self, clock: &Clock) -> Result<&mut Sessions> {
        check(unsafe { sys::prd_token_sessions_set_clock(self.p(), clock.as_ptr()) })?;
        self._clock = Some(clock.clone());
        Ok(self)
    }

    /// Refresh tokens: each token's lifetime, the family's, and the grace
    /// window for a retried rotation (0 to 60 s).
    pub fn set_refresh_policy(
        &mut self,
        token_ttl: Duration,
        family: Duration,
        grace: Duration,
    ) -> Result<&mut Sessions> {
        check(unsafe {
            sys::prd_token_refresh_set_policy(self.p(), ms_i64(token_ttl), ms_i64(family), ms_i64(grace))
        })?;
        Ok(self)
    }

    /// Create a session for `subject` (1-256 bytes); its token.
    pub fn create(&self, subject: &str) -> Result<String> {
        let s = cstring(subject, "subject")?;
        let mut out = [0u8; TOKEN];
        check(unsafe { sys::prd_token_session_create(self.p(), s.as_ptr(), out.as_mut_ptr().cast(), TOKEN) })?;
        Ok(buf_to_string(&out))
    }

    /// The subject of a live session, sliding its idle timeout: `Err` with
    /// `Expired` (timed out; deleted) or `BadToken` (unknown or revoked).
    pub fn validate(&self, token: &str) -> Result<String> {
        let mut subject = [0u8; SUBJECT];
        check(unsafe {
            sys::prd_token_session_validate(
                self.p(),
                token.as_ptr().cast(),
                token.len(),
                subject.as_mut_ptr().cast(),
                SUBJECT,
            )
        })?;
        Ok(buf_to_string(&subject))
    }

    /// Replace a session's token (after login or a privilege change); the
    /// old one stops working at once.
    pub fn rotate(&self, token: &str) -> Result<String> {
        let mut out = [0u8; TOKEN];
        check(unsafe {
            sys::prd_token_session_rotate(self.p(), token.as_ptr().cast(), token.len(), out.as_mut_ptr().cast(), TOKEN)
        })?;
        Ok(buf_to_string(&out))
    }

    /// End one session (logout); `BadToken` when unknown.
    pub fn revoke(&self, token: &str) -> Result<()> {
        check(unsafe { sys::prd_token_session_revoke(self.p(), token.as_ptr().cast(), token.len()) })
    }

    /// End every session, refresh family and single-use token of a subject;
    /// how many.
    pub fn revoke_subject(&self, subject: &str) -> Result<usize> {
        let s = cstring(subject, "subject")?;
        let mut n = 0usize;
        check(unsafe { sys::prd_token_session_revoke_subject(self.p(), s.as_ptr(), &mut n) })?;
        Ok(n)
    }

    /// A subject's live sessions and refresh families, oldest first (at
    /// most 1024).
    pub fn list(&self, subject: &str) -> Result<Vec<SessionInfo>> {
        let s = cstring(subject, "subject")?;
        let mut count = 0usize;
        check(unsafe { sys::prd_token_session_list(self.p(), s.as_ptr(), ptr::null_mut(), 0, &mut count) })?;
        let cap = count.min(sys::PRD_SESSION_LIST_MAX);
        let mut out = vec![sys::prd_session_info::INIT; cap.max(1)];
        check(unsafe { sys::prd_token_session_list(self.p(), s.as_ptr(), out.as_mut_ptr(), cap, &mut count) })?;
        out.truncate(count.min(cap));
        Ok(out
            .iter()
            .map(|i| SessionInfo {
                id: buf_to_string(&i.id.iter().map(|&c| c as u8).collect::<Vec<u8>>()),
                kind: if i.kind == sys::PRD_SESSION_KIND_REFRESH { SessionKind::Refresh } else { SessionKind::Session },
                created_ns: i.created_ns,
                last_used_ns: i.last_used_ns,
                expires_ns: i.expires_ns,
            })
            .collect())
    }

    /// End the subject's session or family with this id: `NotFound` when
    /// the subject has none by that id.
    pub fn revoke_id(&self, subject: &str, id: &str) -> Result<()> {
        let (s, i) = (cstring(subject, "subject")?, cstring(id, "id")?);
        check(unsafe { sys::prd_token_session_revoke_id(self.p(), s.as_ptr(), i.as_ptr()) })
    }

    /// A single-use token for `purpose` (1-32 bytes), living `ttl` (1 s to
    /// 7 days), tied to `binding` (the user's current password hash, say:
    /// it dies when that changes; empty for none).
    pub fn issue_single_use(&self, purpose: &str, subject: &str, ttl: Duration, binding: &[u8]) -> Result<String> {
        let (p, s) = (cstring(purpose, "purpose")?, cstring(subject, "subject")?);
        let mut out = [0u8; TOKEN];
        let bp = if binding.is_empty() { ptr::null() } else { binding.as_ptr().cast() };
        check(unsafe {
            sys::prd_token_single_use_issue(
                self.p(),
                p.as_ptr(),
                s.as_ptr(),
                ms_i64(ttl),
                bp,
                binding.len(),
                out.as_mut_ptr().cast(),
                TOKEN,
            )
        })?;
        Ok(buf_to_string(&out))
    }

    /// Consume a single-use token: its subject once, then `BadToken`
    /// forever (also for another purpose or a changed binding); `Expired`
    /// after its ttl.
    pub fn consume_single_use(&self, purpose: &str, token: &str, binding: &[u8]) -> Result<String> {
        let p = cstring(purpose, "purpose")?;
        let mut subject = [0u8; SUBJECT];
        let bp = if binding.is_empty() { ptr::null() } else { binding.as_ptr().cast() };
        check(unsafe {
            sys::prd_token_single_use_consume(
                self.p(),
                p.as_ptr(),
                token.as_ptr().cast(),
                token.len(),
                bp,
                binding.len(),
                subject.as_mut_ptr().cast(),
                SUBJECT,
            )
        })?;
        Ok(buf_to_string(&subject))
    }

    /// Start a refresh family for `subject`; its first token.
    pub fn issue_refresh(&self, subject: &str) -> Result<String> {
        let s = cstring(subject, "subject")?;
        let mut out = [0u8; TOKEN];
        check(unsafe { sys::prd_token_refresh_issue(self.p(), s.as_ptr(), out.as_mut_ptr().cast(), TOKEN) })?;
        Ok(buf_to_string(&out))
    }

    /// Present a refresh token: [`Refresh::Rotated`] with the new token,
    /// or [`Refresh::Reused`] (the family is revoked); `Err` with
    /// `BadToken` (unknown, malformed, a revoked family) or `Expired`.
    pub fn rotate_refresh(&self, token: &str) -> Result<Refresh> {
        let mut out = [0u8; TOKEN];
        let mut subject = [0u8; SUBJECT];
        let mut reused: c_int = 0;
        let st = unsafe {
            sys::prd_token_refresh_rotate(
                self.p(),
                token.as_ptr().cast(),
                token.len(),
                out.as_mut_ptr().cast(),
                TOKEN,
                subject.as_mut_ptr().cast(),
                SUBJECT,
                &mut reused,
            )
        };
        if st == sys::PRD_EBADTOKEN && reused != 0 {
            return Ok(Refresh::Reused { subject: buf_to_string(&subject) });
        }
        check(st)?;
        Ok(Refresh::Rotated { token: buf_to_string(&out), subject: buf_to_string(&subject) })
    }

    /// End the family of this refresh token (logout on that device).
    pub fn revoke_refresh(&self, token: &str) -> Result<()> {
        check(unsafe { sys::prd_token_refresh_revoke(self.p(), token.as_ptr().cast(), token.len()) })
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        unsafe { sys::prd_token_sessions_free(self.raw.as_ptr()) }
    }
}

/// A new opaque token `<prefix>_<base64url>` (256 random bits and a
/// checksum) and the digest to store in its place.
pub fn opaque_token(prefix: &str) -> Result<(String, [u8; 32])> {
    let p = cstring(prefix, "prefix")?;
    let mut out = [0u8; TOKEN];
    let mut digest = [0u8; sys::PRD_OPAQUE_DIGEST_BYTES];
    check(unsafe { sys::prd_token_opaque_new(p.as_ptr(), out.as_mut_ptr().cast(), TOKEN, digest.as_mut_ptr()) })?;
    Ok((buf_to_string(&out), digest))
}

/// The digest of an opaque token of this prefix, after checking its form
/// and checksum (`BadToken` otherwise): look it up by this.
pub fn opaque_digest(prefix: &str, token: &str) -> Result<[u8; 32]> {
    let p = cstring(prefix, "prefix")?;
    let mut digest = [0u8; sys::PRD_OPAQUE_DIGEST_BYTES];
    check(unsafe {
        sys::prd_token_opaque_digest(p.as_ptr(), token.as_ptr().cast(), token.len(), digest.as_mut_ptr())
    })?;
    Ok(digest)
}

opaque_debug!(TokenStore, Sessions);
