//! Password hashing: Argon2id in PHC strings, peppers, legacy crypt(3)
//! migration, and the dummy verification that keeps a login form from
//! telling which accounts exist.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! let policy = prodready::PasswordPolicy::new()?;          // OWASP preset
//! let phc = policy.hash("correct horse")?;
//! policy.verify(&phc, "correct horse")?;                   // Err(Mismatch) when wrong
//! # Ok(()) }
//! ```
//!
//! A policy is configured through `&mut self` and used through `&self`,
//! so the borrow checker enforces the header's rule: set it up, then share
//! it (`Arc<PasswordPolicy>`) between any number of threads. Every hash
//! and verify blocks its thread for the preset's cost (about 20-45 ms for
//! the default).
use std::fmt;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::error::{check, check_invalid, Error, Result, Status};
use crate::secret::Secret;
use crate::sys;
use crate::util::{buf_to_string, cstring, ms_u32, opt_cstring, opt_ptr};

/// Why a stored hash should be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RehashReason {
    /// Lower cost, Argon2 version 16, or a shorter salt or hash.
    WeakerParams,
    /// Different (for example higher) cost than the policy's.
    OtherParams,
    /// argon2i or argon2d.
    OtherAlgorithm,
    /// A retired pepper, none, or one when none is set.
    OtherPepper,
    /// A legacy crypt(3) hash.
    LegacyFormat,
}

impl RehashReason {
    fn from_code(code: c_int) -> Option<RehashReason> {
        match code {
            sys::PRD_REHASH_WEAKER_PARAMS => Some(RehashReason::WeakerParams),
            sys::PRD_REHASH_OTHER_PARAMS => Some(RehashReason::OtherParams),
            sys::PRD_REHASH_OTHER_ALGORITHM => Some(RehashReason::OtherAlgorithm),
            sys::PRD_REHASH_OTHER_PEPPER => Some(RehashReason::OtherPepper),
            sys::PRD_REHASH_LEGACY_FORMAT => Some(RehashReason::LegacyFormat),
            _ => None,
        }
    }

    fn code(self) -> c_int {
        match self {
            RehashReason::WeakerParams => sys::PRD_REHASH_WEAKER_PARAMS,
            RehashReason::OtherParams => sys::PRD_REHASH_OTHER_PARAMS,
            RehashReason::OtherAlgorithm => sys::PRD_REHASH_OTHER_ALGORITHM,
            RehashReason::OtherPepper => sys::PRD_REHASH_OTHER_PEPPER,
            RehashReason::LegacyFormat => sys::PRD_REHASH_LEGACY_FORMAT,
        }
    }

    /// The library's phrase: `"weaker params"`, `"other params"`, `"other
    /// algorithm"`, `"other pepper"` or `"legacy format"`.
    pub fn as_str(self) -> &'static str {
        let p = unsafe { sys::prd_rehash_reason_str(self.code()) };
        unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("")
    }
}

impl fmt::Display for RehashReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters of a policy, for metrics ([`PasswordPolicy::stat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordStat {
    /// Hashes running now.
    InFlight,
    /// Their memory, KiB.
    InFlightKib,
    /// The highest in-flight memory seen, KiB.
    PeakKib,
    /// Calls waiting for room in the memory budget.
    Waiting,
    /// Calls that gave up with `Busy`.
    Busy,
    /// Hashes computed.
    Completed,
    /// Memory kept in arenas for reuse by later hashes, KiB.
    ArenaKib,
}

/// The Argon2 backend computing new hashes in this process: `"own-avx512"`,
/// `"own-avx2"`, `"own-ssse3"`, `"own-sse2"`, `"own-portable"`,
/// `"libsodium"` or `"libargon2"` (prodready/password.h).
pub fn backend() -> &'static str {
    let p = unsafe { sys::prd_password_backend() };
    unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// A password policy: the cost of new hashes, caps on stored ones, peppers,
/// legacy formats and a memory budget for concurrent hashes.
pub struct PasswordPolicy {
    raw: NonNull<sys::prd_password_policy>,
}

// The header: after configuration every const-policy function may run
// concurrently from any number of threads; setters take &mut self.
unsafe impl Send for PasswordPolicy {}
unsafe impl Sync for PasswordPolicy {}

impl PasswordPolicy {
    /// The default preset, `owasp` (argon2id m=19456 KiB t=2 p=1).
    pub fn new() -> Result<PasswordPolicy> {
        PasswordPolicy::make(None)
    }

    /// A preset: `owasp`, `rfc9106-low-memory`, `moderate` or `sensitive`.
    pub fn with_preset(name: &str) -> Result<PasswordPolicy> {
        PasswordPolicy::make(Some(name))
    }

    fn make(name: Option<&str>) -> Result<PasswordPolicy> {
        let c = opt_cstring(name, "preset")?;
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_password_policy_new(opt_ptr(&c), &mut out) };
        check(st).map_err(|e| match name {
            Some(n) if e.status() == Status::Invalid => {
                Error::with_detail(Status::Invalid, format!("unknown preset '{n}'"))
            }
            _ => e,
        })?;
        Ok(PasswordPolicy { raw: NonNull::new(out).expect("PRD_OK with a NULL policy") })
    }

    fn set(&mut self, st: c_int, what: &str) -> Result<&mut PasswordPolicy> {
        check_invalid(st, what)?;
        Ok(self)
    }

    /// The cost of new hashes: `t` passes over `m_kib` KiB with `p` lanes.
    pub fn set_params(&mut self, t: u32, m_kib: u32, p: u32) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_params(self.raw.as_ptr(), t, m_kib, p) };
        self.set(st, "argon2 parameters out of range (t >= 1, 1 <= p, m >= 8 * p KiB, within the caps)")
    }

    /// Salt length of new hashes, 16..64 bytes.
    pub fn set_salt_len(&mut self, len: usize) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_salt_len(self.raw.as_ptr(), len) };
        self.set(st, "salt length: 16..64 bytes")
    }

    /// Hash (tag) length of new hashes, 16..64 bytes.
    pub fn set_hash_len(&mut self, len: usize) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_hash_len(self.raw.as_ptr(), len) };
        self.set(st, "hash length: 16..64 bytes")
    }

    /// Caps on the cost of any hash computed or verified; a stored hash
    /// over them is `TooBig` before memory is allocated.
    pub fn set_caps(&mut self, max_t: u32, max_m_kib: u32, max_p: u32) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_caps(self.raw.as_ptr(), max_t, max_m_kib, max_p) };
        self.set(st, "caps: not zero and not below the policy's own parameters")
    }

    /// The longest password accepted (1 byte to 1 MiB; default 4096).
    pub fn set_max_password_len(&mut self, max: usize) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_max_password_len(self.raw.as_ptr(), max) };
        self.set(st, "maximum password length: 1..1048576 bytes")
    }

    /// The current pepper (`id`: 1-32 of `[A-Za-z0-9.-]`; 16-64 bytes).
    /// The policy keeps its own copy.
    pub fn set_pepper(&mut self, id: &str, pepper: &Secret) -> Result<&mut PasswordPolicy> {
        let c = cstring(id, "pepper id")?;
        let st = unsafe { sys::prd_password_policy_set_pepper(self.raw.as_ptr(), c.as_ptr(), pepper.as_ptr()) };
        self.set(st, "pepper: id of 1-32 [A-Za-z0-9.-] not already present, 16-64 bytes")
    }

    /// A retired pepper that still verifies old hashes (they then need rehash).
    pub fn add_retired_pepper(&mut self, id: &str, pepper: &Secret) -> Result<&mut PasswordPolicy> {
        let c = cstring(id, "pepper id")?;
        let st = unsafe { sys::prd_password_policy_add_retired_pepper(self.raw.as_ptr(), c.as_ptr(), pepper.as_ptr()) };
        self.set(st, "pepper: id of 1-32 [A-Za-z0-9.-] not already present, 16-64 bytes")
    }

    /// Accept legacy bcrypt, sha512-crypt and yescrypt hashes (to migrate them).
    pub fn set_allow_legacy(&mut self, allow: bool) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_allow_legacy(self.raw.as_ptr(), allow as c_int) };
        self.set(st, "allow legacy")
    }

    /// Caps on what verifying a legacy hash may cost.
    pub fn set_legacy_caps(
        &mut self,
        max_bcrypt_cost: u32,
        max_sha512_rounds: u64,
        max_yescrypt_kib: u64,
    ) -> Result<&mut PasswordPolicy> {
        let st = unsafe {
            sys::prd_password_policy_set_legacy_caps(
                self.raw.as_ptr(),
                max_bcrypt_cost,
                max_sha512_rounds,
                max_yescrypt_kib,
            )
        };
        self.set(st, "legacy caps out of range")
    }

    /// The memory budget for concurrent hashes (KiB) and how long a call
    /// waits for room before `Busy`.
    pub fn set_budget(&mut self, budget_kib: u64, wait: Duration) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_budget(self.raw.as_ptr(), budget_kib, ms_u32(wait)) };
        self.set(st, "budget")
    }

    /// How long an idle hash arena (the memory one hash fills, kept for the
    /// next) stays mapped; zero keeps none. Default 30 s.
    pub fn set_arena_idle(&mut self, idle: Duration) -> Result<&mut PasswordPolicy> {
        let st = unsafe { sys::prd_password_policy_set_arena_idle(self.raw.as_ptr(), ms_u32(idle)) };
        self.set(st, "arena idle time")
    }

    /// After `Busy`: how long until a retry is likely to get room (a
    /// Retry-After hint; never zero).
    pub fn retry_after(&self) -> Duration {
        Duration::from_millis(u64::from(unsafe { sys::prd_password_retry_after_ms(self.raw.as_ptr()) }))
    }

    /// A counter's current value.
    pub fn stat(&self, stat: PasswordStat) -> u64 {
        let code = match stat {
            PasswordStat::InFlight => sys::PRD_PASSWORD_STAT_IN_FLIGHT,
            PasswordStat::InFlightKib => sys::PRD_PASSWORD_STAT_IN_FLIGHT_KIB,
            PasswordStat::PeakKib => sys::PRD_PASSWORD_STAT_PEAK_KIB,
            PasswordStat::Waiting => sys::PRD_PASSWORD_STAT_WAITING,
            PasswordStat::Busy => sys::PRD_PASSWORD_STAT_BUSY,
            PasswordStat::Completed => sys::PRD_PASSWORD_STAT_COMPLETED,
            PasswordStat::ArenaKib => sys::PRD_PASSWORD_STAT_ARENA_KIB,
        };
        unsafe { sys::prd_password_stat_get(self.raw.as_ptr(), code) }
    }

    /// Hash a password (bytes: it may hold any byte, NUL included) into a
    /// PHC string. Blocks for the policy's cost.
    pub fn hash(&self, password: impl AsRef<[u8]>) -> Result<String> {
        let pw = password.as_ref();
        let mut out = [0u8; sys::PRD_PASSWORD_HASH_SIZE];
        check(unsafe {
            sys::prd_password_hash(self.raw.as_ptr(), pw.as_ptr().cast(), pw.len(), out.as_mut_ptr().cast(), out.len())
        })?;
        Ok(buf_to_string(&out))
    }

    /// Check a password against a stored hash in constant time: `Ok(())`
    /// on a match, `Err` with [`Status::Mismatch`] for a wrong password,
    /// other statuses for a hash that is malformed (`Invalid`), over the
    /// caps (`TooBig`), of an unknown pepper (`NotFound`) or refused
    /// (`Unsupported`: legacy while legacy is off). `is_ok()` is "it matched".
    pub fn verify(&self, stored: &str, password: impl AsRef<[u8]>) -> Result<()> {
        let pw = password.as_ref();
        let s = cstring(stored, "stored hash")?;
        check(unsafe { sys::prd_password_verify(self.raw.as_ptr(), pw.as_ptr().cast(), pw.len(), s.as_ptr()) })
    }

    /// For an unknown account: the same time and memory as [`verify`](Self::verify)
    /// would take, then `Err(Mismatch)`, so timing tells no account apart.
    pub fn verify_dummy(&self, password: impl AsRef<[u8]>) -> Result<()> {
        let pw = password.as_ref();
        check(unsafe { sys::prd_password_verify_dummy(self.raw.as_ptr(), pw.as_ptr().cast(), pw.len()) })
    }

    /// Whether a stored hash should be replaced under this policy, and why.
    /// A legacy hash is answered even while legacy hashes are refused.
    pub fn needs_rehash(&self, stored: &str) -> Result<Option<RehashReason>> {
        let s = cstring(stored, "stored hash")?;
        let mut reason: c_int = 0;
        check(unsafe { sys::prd_password_needs_rehash(self.raw.as_ptr(), s.as_ptr(), &mut reason) })?;
        Ok(RehashReason::from_code(reason))
    }

    /// Verify, and when the stored hash is outdated hash the password again
    /// in the same call: `Ok(Some(new))` to store (swap it atomically:
    /// `UPDATE .. SET hash = $new WHERE id = $id AND hash = $stored`),
    /// `Ok(None)` when the hash is current; errors as [`verify`](Self::verify).
    pub fn verify_and_upgrade(&self, stored: &str, password: impl AsRef<[u8]>) -> Result<Option<String>> {
        let pw = password.as_ref();
        let s = cstring(stored, "stored hash")?;
        let mut out = [0u8; sys::PRD_PASSWORD_HASH_SIZE];
        let mut upgraded: c_int = 0;
        check(unsafe {
            sys::prd_password_verify_and_upgrade(
                self.raw.as_ptr(),
                pw.as_ptr().cast(),
                pw.len(),
                s.as_ptr(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut upgraded,
            )
        })?;
        Ok(if upgraded != 0 { Some(buf_to_string(&out)) } else { None })
    }
}

impl fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordPolicy { .. }")
    }
}

impl Drop for PasswordPolicy {
    fn drop(&mut self) {
        unsafe { sys::prd_password_policy_free(self.raw.as_ptr()) }
    }
}

impl PasswordPolicy {
    /// The policy's counters in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_password_policy_prometheus(self.raw.as_ptr(), p, out, size)
        })
    }
}
