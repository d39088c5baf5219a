//! The login guard (the OWASP pattern): a per-source attempt limit, a
//! per-account failure limit that familiar sources are exempt from, and a
//! per-(account, source) backoff, counted atomically so no number of
//! concurrent guesses gets past them; in memory or in PostgreSQL.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{Login, LoginGuard, PasswordPolicy};
//! let guard = LoginGuard::new(100_000)?;
//! let policy = PasswordPolicy::new()?;
//! # let stored = String::new();
//! match guard.check(b"alice", b"203.0.113.7")? {
//!     Login::Denied(d) => { /* 429, Retry-After from d */ }
//!     Login::Allowed(attempt) => match policy.verify(&stored, "pw") {
//!         Ok(()) => attempt.success()?,
//!         Err(e) if e.status() == prodready::Status::Mismatch => attempt.failure()?,
//!         Err(e) => { attempt.abandon()?; return Err(e) }
//!     },
//! }
//! # Ok(()) }
//! ```
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{check, Result};
use crate::log::Logger;
use crate::pg::Pool;
use crate::ratelimit::{decided, Decision};
use crate::sys;
use crate::util::{from_c, ms_i64, text_out};

/// Which limit a lockout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockoutKind {
    /// The source made too many attempts.
    Source,
    /// The account had too many failures from unfamiliar sources.
    Account,
    /// The (account, source) pair is backing off.
    Backoff,
}

/// A lockout, as the guard reports it to an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Which limit.
    pub kind: LockoutKind,
    /// The account as given (its first 128 bytes).
    pub account: Vec<u8>,
    /// 16 hex digits of a keyed digest of the source (never the source).
    pub source_fingerprint: String,
    /// How long it lasts from now.
    pub duration: Duration,
}

/// The guard's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginCounter {
    /// Source lockouts.
    LockoutSource,
    /// Account lockouts.
    LockoutAccount,
    /// Backoff lockouts.
    LockoutBackoff,
    /// Attempts refused with `Busy` (a table full of live state).
    Busy,
    /// Attempts allowed.
    Allowed,
    /// Attempts denied.
    Denied,
    /// Calls the database failed.
    DbFailed,
}

type Callback = Box<dyn Fn(Lockout) + Send + Sync + 'static>;

/// The guard. Configure it (`&mut self`), then share it: checks are
/// thread-safe. Keeps its clock, logger, pool and callback alive.
pub struct LoginGuard {
    raw: NonNull<sys::prd_login_guard>,
    callback: Option<Box<Callback>>,
    _clock: Option<Clock>,
    _logger: Option<Logger>,
    _pool: Option<Pool>,
}

unsafe impl Send for LoginGuard {}
unsafe impl Sync for LoginGuard {}

/// The outcome of [`LoginGuard::check`].
#[must_use = "an allowed attempt must be settled, a denied one answered"]
pub enum Login<'g> {
    /// Verify the password, then settle the attempt.
    Allowed(Attempt<'g>),
    /// Refused now: nothing counted; the decision says which rule (0
    /// source, 1 account, 2 backoff) and the wait.
    Denied(Decision),
}

unsafe extern "C" fn lockout_trampoline(
    user_data: *mut c_void,
    kind: c_int,
    account: *const c_void,
    account_len: usize,
    source_fp: *const c_char,
    for_ms: i64,
) {
    let cb = &*(user_data as *const Callback);
    let l = Lockout {
        kind: match kind {
            sys::PRD_LOGIN_LOCKOUT_SOURCE => LockoutKind::Source,
            sys::PRD_LOGIN_LOCKOUT_ACCOUNT => LockoutKind::Account,
            _ => LockoutKind::Backoff,
        },
        account: if account.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(account.cast::<u8>(), account_len).to_vec()
        },
        source_fingerprint: from_c(source_fp).unwrap_or_default(),
        duration: Duration::from_millis(u64::try_from(for_ms).unwrap_or(0)),
    };
    // A panic must not unwind into C: it is caught and the report dropped.
    let _ = catch_unwind(AssertUnwindSafe(|| cb(l)));
}

impl LoginGuard {
    /// A guard whose tables hold at most `max_keys` each (16 to 2^24).
    /// Defaults: 100 attempts per source per hour, 10 failures per account
    /// per 15 minutes, backoff after 3 failures from 1 s doubling to 15 min.
    pub fn new(max_keys: usize) -> Result<LoginGuard> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_login_guard_new(max_keys, &mut out) })?;
        Ok(LoginGuard {
            raw: NonNull::new(out).expect("NULL guard"),
            callback: None,
            _clock: None,
            _logger: None,
            _pool: None,
        })
    }

    fn p(&self) -> *mut sys::prd_login_guard {
        self.raw.as_ptr()
    }

    /// The limits (the guard's state starts afresh).
    pub fn set_limits(
        &mut self,
        source_attempts: u64,
        source_window: Duration,
        account_failures: u64,
        account_window: Duration,
    ) -> Result<&mut LoginGuard> {
        check(unsafe {
            sys::prd_login_guard_set_limits(
                self.p(),
                source_attempts,
                ms_i64(source_window),
                account_failures,
                ms_i64(account_window),
            )
        })?;
        Ok(self)
    }

    /// The backoff: `free_failures` immediate attempts, then `base`
    /// doubling per failure up to `cap`.
    pub fn set_backoff(&mut self, free_failures: u32, base: Duration, cap: Duration) -> Result<&mut LoginGuard> {
        check(unsafe { sys::prd_login_guard_set_backoff(self.p(), free_failures, ms_i64(base), ms_i64(cap)) })?;
        Ok(self)
    }

    /// The monotonic clock (a manual one in tests).
    pub fn set_clock(&mut self, clock: &Clock) -> Result<&mut LoginGuard> {
        check(unsafe { sys::prd_login_guard_set_clock(self.p(), clock.as_ptr()) })?;
        self._clock = Some(clock.clone());
        Ok(self)
    }

    /// Call `f` once per lockout, on the thread whose attempt caused it
    /// (it must not use this guard).
    pub fn on_lockout(&mut self, f: impl Fn(Lockout) + Send + Sync + 'static) -> Result<&mut LoginGuard> {
        let cb: Box<Callback> = Box::new(Box::new(f));
        let ud = &*cb as *const Callback as *mut c_void;
        check(unsafe { sys::prd_login_guard_set_lockout_callback(self.p(), Some(lockout_trampoline), ud) })?;
        self.callback = Some(cb); // the old one (if any) is dropped after the C side moved on
        Ok(self)
    }

    /// Report lockouts as warn lines on this logger too.
    pub fn set_logger(&mut self, logger: &Logger) -> Result<&mut LoginGuard> {
        check(unsafe { sys::prd_login_guard_set_logger(self.p(), logger.as_ptr()) })?;
        self._logger = Some(logger.clone());
        Ok(self)
    }

    /// Keep the state in PostgreSQL, so the limits hold across every
    /// instance; fails closed (`Err(Db)`) while the database fails.
    pub fn set_postgres(&mut self, pool: &Pool) -> Result<&mut LoginGuard> {
        check(unsafe { sys::prd_login_guard_set_pg(self.p(), pool.as_ptr()) })?;
        self._pool = Some(pool.clone());
        Ok(self)
    }

    /// May this source try this account now? An allowed attempt is counted
    /// as a failure until [`Attempt::success`] says otherwise.
    pub fn check(&self, account: &[u8], source: &[u8]) -> Result<Login<'_>> {
        let mut att = Box::new(sys::prd_login_attempt { opaque_: [0; 32] });
        let mut d = sys::prd_rl_decision::INIT;
        let st = unsafe {
            sys::prd_login_guard_check(
                self.p(),
                account.as_ptr().cast(),
                account.len(),
                source.as_ptr().cast(),
                source.len(),
                &mut *att,
                &mut d,
            )
        };
        let decision = decided(st, d)?;
        Ok(if decision.allowed {
            Login::Allowed(Attempt { guard: self, att, decision, settled: false })
        } else {
            Login::Denied(decision)
        })
    }

    /// Lift an account's lockout (after a reset or a second factor).
    pub fn unlock(&self, account: &[u8]) -> Result<()> {
        check(unsafe { sys::prd_login_guard_unlock(self.p(), account.as_ptr().cast(), account.len()) })
    }

    /// A counter's value.
    pub fn count(&self, which: LoginCounter) -> u64 {
        let c = match which {
            LoginCounter::LockoutSource => sys::PRD_LOGIN_COUNT_LOCKOUT_SOURCE,
            LoginCounter::LockoutAccount => sys::PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT,
            LoginCounter::LockoutBackoff => sys::PRD_LOGIN_COUNT_LOCKOUT_BACKOFF,
            LoginCounter::Busy => sys::PRD_LOGIN_COUNT_BUSY,
            LoginCounter::Allowed => sys::PRD_LOGIN_COUNT_ALLOWED,
            LoginCounter::Denied => sys::PRD_LOGIN_COUNT_DENIED,
            LoginCounter::DbFailed => sys::PRD_LOGIN_COUNT_DB_FAILED,
        };
        unsafe { sys::prd_login_guard_count(self.p(), c) }
    }

    /// The `RateLimit-Policy` value (source and account rules).
    pub fn policy_header(&self) -> String {
        text_out(|out, size| unsafe { sys::prd_login_guard_policy_header(self.p(), out, size) })
    }

    /// The `RateLimit` value for a decision of this guard.
    pub fn ratelimit_header(&self, d: &Decision) -> String {
        text_out(|out, size| unsafe { sys::prd_login_guard_ratelimit_header(self.p(), d.raw(), out, size) })
    }

    /// `RateLimit-Policy`, `RateLimit` and, when denied, `Retry-After`.
    pub fn headers(&self, d: &Decision) -> Vec<(&'static str, String)> {
        crate::ratelimit::response_headers(self.policy_header(), self.ratelimit_header(d), d)
    }
}

impl Drop for LoginGuard {
    fn drop(&mut self) {
        unsafe { sys::prd_login_guard_free(self.raw.as_ptr()) }
    }
}

/// An allowed attempt, between the check and its outcome. Dropped
/// unsettled it counts as a failure (the safe side), or is abandoned when
/// the thread is panicking.
pub struct Attempt<'g> {
    guard: &'g LoginGuard,
    att: Box<sys::prd_login_attempt>,
    decision: Decision,
    settled: bool,
}

impl Attempt<'_> {
    /// The check's decision (for the RateLimit header of the answer).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The password was right: the failure is refunded, the backoff ends,
    /// and the source becomes familiar to the account for 30 days.
    pub fn success(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_login_guard_success(self.guard.p(), &mut *self.att) })
    }

    /// The password was wrong: the counts stay.
    pub fn failure(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_login_guard_failure(self.guard.p(), &mut *self.att) })
    }

    /// The attempt could not be judged (the password store or the hashing
    /// budget failed): the failure is refunded, the source gains nothing.
    pub fn abandon(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_login_guard_abandon(self.guard.p(), &mut *self.att) })
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let g = self.guard.p();
            let _ = unsafe {
                if std::thread::panicking() {
                    sys::prd_login_guard_abandon(g, &mut *self.att)
                } else {
                    sys::prd_login_guard_failure(g, &mut *self.att)
                }
            };
        }
    }
}

opaque_debug!(LoginGuard, Attempt<'_>, Login<'_>);

impl LoginGuard {
    /// Lockouts, attempts and failures in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_login_guard_prometheus(self.p(), p, out, size)
        })
    }
}
