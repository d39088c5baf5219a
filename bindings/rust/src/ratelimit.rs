//! Sliding-window rate limits: rules (exact, counter, GCRA) checked
//! together and atomically, reservations, the IETF RateLimit headers and
//! the RFC 9457 body, in process, in shared memory for one host's workers,
//! or in PostgreSQL for every instance of a service.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{Algorithm, Limiter, LimiterConfig};
//! use std::time::Duration;
//! let mut cfg = LimiterConfig::new()?;
//! cfg.rule("per-ip", 100, Duration::from_secs(60), Algorithm::Exact)?;
//! let limiter = Limiter::new(&cfg)?;
//! let d = limiter.check(&["203.0.113.7"])?;
//! if !d.allowed { /* 429 with limiter.headers(&d) */ }
//! # Ok(()) }
//! ```
//!
//! A check's keys are one per rule, in the order the rules were added.
//! Denial is not an error: the [`Decision`] says `allowed: false` and
//! carries the wait; errors are bad input, `Busy` (a table full of live
//! state: fail closed) and, in PostgreSQL, database failures.
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{check, check_invalid, Error, Result, Status};
use crate::pg::Pool;
use crate::sys;
use crate::util::{cstring, ms_i64, text_out};

/// How a rule counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// An exact sliding window (a log of admissions): at most N in any
    /// window. Limits up to 2^20.
    Exact,
    /// Two fixed windows weighted (an approximation; 16 bytes a key).
    Counter,
    /// The generic cell-rate algorithm (a leaky bucket with a burst).
    Gcra,
}

/// What a full rule does with a new key (never evicting live state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Reuse the slot of a key whose state has decayed (default).
    EvictDecayed,
    /// Refuse new keys.
    DenyNew,
}

/// The outcome of a check.
#[must_use = "a denied decision must be answered (429), not ignored"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Admitted.
    pub allowed: bool,
    /// The deciding rule (the one that denied with the longest wait, or the
    /// one with the fewest units left).
    pub rule: usize,
    /// That rule's limit.
    pub limit: u64,
    /// Units that rule would still admit now.
    pub remaining: u64,
    /// Until that rule's window holds nothing of this key.
    pub reset: Duration,
    /// When denied: until the same request would be admitted; `None` when
    /// it never can be (the cost is over the limit). Zero when allowed.
    pub retry_after: Option<Duration>,
    raw: sys::prd_rl_decision,
}

impl Decision {
    pub(crate) fn from_raw(d: sys::prd_rl_decision) -> Decision {
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        Decision {
            allowed: d.allowed != 0,
            rule: usize::try_from(d.rule).unwrap_or(0),
            limit: d.limit,
            remaining: d.remaining,
            reset: ms(d.reset_ms),
            retry_after: if d.retry_after_ms < 0 { None } else { Some(ms(d.retry_after_ms)) },
            raw: d,
        }
    }

    pub(crate) fn raw(&self) -> &sys::prd_rl_decision {
        &self.raw
    }

    /// The `Retry-After` value (seconds, rounded up, at least 1).
    pub fn retry_after_header(&self) -> String {
        text_out(|out, size| unsafe { sys::prd_limiter_retry_after_header(&self.raw, out, size) })
    }
}

/// The headers of an answer: the policy, the decision's RateLimit value
/// and, for a denial, Retry-After.
pub(crate) fn response_headers(policy: String, ratelimit: String, d: &Decision) -> Vec<(&'static str, String)> {
    let mut h = vec![("RateLimit-Policy", policy), ("RateLimit", ratelimit)];
    if !d.allowed {
        h.push(("Retry-After", d.retry_after_header()));
    }
    h
}

/// Keys as the C array of (pointer, length), without allocating.
pub(crate) struct Keys {
    keys: [sys::prd_rl_key; sys::PRD_RL_MAX_RULES],
    n: usize,
}

impl Keys {
    pub(crate) fn new<K: AsRef<[u8]>>(keys: &[K]) -> Result<Keys> {
        if keys.len() > sys::PRD_RL_MAX_RULES {
            return Err(Error::with_detail(Status::Invalid, "more keys than a limiter has rules"));
        }
        let mut out =
            Keys { keys: [sys::prd_rl_key { data: ptr::null(), len: 0 }; sys::PRD_RL_MAX_RULES], n: keys.len() };
        for (slot, k) in out.keys.iter_mut().zip(keys) {
            let b = k.as_ref();
            *slot = sys::prd_rl_key { data: b.as_ptr().cast(), len: b.len() };
        }
        Ok(out)
    }

    pub(crate) fn ptr(&self) -> *const sys::prd_rl_key {
        self.keys.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }
}

/// `Ok` for admitted and denied alike; errors otherwise.
pub(crate) fn decided(st: c_int, d: sys::prd_rl_decision) -> Result<Decision> {
    if st == sys::PRD_ELIMITED {
        return Ok(Decision::from_raw(d));
    }
    check(st)?;
    Ok(Decision::from_raw(d))
}

/// The rules of a limiter. A limiter copies them; the clock is kept alive
/// by the limiters made from it.
pub struct LimiterConfig {
    raw: NonNull<sys::prd_limiter_config>,
    clock: Option<Clock>,
}

unsafe impl Send for LimiterConfig {}

impl LimiterConfig {
    /// No rules yet.
    pub fn new() -> Result<LimiterConfig> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_limiter_config_new(&mut out) })?;
        Ok(LimiterConfig { raw: NonNull::new(out).expect("NULL config"), clock: None })
    }

    fn set(&mut self, st: c_int, what: &str) -> Result<&mut LimiterConfig> {
        check_invalid(st, what)?;
        Ok(self)
    }

    /// Add a rule: at most `limit` units per `window` (1 ms to 30 days).
    /// `name`: 1-32 of `[A-Za-z0-9_-]`, used in the headers. Up to 8 rules.
    pub fn rule(
        &mut self,
        name: &str,
        limit: u64,
        window: Duration,
        algorithm: Algorithm,
    ) -> Result<&mut LimiterConfig> {
        let n = cstring(name, "rule name")?;
        let a = match algorithm {
            Algorithm::Exact => sys::PRD_RL_EXACT,
            Algorithm::Counter => sys::PRD_RL_COUNTER,
            Algorithm::Gcra => sys::PRD_RL_GCRA,
        };
        let st = unsafe { sys::prd_limiter_config_add_rule(self.raw.as_ptr(), n.as_ptr(), limit, ms_i64(window), a) };
        self.set(st, "rule: a name of 1-32 [A-Za-z0-9_-], limit 1..2^48 (exact: 2^20), window 1 ms..30 days")
    }

    /// A GCRA rule with its own burst.
    pub fn gcra(&mut self, name: &str, limit: u64, window: Duration, burst: u64) -> Result<&mut LimiterConfig> {
        let n = cstring(name, "rule name")?;
        let st =
            unsafe { sys::prd_limiter_config_add_gcra(self.raw.as_ptr(), n.as_ptr(), limit, ms_i64(window), burst) };
        self.set(st, "gcra rule out of range")
    }

    /// Keys tracked per rule (16 to 2^26; default 100000).
    pub fn max_keys(&mut self, n: usize) -> Result<&mut LimiterConfig> {
        let st = unsafe { sys::prd_limiter_config_set_max_keys(self.raw.as_ptr(), n) };
        self.set(st, "max keys: 16..2^26")
    }

    /// What a full rule does with a new key.
    pub fn full_policy(&mut self, policy: FullPolicy) -> Result<&mut LimiterConfig> {
        let p = match policy {
            FullPolicy::EvictDecayed => sys::PRD_RL_EVICT_DECAYED,
            FullPolicy::DenyNew => sys::PRD_RL_DENY_NEW,
        };
        let st = unsafe { sys::prd_limiter_config_set_full_policy(self.raw.as_ptr(), p) };
        self.set(st, "full policy")
    }

    /// The monotonic clock of checks (a manual clock in tests).
    pub fn clock(&mut self, clock: &Clock) -> Result<&mut LimiterConfig> {
        let st = unsafe { sys::prd_limiter_config_set_clock(self.raw.as_ptr(), clock.as_ptr()) };
        self.set(st, "clock")?;
        self.clock = Some(clock.clone());
        Ok(self)
    }

    /// Permissions (of 0o777, owner rw required) and owner of a shared
    /// memory segment this config creates.
    pub fn shm_access(&mut self, mode: u32, uid: Option<u32>, gid: Option<u32>) -> Result<&mut LimiterConfig> {
        let id = |v: Option<u32>| v.map_or(-1, i64::from);
        let st = unsafe { sys::prd_limiter_config_set_shm_access(self.raw.as_ptr(), mode, id(uid), id(gid)) };
        self.set(st, "shared memory mode: of 0o777 with owner read and write")
    }

    pub(crate) fn as_ptr(&self) -> *const sys::prd_limiter_config {
        self.raw.as_ptr()
    }
}

impl Drop for LimiterConfig {
    fn drop(&mut self) {
        unsafe { sys::prd_limiter_config_free(self.raw.as_ptr()) }
    }
}

/// A limiter, in process or in a shared-memory segment. Thread-safe.
pub struct Limiter {
    raw: NonNull<sys::prd_limiter>,
    _clock: Option<Clock>,
}

unsafe impl Send for Limiter {}
unsafe impl Sync for Limiter {}

impl Limiter {
    /// An in-process limiter with a copy of the config's rules.
    pub fn new(cfg: &LimiterConfig) -> Result<Limiter> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_limiter_new(cfg.as_ptr(), &mut out) })?;
        Ok(Limiter { raw: NonNull::new(out).expect("NULL limiter"), _clock: cfg.clock.clone() })
    }

    /// A limiter in the POSIX shared-memory segment `name` ("/something")
    /// for the worker processes of one host: `create` makes (or replaces)
    /// it, else attaches to one made with the same rules.
    pub fn shared_memory(cfg: &LimiterConfig, name: &str, create: bool) -> Result<Limiter> {
        let n = cstring(name, "segment name")?;
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_limiter_new_shm(cfg.as_ptr(), n.as_ptr(), create as c_int, &mut out) })?;
        Ok(Limiter { raw: NonNull::new(out).expect("NULL limiter"), _clock: cfg.clock.clone() })
    }

    /// Remove a shared-memory segment's name.
    pub fn unlink_shared_memory(name: &str) -> Result<()> {
        let n = cstring(name, "segment name")?;
        check(unsafe { sys::prd_limiter_shm_unlink(n.as_ptr()) })
    }

    fn p(&self) -> *mut sys::prd_limiter {
        self.raw.as_ptr()
    }

    /// Check one unit for these keys (one per rule) and record it when
    /// every rule admits it.
    pub fn check<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Decision> {
        self.check_cost(keys, 1)
    }

    /// Check `cost` units.
    pub fn check_cost<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_limiter_check(self.p(), k.ptr(), k.len(), cost, &mut d) }, d)
    }

    /// Check at an explicit monotonic time in milliseconds (replaying logs).
    pub fn check_at<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64, now_ms: i64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_limiter_check_at(self.p(), k.ptr(), k.len(), cost, now_ms, &mut d) }, d)
    }

    /// Would this be admitted now? Records nothing.
    pub fn peek<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_limiter_peek(self.p(), k.ptr(), k.len(), cost, &mut d) }, d)
    }

    /// [`peek`](Self::peek) at an explicit monotonic time.
    pub fn peek_at<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64, now_ms: i64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_limiter_peek_at(self.p(), k.ptr(), k.len(), cost, now_ms, &mut d) }, d)
    }

    /// Reserve `cost` units as a check would; when admitted, the
    /// [`Reservation`] is settled by [`commit`](Reservation::commit) or
    /// [`refund`](Reservation::refund) (dropped unsettled it stays counted,
    /// or is refunded when the thread is panicking).
    pub fn reserve<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<(Decision, Option<Reservation<'_>>)> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        let mut resv = Box::new(sys::prd_rl_reservation { opaque_: [0; 4 + 3 * sys::PRD_RL_MAX_RULES] });
        let st = unsafe { sys::prd_limiter_reserve(self.p(), k.ptr(), k.len(), cost, &mut d, &mut *resv) };
        let decision = decided(st, d)?;
        let r = if decision.allowed { Some(Reservation { limiter: self, resv, settled: false }) } else { None };
        Ok((decision, r))
    }

    /// Keys tracked by a rule now.
    pub fn key_count(&self, rule: usize) -> usize {
        unsafe { sys::prd_limiter_key_count(self.p(), rule as c_int) }
    }

    /// New keys a rule refused because its table was full of live state.
    pub fn refused(&self, rule: usize) -> u64 {
        unsafe { sys::prd_limiter_refused(self.p(), rule as c_int) }
    }

    /// Bytes of memory per key of a rule.
    pub fn bytes_per_key(&self, rule: usize) -> usize {
        unsafe { sys::prd_limiter_bytes_per_key(self.p(), rule as c_int) }
    }

    /// The `RateLimit-Policy` value (every rule).
    pub fn policy_header(&self) -> String {
        text_out(|out, size| unsafe { sys::prd_limiter_policy_header(self.p(), out, size) })
    }

    /// The `RateLimit` value for a decision.
    pub fn ratelimit_header(&self, d: &Decision) -> String {
        text_out(|out, size| unsafe { sys::prd_limiter_ratelimit_header(self.p(), d.raw(), out, size) })
    }

    /// The `RateLimit` value with a `pk` parameter: a fingerprint of the
    /// partition key you choose (at most 64 bytes), never the key itself.
    pub fn ratelimit_header_pk(&self, d: &Decision, pk: &[u8]) -> String {
        text_out(|out, size| unsafe {
            sys::prd_limiter_ratelimit_header_pk(self.p(), d.raw(), pk.as_ptr().cast(), pk.len(), out, size)
        })
    }

    /// The RFC 9457 problem body of a denial (`None` when allowed).
    pub fn problem_json(&self, d: &Decision) -> Option<String> {
        let s = text_out(|out, size| unsafe { sys::prd_limiter_problem_json(self.p(), d.raw(), out, size) });
        if s.is_empty() {
            None
        } else {
            Some(s)
        }
    }

    /// The response headers for a decision: `RateLimit-Policy`,
    /// `RateLimit`, and `Retry-After` when denied.
    pub fn headers(&self, d: &Decision) -> Vec<(&'static str, String)> {
        response_headers(self.policy_header(), self.ratelimit_header(d), d)
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        unsafe { sys::prd_limiter_free(self.raw.as_ptr()) }
    }
}

/// Units reserved on an in-process limiter, settled once.
pub struct Reservation<'l> {
    limiter: &'l Limiter,
    resv: Box<sys::prd_rl_reservation>,
    settled: bool,
}

impl Reservation<'_> {
    /// Keep the units (the work was done).
    pub fn commit(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_limiter_commit(self.limiter.p(), &mut *self.resv) })
    }

    /// Give back what of the units still counts (the work did not happen).
    pub fn refund(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_limiter_refund(self.limiter.p(), &mut *self.resv) })
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.settled && std::thread::panicking() {
            let _ = unsafe { sys::prd_limiter_refund(self.limiter.p(), &mut *self.resv) };
        }
    }
}

/// A limiter whose state is in PostgreSQL (the stores' schema): every
/// instance of a service enforces one limit together, by the database's
/// clock, one round trip a check. Thread-safe; keeps its pool alive.
pub struct SharedLimiter {
    raw: NonNull<sys::prd_rl_pg>,
    headers: Limiter,
    _pool: Pool,
}

unsafe impl Send for SharedLimiter {}
unsafe impl Sync for SharedLimiter {}

impl SharedLimiter {
    /// The config's rules (copied) on `pool`. Fails closed by default.
    pub fn new(cfg: &LimiterConfig, pool: &Pool) -> Result<SharedLimiter> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_rl_pg_new(cfg.as_ptr(), pool.as_ptr(), &mut out) })?;
        let raw = NonNull::new(out).expect("NULL store");
        // The header functions are the in-process limiter's: one with the
        // same rules writes them (the values come from the decision).
        let headers = match Limiter::new(cfg) {
            Ok(l) => l,
            Err(e) => {
                unsafe { sys::prd_rl_pg_free(raw.as_ptr()) };
                return Err(e);
            }
        };
        Ok(SharedLimiter { raw, headers, _pool: pool.clone() })
    }

    fn p(&self) -> *mut sys::prd_rl_pg {
        self.raw.as_ptr()
    }

    /// While the database fails: `true` admits (counted), `false` (the
    /// default) denies with `Err(Db)`.
    pub fn set_fail_open(&mut self, open: bool) -> Result<&mut SharedLimiter> {
        check(unsafe { sys::prd_rl_pg_set_fail_open(self.p(), open as c_int) })?;
        Ok(self)
    }

    /// The local pre-check: a key with plenty of room leases `units` more
    /// per round trip, spent without one for up to `lease` (0 turns it
    /// off). The count is never exceeded; see docs/ratelimit.md.
    pub fn set_local_lease(&mut self, lease: Duration, units: u64) -> Result<&mut SharedLimiter> {
        check(unsafe { sys::prd_rl_pg_set_local_lease(self.p(), ms_i64(lease), units) })?;
        Ok(self)
    }

    /// Check `cost` units (one key per rule).
    pub fn check<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_rl_pg_check(self.p(), k.ptr(), k.len(), cost, &mut d) }, d)
    }

    /// Would this be admitted now? Records nothing.
    pub fn peek<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<Decision> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        decided(unsafe { sys::prd_rl_pg_peek(self.p(), k.ptr(), k.len(), cost, &mut d) }, d)
    }

    /// Reserve `cost` units, as [`Limiter::reserve`].
    pub fn reserve<K: AsRef<[u8]>>(&self, keys: &[K], cost: u64) -> Result<(Decision, Option<SharedReservation<'_>>)> {
        let k = Keys::new(keys)?;
        let mut d = sys::prd_rl_decision::INIT;
        let mut resv = Box::new(sys::prd_rl_reservation { opaque_: [0; 4 + 3 * sys::PRD_RL_MAX_RULES] });
        let st = unsafe { sys::prd_rl_pg_reserve(self.p(), k.ptr(), k.len(), cost, &mut d, &mut *resv) };
        let decision = decided(st, d)?;
        let r = if decision.allowed {
            let keys = keys.iter().map(|k| k.as_ref().to_vec()).collect();
            Some(SharedReservation { store: self, resv, keys, settled: false })
        } else {
            None
        };
        Ok((decision, r))
    }

    /// Checks answered from a lease without a round trip.
    pub fn local_checks(&self) -> u64 {
        unsafe { sys::prd_rl_pg_local(self.p()) }
    }

    /// Checks answered by the failure policy.
    pub fn failures(&self) -> u64 {
        unsafe { sys::prd_rl_pg_failures(self.p()) }
    }

    /// The `RateLimit-Policy` value.
    pub fn policy_header(&self) -> String {
        self.headers.policy_header()
    }

    /// The `RateLimit` value for a decision.
    pub fn ratelimit_header(&self, d: &Decision) -> String {
        self.headers.ratelimit_header(d)
    }

    /// The RFC 9457 body of a denial.
    pub fn problem_json(&self, d: &Decision) -> Option<String> {
        self.headers.problem_json(d)
    }

    /// `RateLimit-Policy`, `RateLimit` and, when denied, `Retry-After`.
    pub fn headers(&self, d: &Decision) -> Vec<(&'static str, String)> {
        self.headers.headers(d)
    }
}

impl Drop for SharedLimiter {
    fn drop(&mut self) {
        unsafe { sys::prd_rl_pg_free(self.raw.as_ptr()) }
    }
}

/// Units reserved in PostgreSQL, settled once.
pub struct SharedReservation<'s> {
    store: &'s SharedLimiter,
    resv: Box<sys::prd_rl_reservation>,
    keys: Vec<Vec<u8>>,
    settled: bool,
}

impl SharedReservation<'_> {
    /// Keep the units (no round trip).
    pub fn commit(mut self) -> Result<()> {
        self.settled = true;
        check(unsafe { sys::prd_rl_pg_commit(self.store.p(), &mut *self.resv) })
    }

    /// Give back what still counts (one round trip). On `Err` the units
    /// stay counted, the safe side.
    pub fn refund(mut self) -> Result<()> {
        self.settled = true;
        self.do_refund()
    }

    fn do_refund(&mut self) -> Result<()> {
        let k = Keys::new(&self.keys)?;
        check(unsafe { sys::prd_rl_pg_refund(self.store.p(), k.ptr(), k.len(), &mut *self.resv) })
    }
}

impl Drop for SharedReservation<'_> {
    fn drop(&mut self) {
        if !self.settled && std::thread::panicking() {
            let _ = self.do_refund();
        }
    }
}

opaque_debug!(LimiterConfig, Limiter, SharedLimiter, Reservation<'_>, SharedReservation<'_>);

impl Limiter {
    /// Each rule's keys, capacity and refused keys in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_limiter_prometheus(self.p(), p, out, size)
        })
    }
}

impl SharedLimiter {
    /// The store's local answers and failures in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_rl_pg_prometheus(self.p(), p, out, size)
        })
    }
}
