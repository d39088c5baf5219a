//! # prodready: the production-ready parts of a service, from Rust
//!
//! Safe Rust over libprodready's C ABI (`libprodready.so.1`): Argon2id
//! password hashing with peppers, legacy migration and dummy verification
//! ([`PasswordPolicy`]); PASETO v4 tokens with mandatory expiry, key rings
//! and PASERK ([`Keyring`], [`Verifier`]); server-side sessions,
//! single-use and refresh tokens ([`Sessions`]); sliding-window rate limits
//! with the IETF RateLimit headers ([`Limiter`], [`SharedLimiter`]) and a
//! login guard ([`LoginGuard`]); a PostgreSQL pool with deadlines and
//! retried transactions ([`Pool`]); and JSON logs that redact secrets
//! ([`Logger`]). The same hardened behaviour as the C library and its
//! other bindings, at the C library's speed.
//!
//! Every failure is an [`Error`] with the library's [`Status`] (its stable
//! number, identifier and phrase, and whether it is the caller's fault or
//! the system's). Every handle frees itself when dropped; a handle is
//! `Send`/`Sync` exactly where the C header promises thread safety;
//! objects that use another (a verifier its key ring, a store its pool)
//! keep it alive. Secrets ([`Secret`], [`SecretString`]) are wiped on drop
//! and never print. Calls that block (hashing, every database call) block
//! the calling thread: from an async runtime, run them on its blocking
//! pool (`spawn_blocking`).
//!
//! The raw declarations of the whole C API are in [`sys`].
//!
//! Linking: `build.rs` uses `PRODREADY_LIB_DIR`, else `pkg-config
//! prodready` (for a build tree: `PKG_CONFIG_PATH=<build>/meson-uninstalled`).
#![warn(missing_docs)]

pub mod sys;

/// `Debug` for a handle: its type name only (handles hold keys, conninfo
/// and other state that must not reach a log through `{:?}`).
macro_rules! opaque_debug {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), " { .. }"))
            }
        }
    )*};
}

pub mod clock;
pub mod encoding;
pub mod error;
pub mod log;
pub mod login;
pub mod password;
pub mod pg;
pub mod ratelimit;
pub mod secret;
pub mod sessions;
pub mod token;
mod util;

pub use clock::{system_wall_ns, Clock};
pub use error::{Error, Result, Status};
pub use log::{parse_traceparent, Level, LogCounter, Logger, Profile, RedactMode, Scrubber, TraceParent, Value};
pub use login::{Attempt, Lockout, LockoutKind, Login, LoginCounter, LoginGuard};
pub use password::{PasswordPolicy, PasswordStat, RehashReason};
pub use pg::{
    Conn, Isolation, Listener, Migration, Notification, ParamSink, Pool, PoolConfig, PooledConn, Row, Rows, ToParam,
    TxOptions,
};
pub use ratelimit::{
    Algorithm, Decision, FullPolicy, Limiter, LimiterConfig, Reservation, SharedLimiter, SharedReservation,
};
pub use secret::{Encoding, Secret, SecretString};
pub use sessions::{opaque_digest, opaque_token, Refresh, SessionInfo, SessionKind, Sessions, TokenStore};
pub use token::{Claims, IssueOptions, Key, KeyKind, Keyring, Purpose, Revocations, Verified, Verifier};

/// The API this crate was written against: the loaded library must have
/// this major version and at least this minor.
pub const REQUIRED_VERSION: (u32, u32) = (1, 0);

/// Initialise the library (idempotent; every call does it on first use),
/// and check that the library loaded is one this crate can drive:
/// `Unsupported` for another major version or an older minor.
pub fn init() -> Result<()> {
    error::check_init()
}

/// The loaded library's version, `"MAJOR.MINOR.PATCH"`.
pub fn version() -> &'static str {
    let p = unsafe { sys::prd_version() };
    unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// The loaded library's version as (major, minor, patch).
pub fn version_number() -> (u32, u32, u32) {
    let n = unsafe { sys::prd_version_number() };
    (n / 10000, n / 100 % 100, n % 100)
}
