//! The C API as it is: hand-written declarations of every function in the
//! public headers (`prodready/{core,password,token,ratelimit,log,pg}.h`),
//! with no bindgen (no crates can be fetched; `cargo build --offline` must
//! work). The safe layer in the rest of the crate is built on these; use
//! them directly only for what it does not offer, and follow the headers'
//! rules (docs/ffi.md) when you do.
//!
//! Conventions: every `prd_status` and every enumeration is a C `int`
//! (`c_int`) and their values are the constants below; opaque handles are
//! zero-sized `#[repr(C)]` types that can only be used behind pointers;
//! records laid out by the caller are `#[repr(C)]` structs with the
//! headers' field order. `tests/scripts/test_rust_sys.py` checks every
//! declaration against the headers, so a header change the declarations
//! miss fails the test suite.
#![allow(non_camel_case_types, missing_docs)]

use std::marker::{PhantomData, PhantomPinned};
use std::os::raw::{c_char, c_int, c_long, c_uint, c_void};

macro_rules! opaque {
    ($($name:ident),* $(,)?) => {$(
        /// An opaque handle of the C library, used only behind a pointer.
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque!(
    prd_secret,
    prd_clock,
    prd_password_policy,
    prd_token_key,
    prd_keyring,
    prd_token_claims,
    prd_token_verifier,
    prd_token_revocations,
    prd_token_verified,
    prd_token_store,
    prd_token_sessions,
    prd_limiter_config,
    prd_limiter,
    prd_rl_pg,
    prd_login_guard,
    prd_logger,
    prd_pg_config,
    prd_pg_pool,
    prd_pg_conn,
    prd_pg_params,
    prd_pg_result,
    prd_pg_error,
    prd_pg_tx_options,
    prd_pg_listener,
    prd_pg_async,
);

// core.h: statuses (values never change within SONAME 1)
pub const PRD_OK: c_int = 0;
pub const PRD_EINVAL: c_int = 1;
pub const PRD_EMISMATCH: c_int = 2;
pub const PRD_EEXPIRED: c_int = 3;
pub const PRD_ENOTYET: c_int = 4;
pub const PRD_ELIMITED: c_int = 5;
pub const PRD_EBUSY: c_int = 6;
pub const PRD_ETIMEOUT: c_int = 7;
pub const PRD_ENOMEM: c_int = 8;
pub const PRD_EIO: c_int = 9;
pub const PRD_EDB: c_int = 10;
pub const PRD_ERETRY: c_int = 11;
pub const PRD_ECLOSED: c_int = 12;
pub const PRD_ETOOBIG: c_int = 13;
pub const PRD_ENOSPACE: c_int = 14;
pub const PRD_EBADTOKEN: c_int = 15;
pub const PRD_ENOTFOUND: c_int = 16;
pub const PRD_EPERM: c_int = 17;
pub const PRD_ECONFLICT: c_int = 18;
pub const PRD_EUNKNOWN: c_int = 19;
pub const PRD_EINTERNAL: c_int = 20;
pub const PRD_EUNSUPPORTED: c_int = 21;
pub const PRD_STATUS_MAX: c_int = 21;

pub const PRD_SECRET_RAW: c_int = 0;
pub const PRD_SECRET_HEX: c_int = 1;
pub const PRD_SECRET_BASE64URL: c_int = 2;
pub const PRD_SECRET_MAX: usize = 4096;
pub const PRD_RFC3339_SIZE: usize = 36;

// password.h
pub const PRD_PASSWORD_HASH_SIZE: usize = 320;
pub const PRD_PASSWORD_PHC_MAX: usize = 1024;
pub const PRD_PASSWORD_STAT_IN_FLIGHT: c_int = 0;
pub const PRD_PASSWORD_STAT_IN_FLIGHT_KIB: c_int = 1;
pub const PRD_PASSWORD_STAT_PEAK_KIB: c_int = 2;
pub const PRD_PASSWORD_STAT_WAITING: c_int = 3;
pub const PRD_PASSWORD_STAT_BUSY: c_int = 4;
pub const PRD_PASSWORD_STAT_COMPLETED: c_int = 5;
pub const PRD_PASSWORD_STAT_ARENA_KIB: c_int = 6;
pub const PRD_REHASH_NONE: c_int = 0;
pub const PRD_REHASH_WEAKER_PARAMS: c_int = 1;
pub const PRD_REHASH_OTHER_PARAMS: c_int = 2;
pub const PRD_REHASH_OTHER_ALGORITHM: c_int = 3;
pub const PRD_REHASH_OTHER_PEPPER: c_int = 4;
pub const PRD_REHASH_LEGACY_FORMAT: c_int = 5;

// token.h
pub const PRD_KEY_LOCAL: c_int = 1;
pub const PRD_KEY_PUBLIC: c_int = 2;
pub const PRD_KEY_SECRET: c_int = 3;
pub const PRD_TOKEN_LOCAL: c_int = 1;
pub const PRD_TOKEN_PUBLIC: c_int = 2;
pub const PRD_PASERK_SIZE: usize = 97;
pub const PRD_PASERK_ID_SIZE: usize = 52;
pub const PRD_TOKEN_DEFAULT_MAX_LEN: usize = 8192;
pub const PRD_TOKEN_ABSOLUTE_MAX_LEN: usize = 1024 * 1024;
pub const PRD_KEYRING_MAX: usize = 16;
pub const PRD_OPAQUE_PREFIX_MAX: usize = 16;
pub const PRD_OPAQUE_TOKEN_SIZE: usize = PRD_OPAQUE_PREFIX_MAX + 1 + 48 + 1;
pub const PRD_OPAQUE_DIGEST_BYTES: usize = 32;
pub const PRD_SESSION_SUBJECT_MAX: usize = 256;
pub const PRD_SESSION_SUBJECT_SIZE: usize = PRD_SESSION_SUBJECT_MAX + 1;
pub const PRD_SESSION_ID_SIZE: usize = 33;
pub const PRD_SESSION_LIST_MAX: usize = 1024;
pub const PRD_SESSION_KIND_SESSION: c_int = 1;
pub const PRD_SESSION_KIND_REFRESH: c_int = 2;
pub const PRD_TOKEN_JTI_MAX: usize = 128;

/// One session of a subject (`prd_token_session_list`); `size` first,
/// set by the caller on the first entry of the array (the stride).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_session_info {
    pub size: usize,
    pub id: [c_char; PRD_SESSION_ID_SIZE],
    pub kind: c_int,
    pub created_ns: i64,
    pub last_used_ns: i64,
    pub expires_ns: i64,
}

impl prd_session_info {
    /// `PRD_SESSION_INFO_INIT`.
    pub const INIT: Self = prd_session_info {
        size: std::mem::size_of::<prd_session_info>(),
        id: [0; PRD_SESSION_ID_SIZE],
        kind: 0,
        created_ns: 0,
        last_used_ns: 0,
        expires_ns: 0,
    };
}

// ratelimit.h
pub const PRD_RL_EXACT: c_int = 0;
pub const PRD_RL_COUNTER: c_int = 1;
pub const PRD_RL_GCRA: c_int = 2;
pub const PRD_RL_EVICT_DECAYED: c_int = 0;
pub const PRD_RL_DENY_NEW: c_int = 1;
pub const PRD_RL_MAX_RULES: usize = 8;
pub const PRD_RL_EXACT_MAX_LIMIT: u64 = 1048576;
pub const PRD_RL_KEY_MAX: usize = 1024;
pub const PRD_RL_PK_MAX: usize = 64;
pub const PRD_RL_HEADER_SIZE: usize = 640;
pub const PRD_LOGIN_LOCKOUT_SOURCE: c_int = 0;
pub const PRD_LOGIN_LOCKOUT_ACCOUNT: c_int = 1;
pub const PRD_LOGIN_LOCKOUT_BACKOFF: c_int = 2;
pub const PRD_LOGIN_COUNT_LOCKOUT_SOURCE: c_int = 0;
pub const PRD_LOGIN_COUNT_LOCKOUT_ACCOUNT: c_int = 1;
pub const PRD_LOGIN_COUNT_LOCKOUT_BACKOFF: c_int = 2;
pub const PRD_LOGIN_COUNT_BUSY: c_int = 3;
pub const PRD_LOGIN_COUNT_ALLOWED: c_int = 4;
pub const PRD_LOGIN_COUNT_DENIED: c_int = 5;
pub const PRD_LOGIN_COUNT_DB_FAILED: c_int = 6;
pub const PRD_LOGIN_REPORT_ACCOUNT_MAX: usize = 128;

/// A key of a check: bytes and their length, one per rule (final record).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_rl_key {
    pub data: *const c_void,
    pub len: usize,
}

/// A limiter's decision, written by the library; `size` set by the caller.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct prd_rl_decision {
    pub size: usize,
    pub allowed: c_int,
    pub rule: c_int,
    pub limit: u64,
    pub remaining: u64,
    pub reset_ms: i64,
    pub retry_after_ms: i64,
}

impl prd_rl_decision {
    /// `PRD_RL_DECISION_INIT`.
    pub const INIT: Self = prd_rl_decision {
        size: std::mem::size_of::<prd_rl_decision>(),
        allowed: 0,
        rule: 0,
        limit: 0,
        remaining: 0,
        reset_ms: 0,
        retry_after_ms: 0,
    };
}

/// Caller storage for a reservation, never looked into by the caller.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_rl_reservation {
    pub opaque_: [u64; 4 + 3 * PRD_RL_MAX_RULES],
}

/// Caller storage for a login attempt, never looked into by the caller.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_login_attempt {
    pub opaque_: [u64; 32],
}

pub type prd_login_lockout_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        kind: c_int,
        account: *const c_void,
        account_len: usize,
        source_fp: *const c_char,
        for_ms: i64,
    ),
>;

// log.h
pub const PRD_LOG_DEBUG: c_int = 0;
pub const PRD_LOG_INFO: c_int = 1;
pub const PRD_LOG_WARN: c_int = 2;
pub const PRD_LOG_ERROR: c_int = 3;
pub const PRD_LOG_FATAL: c_int = 4;
pub const PRD_LOG_OFF: c_int = 5;
pub const PRD_LF_STRING: c_int = 1;
pub const PRD_LF_INT: c_int = 2;
pub const PRD_LF_UINT: c_int = 3;
pub const PRD_LF_DOUBLE: c_int = 4;
pub const PRD_LF_BOOL: c_int = 5;
pub const PRD_LF_NULL: c_int = 6;
pub const PRD_LF_JSON: c_int = 7;
pub const PRD_LF_STATUS: c_int = 8;
pub const PRD_LF_SECRET: c_int = 9;
pub const PRD_LF_JSON_TEXT: c_int = 10;
pub const PRD_LOG_PROFILE_DEFAULT: c_int = 0;
pub const PRD_LOG_PROFILE_ECS: c_int = 1;
pub const PRD_LOG_PROFILE_OTEL: c_int = 2;
pub const PRD_REDACT_CENSOR: c_int = 0;
pub const PRD_REDACT_REMOVE: c_int = 1;
pub const PRD_REDACT_FINGERPRINT: c_int = 2;
pub const PRD_LOG_COUNT_DEBUG: c_int = 0;
pub const PRD_LOG_COUNT_INFO: c_int = 1;
pub const PRD_LOG_COUNT_WARN: c_int = 2;
pub const PRD_LOG_COUNT_ERROR: c_int = 3;
pub const PRD_LOG_COUNT_FATAL: c_int = 4;
pub const PRD_LOG_COUNT_DROPPED: c_int = 5;
pub const PRD_LOG_COUNT_SAMPLED_OUT: c_int = 6;
pub const PRD_LOG_COUNT_WRITE_ERRORS: c_int = 7;
pub const PRD_LOG_COUNT_SCRUB_TEXT: c_int = 8;
pub const PRD_LOG_MAX_SINKS: usize = 8;
pub const PRD_TRACE_ID_SIZE: usize = 33;
pub const PRD_SPAN_ID_SIZE: usize = 17;

/// The value of a log field (an 8-byte union; `j` is a jansson `json_t *`,
/// which a binding never needs).
#[repr(C)]
#[derive(Clone, Copy)]
pub union prd_log_value {
    pub s: *const c_char,
    pub i: i64,
    pub u: u64,
    pub d: f64,
    pub b: c_int,
    pub j: *mut c_void,
    pub st: c_int,
}

/// One structured field of a log line (final record, versioned by `type_`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_log_field {
    pub key: *const c_char,
    pub type_: c_int,
    pub len: usize,
    pub v: prd_log_value,
}

/// Caller storage for a multi-line scrub, zeroed to start.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct prd_log_scrub_state {
    pub opaque_: [u64; 2],
}

pub type prd_log_sink_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, line: *const c_char, len: usize)>;

// pg.h
pub const PRD_PG_SQL_MAX: usize = 1024 * 1024;
pub const PRD_PG_PARAMS_MAX: usize = 65535;
pub const PRD_PG_CONNINFO_MAX: usize = 8192;
pub const PRD_PG_MAX_SIZE_LIMIT: u32 = 10000;
pub const PRD_PG_UUID_SIZE: usize = 16;
pub const PRD_PG_ASYNC_DEPTH_MAX: u32 = 64;
pub const PRD_PG_READ_COMMITTED: c_int = 0;
pub const PRD_PG_REPEATABLE_READ: c_int = 1;
pub const PRD_PG_SERIALIZABLE: c_int = 2;
pub const PRD_PG_H_ACQUIRE_WAIT: c_int = 0;
pub const PRD_PG_H_QUERY: c_int = 1;
pub const PRD_PG_METRIC_MAX: c_int = 21;

/// One migration (`PRD_PG_MIGRATION(version, name, sql)`); every entry's
/// `size` is set by the caller.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct prd_pg_migration {
    pub size: usize,
    pub version: u32,
    pub name: *const c_char,
    pub sql: *const c_char,
}

pub type prd_pg_row_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, row: *const prd_pg_result) -> c_int>;
pub type prd_pg_copy_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const c_char, len: usize) -> c_int>;
pub type prd_pg_notify_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, channel: *const c_char, payload: *const c_char, sender_pid: c_int),
>;
pub type prd_pg_async_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, st: c_int, res: *mut prd_pg_result, err: *const prd_pg_error)>;
pub type prd_pg_async_acquire_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, st: c_int, conn: *mut prd_pg_conn, err: *const prd_pg_error)>;
pub type prd_pg_tx_fn = Option<unsafe extern "C" fn(conn: *mut prd_pg_conn, user_data: *mut c_void) -> c_int>;
pub const PRD_PG_M_ACQUIRED: c_int = 0;
pub const PRD_PG_M_IN_USE: c_int = 1;
pub const PRD_PG_M_IDLE: c_int = 2;
pub const PRD_PG_M_OPEN: c_int = 3;
pub const PRD_PG_M_WAITING: c_int = 4;
pub const PRD_PG_M_CONNECTS: c_int = 5;
pub const PRD_PG_M_CONNECT_FAILURES: c_int = 6;
pub const PRD_PG_M_ACQUIRE_TIMEOUTS: c_int = 7;
pub const PRD_PG_M_ACQUIRE_BUSY: c_int = 8;
pub const PRD_PG_M_QUERIES: c_int = 9;
pub const PRD_PG_M_QUERY_ERRORS: c_int = 10;
pub const PRD_PG_M_COMMITS: c_int = 11;
pub const PRD_PG_M_ROLLBACKS: c_int = 12;
pub const PRD_PG_M_RETRIES: c_int = 13;
pub const PRD_PG_M_LEAKS: c_int = 14;
pub const PRD_PG_M_SLOW_QUERIES: c_int = 15;
pub const PRD_PG_M_BROKEN: c_int = 16;
pub const PRD_PG_M_FAILOVERS: c_int = 17;
pub const PRD_PG_M_RECYCLED: c_int = 18;
pub const PRD_PG_M_PREPARES: c_int = 19;
pub const PRD_PG_M_UNKNOWN_COMMITS: c_int = 20;
pub const PRD_PG_M_QUERY_TIMEOUTS: c_int = 21;

// prodready/core.h
extern "C" {
    pub fn prd_status_str(status: c_int) -> *const c_char;
    pub fn prd_status_name(status: c_int) -> *const c_char;
    pub fn prd_status_is_client_error(status: c_int) -> c_int;
    pub fn prd_init() -> c_int;
    pub fn prd_version() -> *const c_char;
    pub fn prd_version_number() -> c_uint;
    pub fn prd_secret_from_bytes(data: *const c_void, len: usize, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_from_hex(hex: *const c_char, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_from_base64url(b64: *const c_char, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_from_env(name: *const c_char, encoding: c_int, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_from_file(path: *const c_char, encoding: c_int, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_random(len: usize, out: *mut *mut prd_secret) -> c_int;
    pub fn prd_secret_len(secret: *const prd_secret) -> usize;
    pub fn prd_secret_equal(a: *const prd_secret, b: *const prd_secret) -> c_int;
    pub fn prd_secret_free(secret: *mut prd_secret);
    pub fn prd_clock_wall_ns(clock: *const prd_clock) -> i64;
    pub fn prd_clock_mono_ns(clock: *const prd_clock) -> i64;
    pub fn prd_clock_manual_new(wall_ns: i64, mono_ns: i64, out: *mut *mut prd_clock) -> c_int;
    pub fn prd_clock_manual_advance(clock: *mut prd_clock, delta_ns: i64) -> c_int;
    pub fn prd_clock_manual_set_wall(clock: *mut prd_clock, wall_ns: i64) -> c_int;
    pub fn prd_clock_free(clock: *mut prd_clock);
    pub fn prd_rfc3339_size() -> usize;
    pub fn prd_rfc3339_parse(text: *const c_char, len: usize, unix_ns: *mut i64) -> c_int;
    pub fn prd_rfc3339_format(unix_ns: i64, frac_digits: c_int, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_free(p: *mut c_void);
    pub fn prd_hex_encode(out: *mut c_char, out_size: usize, data: *const c_void, len: usize) -> usize;
    pub fn prd_base64url_encode(out: *mut c_char, out_size: usize, data: *const c_void, len: usize) -> usize;
    pub fn prd_hex_decode(
        out: *mut c_void,
        out_cap: usize,
        out_len: *mut usize,
        text: *const c_char,
        text_len: usize,
    ) -> c_int;
    pub fn prd_base64url_decode(
        out: *mut c_void,
        out_cap: usize,
        out_len: *mut usize,
        text: *const c_char,
        text_len: usize,
    ) -> c_int;
    pub fn prd_memeq(a: *const c_void, b: *const c_void, len: usize) -> c_int;
    pub fn prd_memzero(p: *mut c_void, len: usize);
}

// prodready/password.h
extern "C" {
    pub fn prd_password_hash_size() -> usize;
    pub fn prd_password_policy_new(preset: *const c_char, out: *mut *mut prd_password_policy) -> c_int;
    pub fn prd_password_policy_free(policy: *mut prd_password_policy);
    pub fn prd_password_policy_set_params(policy: *mut prd_password_policy, t: u32, m_kib: u32, p: u32) -> c_int;
    pub fn prd_password_policy_set_salt_len(policy: *mut prd_password_policy, len: usize) -> c_int;
    pub fn prd_password_policy_set_hash_len(policy: *mut prd_password_policy, len: usize) -> c_int;
    pub fn prd_password_policy_set_caps(
        policy: *mut prd_password_policy,
        max_t: u32,
        max_m_kib: u32,
        max_p: u32,
    ) -> c_int;
    pub fn prd_password_policy_set_max_password_len(policy: *mut prd_password_policy, max_len: usize) -> c_int;
    pub fn prd_password_policy_set_pepper(
        policy: *mut prd_password_policy,
        id: *const c_char,
        pepper: *const prd_secret,
    ) -> c_int;
    pub fn prd_password_policy_add_retired_pepper(
        policy: *mut prd_password_policy,
        id: *const c_char,
        pepper: *const prd_secret,
    ) -> c_int;
    pub fn prd_password_policy_set_allow_legacy(policy: *mut prd_password_policy, allow: c_int) -> c_int;
    pub fn prd_password_policy_set_legacy_caps(
        policy: *mut prd_password_policy,
        max_bcrypt_cost: u32,
        max_sha512_rounds: u64,
        max_yescrypt_kib: u64,
    ) -> c_int;
    pub fn prd_password_policy_set_budget(policy: *mut prd_password_policy, budget_kib: u64, wait_ms: u32) -> c_int;
    pub fn prd_password_retry_after_ms(policy: *const prd_password_policy) -> u32;
    pub fn prd_password_policy_set_arena_idle(policy: *mut prd_password_policy, idle_ms: u32) -> c_int;
    pub fn prd_password_backend() -> *const c_char;
    pub fn prd_password_stat_get(policy: *const prd_password_policy, stat: c_int) -> u64;
    pub fn prd_password_policy_prometheus(
        policy: *const prd_password_policy,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_password_hash(
        policy: *const prd_password_policy,
        password: *const c_char,
        password_len: usize,
        out: *mut c_char,
        out_size: usize,
    ) -> c_int;
    pub fn prd_password_verify(
        policy: *const prd_password_policy,
        password: *const c_char,
        password_len: usize,
        stored: *const c_char,
    ) -> c_int;
    pub fn prd_password_verify_dummy(
        policy: *const prd_password_policy,
        password: *const c_char,
        password_len: usize,
    ) -> c_int;
    pub fn prd_rehash_reason_str(reason: c_int) -> *const c_char;
    pub fn prd_password_needs_rehash(
        policy: *const prd_password_policy,
        stored: *const c_char,
        reason: *mut c_int,
    ) -> c_int;
    pub fn prd_password_verify_and_upgrade(
        policy: *const prd_password_policy,
        password: *const c_char,
        password_len: usize,
        stored: *const c_char,
        new_hash: *mut c_char,
        new_hash_size: usize,
        upgraded: *mut c_int,
    ) -> c_int;
}

// prodready/token.h
extern "C" {
    pub fn prd_paserk_size() -> usize;
    pub fn prd_paserk_id_size() -> usize;
    pub fn prd_token_key_generate(kind: c_int, out: *mut *mut prd_token_key) -> c_int;
    pub fn prd_token_key_from_paserk(paserk: *const c_char, out: *mut *mut prd_token_key) -> c_int;
    pub fn prd_token_key_from_hex(kind: c_int, hex: *const c_char, out: *mut *mut prd_token_key) -> c_int;
    pub fn prd_token_key_from_bytes(
        kind: c_int,
        bytes: *const c_void,
        len: usize,
        out: *mut *mut prd_token_key,
    ) -> c_int;
    pub fn prd_token_key_public(key: *const prd_token_key, out: *mut *mut prd_token_key) -> c_int;
    pub fn prd_token_key_kind(key: *const prd_token_key) -> c_int;
    pub fn prd_token_key_paserk(key: *const prd_token_key, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_token_key_id(key: *const prd_token_key, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_token_key_free(key: *mut prd_token_key);
    pub fn prd_token_v4_encrypt(
        key: *const prd_token_key,
        payload: *const c_void,
        payload_len: usize,
        footer: *const c_void,
        footer_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        out: *mut *mut c_char,
    ) -> c_int;
    pub fn prd_token_v4_sign(
        key: *const prd_token_key,
        payload: *const c_void,
        payload_len: usize,
        footer: *const c_void,
        footer_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        out: *mut *mut c_char,
    ) -> c_int;
    pub fn prd_token_v4_decrypt(
        key: *const prd_token_key,
        token: *const c_char,
        token_len: usize,
        expect_footer: *const c_void,
        expect_footer_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        max_size: usize,
        payload_out: *mut *mut u8,
        payload_len: *mut usize,
        footer_out: *mut *mut u8,
        footer_len: *mut usize,
        why: *mut *const c_char,
    ) -> c_int;
    pub fn prd_token_v4_verify_signed(
        key: *const prd_token_key,
        token: *const c_char,
        token_len: usize,
        expect_footer: *const c_void,
        expect_footer_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        max_size: usize,
        payload_out: *mut *mut u8,
        payload_len: *mut usize,
        footer_out: *mut *mut u8,
        footer_len: *mut usize,
        why: *mut *const c_char,
    ) -> c_int;
    pub fn prd_keyring_new(out: *mut *mut prd_keyring) -> c_int;
    pub fn prd_keyring_free(ring: *mut prd_keyring);
    pub fn prd_keyring_add(ring: *mut prd_keyring, key: *const prd_token_key, make_current: c_int) -> c_int;
    pub fn prd_keyring_set_current(ring: *mut prd_keyring, kid: *const c_char) -> c_int;
    pub fn prd_keyring_remove(ring: *mut prd_keyring, kid: *const c_char) -> c_int;
    pub fn prd_keyring_count(ring: *const prd_keyring) -> usize;
    pub fn prd_token_claims_new(out: *mut *mut prd_token_claims) -> c_int;
    pub fn prd_token_claims_free(claims: *mut prd_token_claims);
    pub fn prd_token_claims_set_ttl(claims: *mut prd_token_claims, ttl_ms: i64) -> c_int;
    pub fn prd_token_claims_set_expiry(claims: *mut prd_token_claims, unix_ns: i64) -> c_int;
    pub fn prd_token_claims_set_not_before(claims: *mut prd_token_claims, unix_ns: i64) -> c_int;
    pub fn prd_token_claims_set_string(
        claims: *mut prd_token_claims,
        name: *const c_char,
        value: *const c_char,
    ) -> c_int;
    pub fn prd_token_claims_set_int(claims: *mut prd_token_claims, name: *const c_char, value: i64) -> c_int;
    pub fn prd_token_claims_set_json_text(
        claims: *mut prd_token_claims,
        name: *const c_char,
        json: *const c_char,
        len: usize,
    ) -> c_int;
    pub fn prd_token_claims_payload(
        claims: *const prd_token_claims,
        clock: *const prd_clock,
        out: *mut *mut c_char,
    ) -> c_int;
    pub fn prd_token_issue(
        ring: *const prd_keyring,
        purpose: c_int,
        claims: *const prd_token_claims,
        footer_extra: *const c_char,
        footer_extra_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        clock: *const prd_clock,
        out: *mut *mut c_char,
    ) -> c_int;
    pub fn prd_token_verifier_new(ring: *const prd_keyring, purpose: c_int, out: *mut *mut prd_token_verifier)
        -> c_int;
    pub fn prd_token_verifier_free(v: *mut prd_token_verifier);
    pub fn prd_token_verifier_set_leeway(v: *mut prd_token_verifier, exp_leeway_ms: i64, nbf_leeway_ms: i64) -> c_int;
    pub fn prd_token_verifier_set_issuer(v: *mut prd_token_verifier, iss: *const c_char) -> c_int;
    pub fn prd_token_verifier_add_audience(v: *mut prd_token_verifier, aud: *const c_char) -> c_int;
    pub fn prd_token_verifier_require_claim(v: *mut prd_token_verifier, name: *const c_char) -> c_int;
    pub fn prd_token_verifier_set_max_size(v: *mut prd_token_verifier, max_size: usize) -> c_int;
    pub fn prd_token_verifier_set_footer(v: *mut prd_token_verifier, footer: *const c_void, footer_len: usize)
        -> c_int;
    pub fn prd_token_verifier_set_clock(v: *mut prd_token_verifier, clock: *const prd_clock) -> c_int;
    pub fn prd_token_verifier_set_revocations(v: *mut prd_token_verifier, list: *mut prd_token_revocations) -> c_int;
    pub fn prd_token_verify(
        v: *const prd_token_verifier,
        token: *const c_char,
        token_len: usize,
        implicit: *const c_void,
        implicit_len: usize,
        out: *mut *mut prd_token_verified,
        why: *mut *const c_char,
    ) -> c_int;
    pub fn prd_token_verified_claims_text(r: *const prd_token_verified) -> *const c_char;
    pub fn prd_token_verified_footer(r: *const prd_token_verified, len: *mut usize) -> *const c_char;
    pub fn prd_token_verified_expiry(r: *const prd_token_verified) -> i64;
    pub fn prd_token_verified_free(r: *mut prd_token_verified);
    pub fn prd_opaque_token_size() -> usize;
    pub fn prd_token_opaque_new(prefix: *const c_char, out: *mut c_char, out_size: usize, digest: *mut u8) -> c_int;
    pub fn prd_token_opaque_digest(prefix: *const c_char, token: *const c_char, len: usize, digest: *mut u8) -> c_int;
    pub fn prd_token_store_new_memory(max_entries: usize, out: *mut *mut prd_token_store) -> c_int;
    pub fn prd_token_store_new_pg(pool: *mut prd_pg_pool, out: *mut *mut prd_token_store) -> c_int;
    pub fn prd_token_store_free(store: *mut prd_token_store);
    pub fn prd_token_store_count(store: *const prd_token_store) -> usize;
    pub fn prd_session_subject_size() -> usize;
    pub fn prd_token_sessions_new(
        store: *mut prd_token_store,
        prefix: *const c_char,
        out: *mut *mut prd_token_sessions,
    ) -> c_int;
    pub fn prd_token_sessions_free(s: *mut prd_token_sessions);
    pub fn prd_token_sessions_set_timeouts(s: *mut prd_token_sessions, idle_ms: i64, absolute_ms: i64) -> c_int;
    pub fn prd_token_sessions_set_clock(s: *mut prd_token_sessions, clock: *const prd_clock) -> c_int;
    pub fn prd_token_session_create(
        s: *mut prd_token_sessions,
        subject: *const c_char,
        token_out: *mut c_char,
        out_size: usize,
    ) -> c_int;
    pub fn prd_token_session_validate(
        s: *mut prd_token_sessions,
        token: *const c_char,
        len: usize,
        subject_out: *mut c_char,
        subject_size: usize,
    ) -> c_int;
    pub fn prd_token_session_rotate(
        s: *mut prd_token_sessions,
        old_token: *const c_char,
        len: usize,
        new_out: *mut c_char,
        out_size: usize,
    ) -> c_int;
    pub fn prd_token_session_revoke(s: *mut prd_token_sessions, token: *const c_char, len: usize) -> c_int;
    pub fn prd_token_session_revoke_subject(
        s: *mut prd_token_sessions,
        subject: *const c_char,
        count: *mut usize,
    ) -> c_int;
    pub fn prd_token_single_use_issue(
        s: *mut prd_token_sessions,
        purpose: *const c_char,
        subject: *const c_char,
        ttl_ms: i64,
        binding: *const c_void,
        binding_len: usize,
        token_out: *mut c_char,
        out_size: usize,
    ) -> c_int;
    pub fn prd_token_single_use_consume(
        s: *mut prd_token_sessions,
        purpose: *const c_char,
        token: *const c_char,
        len: usize,
        binding: *const c_void,
        binding_len: usize,
        subject_out: *mut c_char,
        subject_size: usize,
    ) -> c_int;
    pub fn prd_token_refresh_set_policy(
        s: *mut prd_token_sessions,
        token_ttl_ms: i64,
        family_ms: i64,
        grace_ms: i64,
    ) -> c_int;
    pub fn prd_token_refresh_issue(
        s: *mut prd_token_sessions,
        subject: *const c_char,
        token_out: *mut c_char,
        out_size: usize,
    ) -> c_int;
    pub fn prd_token_refresh_rotate(
        s: *mut prd_token_sessions,
        token: *const c_char,
        len: usize,
        new_out: *mut c_char,
        out_size: usize,
        subject_out: *mut c_char,
        subject_size: usize,
        reused: *mut c_int,
    ) -> c_int;
    pub fn prd_token_refresh_revoke(s: *mut prd_token_sessions, token: *const c_char, len: usize) -> c_int;
    pub fn prd_session_id_size() -> usize;
    pub fn prd_token_session_list(
        s: *mut prd_token_sessions,
        subject: *const c_char,
        out: *mut prd_session_info,
        cap: usize,
        count: *mut usize,
    ) -> c_int;
    pub fn prd_token_session_revoke_id(s: *mut prd_token_sessions, subject: *const c_char, id: *const c_char) -> c_int;
    pub fn prd_token_revocations_new(pool: *mut prd_pg_pool, out: *mut *mut prd_token_revocations) -> c_int;
    pub fn prd_token_revocations_free(list: *mut prd_token_revocations);
    pub fn prd_token_revocations_set_refresh(
        list: *mut prd_token_revocations,
        refresh_ms: i64,
        max_stale_ms: i64,
    ) -> c_int;
    pub fn prd_token_revocations_set_max_entries(list: *mut prd_token_revocations, max_entries: usize) -> c_int;
    pub fn prd_token_revocations_set_clock(list: *mut prd_token_revocations, clock: *const prd_clock) -> c_int;
    pub fn prd_token_revoke_jti(list: *mut prd_token_revocations, jti: *const c_char, expires_ns: i64) -> c_int;
    pub fn prd_token_revoke_verified(list: *mut prd_token_revocations, token: *const prd_token_verified) -> c_int;
    pub fn prd_token_jti_check(list: *mut prd_token_revocations, jti: *const c_char) -> c_int;
    pub fn prd_token_revocations_count(list: *mut prd_token_revocations) -> usize;
    pub fn prd_token_revocations_stale_refusals(list: *const prd_token_revocations) -> u64;
    pub fn prd_token_revocations_prometheus(
        list: *const prd_token_revocations,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
}

// prodready/ratelimit.h
extern "C" {
    pub fn prd_rl_header_size() -> usize;
    pub fn prd_limiter_config_new(out: *mut *mut prd_limiter_config) -> c_int;
    pub fn prd_limiter_config_free(cfg: *mut prd_limiter_config);
    pub fn prd_limiter_config_add_rule(
        cfg: *mut prd_limiter_config,
        name: *const c_char,
        limit: u64,
        window_ms: i64,
        algorithm: c_int,
    ) -> c_int;
    pub fn prd_limiter_config_add_gcra(
        cfg: *mut prd_limiter_config,
        name: *const c_char,
        limit: u64,
        window_ms: i64,
        burst: u64,
    ) -> c_int;
    pub fn prd_limiter_config_set_max_keys(cfg: *mut prd_limiter_config, max_keys: usize) -> c_int;
    pub fn prd_limiter_config_set_full_policy(cfg: *mut prd_limiter_config, policy: c_int) -> c_int;
    pub fn prd_limiter_config_set_clock(cfg: *mut prd_limiter_config, clock: *const prd_clock) -> c_int;
    pub fn prd_limiter_config_set_shm_access(cfg: *mut prd_limiter_config, mode: u32, uid: i64, gid: i64) -> c_int;
    pub fn prd_limiter_new(cfg: *const prd_limiter_config, out: *mut *mut prd_limiter) -> c_int;
    pub fn prd_limiter_new_shm(
        cfg: *const prd_limiter_config,
        name: *const c_char,
        create: c_int,
        out: *mut *mut prd_limiter,
    ) -> c_int;
    pub fn prd_limiter_shm_unlink(name: *const c_char) -> c_int;
    pub fn prd_rl_pg_new(cfg: *const prd_limiter_config, pool: *mut prd_pg_pool, out: *mut *mut prd_rl_pg) -> c_int;
    pub fn prd_rl_pg_set_fail_open(store: *mut prd_rl_pg, open: c_int) -> c_int;
    pub fn prd_rl_pg_check(
        store: *mut prd_rl_pg,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_rl_pg_peek(
        store: *mut prd_rl_pg,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_rl_pg_reserve(
        store: *mut prd_rl_pg,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
        resv: *mut prd_rl_reservation,
    ) -> c_int;
    pub fn prd_rl_pg_commit(store: *mut prd_rl_pg, resv: *mut prd_rl_reservation) -> c_int;
    pub fn prd_rl_pg_refund(
        store: *mut prd_rl_pg,
        keys: *const prd_rl_key,
        n_keys: usize,
        resv: *mut prd_rl_reservation,
    ) -> c_int;
    pub fn prd_rl_pg_set_local_lease(store: *mut prd_rl_pg, lease_ms: i64, units: u64) -> c_int;
    pub fn prd_rl_pg_local(store: *const prd_rl_pg) -> u64;
    pub fn prd_rl_pg_failures(store: *const prd_rl_pg) -> u64;
    pub fn prd_rl_pg_prometheus(
        store: *const prd_rl_pg,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_rl_pg_free(store: *mut prd_rl_pg);
    pub fn prd_limiter_free(lim: *mut prd_limiter);
    pub fn prd_limiter_check(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_limiter_check_at(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        now_ms: i64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_limiter_peek(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_limiter_peek_at(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        now_ms: i64,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_limiter_reserve(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        out: *mut prd_rl_decision,
        resv: *mut prd_rl_reservation,
    ) -> c_int;
    pub fn prd_limiter_reserve_at(
        lim: *mut prd_limiter,
        keys: *const prd_rl_key,
        n_keys: usize,
        cost: u64,
        now_ms: i64,
        out: *mut prd_rl_decision,
        resv: *mut prd_rl_reservation,
    ) -> c_int;
    pub fn prd_limiter_commit(lim: *mut prd_limiter, resv: *mut prd_rl_reservation) -> c_int;
    pub fn prd_limiter_refund(lim: *mut prd_limiter, resv: *mut prd_rl_reservation) -> c_int;
    pub fn prd_limiter_refund_at(lim: *mut prd_limiter, resv: *mut prd_rl_reservation, now_ms: i64) -> c_int;
    pub fn prd_limiter_key_count(lim: *const prd_limiter, rule: c_int) -> usize;
    pub fn prd_limiter_refused(lim: *const prd_limiter, rule: c_int) -> u64;
    pub fn prd_limiter_bytes_per_key(lim: *const prd_limiter, rule: c_int) -> usize;
    pub fn prd_limiter_prometheus(
        lim: *const prd_limiter,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_limiter_policy_header(lim: *const prd_limiter, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_limiter_ratelimit_header(
        lim: *const prd_limiter,
        d: *const prd_rl_decision,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_limiter_ratelimit_header_pk(
        lim: *const prd_limiter,
        d: *const prd_rl_decision,
        pk: *const c_void,
        pk_len: usize,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_limiter_retry_after_header(d: *const prd_rl_decision, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_limiter_problem_json(
        lim: *const prd_limiter,
        d: *const prd_rl_decision,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_login_guard_new(max_keys: usize, out: *mut *mut prd_login_guard) -> c_int;
    pub fn prd_login_guard_free(g: *mut prd_login_guard);
    pub fn prd_login_guard_set_limits(
        g: *mut prd_login_guard,
        source_attempts: u64,
        source_window_ms: i64,
        account_failures: u64,
        account_window_ms: i64,
    ) -> c_int;
    pub fn prd_login_guard_set_backoff(g: *mut prd_login_guard, free_failures: u32, base_ms: i64, cap_ms: i64)
        -> c_int;
    pub fn prd_login_guard_set_clock(g: *mut prd_login_guard, clock: *const prd_clock) -> c_int;
    pub fn prd_login_guard_set_lockout_callback(
        g: *mut prd_login_guard,
        fn_: prd_login_lockout_fn,
        user_data: *mut c_void,
    ) -> c_int;
    pub fn prd_login_guard_set_logger(g: *mut prd_login_guard, lg: *mut prd_logger) -> c_int;
    pub fn prd_login_guard_set_pg(g: *mut prd_login_guard, pool: *mut prd_pg_pool) -> c_int;
    pub fn prd_login_guard_check(
        g: *mut prd_login_guard,
        account: *const c_void,
        account_len: usize,
        source: *const c_void,
        source_len: usize,
        att: *mut prd_login_attempt,
        out: *mut prd_rl_decision,
    ) -> c_int;
    pub fn prd_login_guard_success(g: *mut prd_login_guard, att: *mut prd_login_attempt) -> c_int;
    pub fn prd_login_guard_failure(g: *mut prd_login_guard, att: *mut prd_login_attempt) -> c_int;
    pub fn prd_login_guard_abandon(g: *mut prd_login_guard, att: *mut prd_login_attempt) -> c_int;
    pub fn prd_login_guard_unlock(g: *mut prd_login_guard, account: *const c_void, account_len: usize) -> c_int;
    pub fn prd_login_guard_count(g: *const prd_login_guard, which: c_int) -> u64;
    pub fn prd_login_guard_prometheus(
        g: *const prd_login_guard,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_login_guard_policy_header(g: *const prd_login_guard, out: *mut c_char, out_size: usize) -> usize;
    pub fn prd_login_guard_ratelimit_header(
        g: *const prd_login_guard,
        d: *const prd_rl_decision,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
}

// prodready/log.h
extern "C" {
    pub fn prd_logger_new(out: *mut *mut prd_logger) -> c_int;
    pub fn prd_logger_free(lg: *mut prd_logger);
    pub fn prd_logger_set_level(lg: *mut prd_logger, level: c_int) -> c_int;
    pub fn prd_logger_enabled(lg: *const prd_logger, level: c_int) -> c_int;
    pub fn prd_logger_set_fd(lg: *mut prd_logger, fd: c_int) -> c_int;
    pub fn prd_logger_set_file(lg: *mut prd_logger, path: *const c_char) -> c_int;
    pub fn prd_logger_set_callback(lg: *mut prd_logger, fn_: prd_log_sink_fn, user_data: *mut c_void) -> c_int;
    pub fn prd_logger_add_fd(lg: *mut prd_logger, fd: c_int, min_level: c_int) -> c_int;
    pub fn prd_logger_add_file(lg: *mut prd_logger, path: *const c_char, min_level: c_int) -> c_int;
    pub fn prd_logger_add_callback(
        lg: *mut prd_logger,
        fn_: prd_log_sink_fn,
        user_data: *mut c_void,
        min_level: c_int,
    ) -> c_int;
    pub fn prd_logger_add_syslog(
        lg: *mut prd_logger,
        socket_path: *const c_char,
        app_name: *const c_char,
        facility: c_int,
        min_level: c_int,
    ) -> c_int;
    pub fn prd_logger_add_journald(
        lg: *mut prd_logger,
        socket_path: *const c_char,
        identifier: *const c_char,
        min_level: c_int,
    ) -> c_int;
    pub fn prd_logger_reopen(lg: *mut prd_logger) -> c_int;
    pub fn prd_logger_reopen_on_sighup(lg: *mut prd_logger) -> c_int;
    pub fn prd_logger_set_profile(lg: *mut prd_logger, profile: c_int) -> c_int;
    pub fn prd_logger_redact_key(lg: *mut prd_logger, key_or_path: *const c_char) -> c_int;
    pub fn prd_logger_allow_key(lg: *mut prd_logger, key_or_path: *const c_char) -> c_int;
    pub fn prd_logger_redact_pattern(lg: *mut prd_logger, name: *const c_char, pattern: *const c_char) -> c_int;
    pub fn prd_logger_redaction_count(
        lg: *const prd_logger,
        i: usize,
        name: *mut *const c_char,
        count: *mut u64,
    ) -> c_int;
    pub fn prd_logger_set_redact_mode(lg: *mut prd_logger, mode: c_int, fingerprint_key: *const prd_secret) -> c_int;
    pub fn prd_logger_disable_redaction(lg: *mut prd_logger) -> c_int;
    pub fn prd_logger_set_async(lg: *mut prd_logger, queue_lines: usize, block: c_int) -> c_int;
    pub fn prd_logger_set_async_limits(
        lg: *mut prd_logger,
        queue_lines: usize,
        queue_bytes: usize,
        block: c_int,
    ) -> c_int;
    pub fn prd_logger_set_sampling(lg: *mut prd_logger, first: u32, thereafter: u32) -> c_int;
    pub fn prd_logger_set_clock(lg: *mut prd_logger, clock: *const prd_clock) -> c_int;
    pub fn prd_logger_count(lg: *const prd_logger, which: c_int) -> u64;
    pub fn prd_logger_prometheus(
        lg: *const prd_logger,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
    pub fn prd_log(lg: *mut prd_logger, level: c_int, msg: *const c_char, fields: *const prd_log_field, n: usize);
    pub fn prd_log_json(lg: *mut prd_logger, level: c_int, msg: *const c_char, fields_json: *const c_char, len: usize);
    pub fn prd_log_with(
        parent: *mut prd_logger,
        fields: *const prd_log_field,
        n: usize,
        child: *mut *mut prd_logger,
    ) -> c_int;
    pub fn prd_trace_id_size() -> usize;
    pub fn prd_span_id_size() -> usize;
    pub fn prd_traceparent_parse(
        traceparent: *const c_char,
        len: usize,
        trace_id: *mut c_char,
        span_id: *mut c_char,
        flags: *mut u8,
    ) -> c_int;
    pub fn prd_log_with_traceparent(
        parent: *mut prd_logger,
        traceparent: *const c_char,
        len: usize,
        child: *mut *mut prd_logger,
    ) -> c_int;
    pub fn prd_log_scrub_line(
        lg: *const prd_logger,
        line: *const c_char,
        len: usize,
        out: *mut *mut c_char,
        out_len: *mut usize,
    ) -> c_int;
    pub fn prd_log_scrub_next(
        lg: *const prd_logger,
        state: *mut prd_log_scrub_state,
        line: *const c_char,
        len: usize,
        out: *mut *mut c_char,
        out_len: *mut usize,
    ) -> c_int;
    pub fn prd_logv(lg: *mut prd_logger, level: c_int, msg: *const c_char, ...);
}

// prodready/pg.h
extern "C" {
    pub fn prd_pg_error_new(out: *mut *mut prd_pg_error) -> c_int;
    pub fn prd_pg_error_free(err: *mut prd_pg_error);
    pub fn prd_pg_error_status(err: *const prd_pg_error) -> c_int;
    pub fn prd_pg_error_sqlstate(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_message(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_detail(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_hint(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_constraint(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_table(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_error_column(err: *const prd_pg_error) -> *const c_char;
    pub fn prd_pg_sqlstate_status(sqlstate: *const c_char) -> c_int;
    pub fn prd_pg_config_new(conninfo: *const c_char, out: *mut *mut prd_pg_config) -> c_int;
    pub fn prd_pg_config_free(cfg: *mut prd_pg_config);
    pub fn prd_pg_config_error(cfg: *const prd_pg_config) -> *const c_char;
    pub fn prd_pg_config_set_conninfo(cfg: *mut prd_pg_config, conninfo: *const c_char) -> c_int;
    pub fn prd_pg_config_set_min_size(cfg: *mut prd_pg_config, n: u32) -> c_int;
    pub fn prd_pg_config_set_max_size(cfg: *mut prd_pg_config, n: u32) -> c_int;
    pub fn prd_pg_config_set_max_waiters(cfg: *mut prd_pg_config, n: u32) -> c_int;
    pub fn prd_pg_config_set_acquire_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_connect_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_idle_timeout_ms(cfg: *mut prd_pg_config, ms: u64) -> c_int;
    pub fn prd_pg_config_set_max_lifetime_ms(cfg: *mut prd_pg_config, ms: u64, jitter_pct: u32) -> c_int;
    pub fn prd_pg_config_set_health_check_after_ms(cfg: *mut prd_pg_config, ms: u64) -> c_int;
    pub fn prd_pg_config_set_statement_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_idle_in_transaction_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_lock_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_query_timeout_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_application_name(cfg: *mut prd_pg_config, name: *const c_char) -> c_int;
    pub fn prd_pg_config_set_leak_threshold_ms(cfg: *mut prd_pg_config, ms: u64) -> c_int;
    pub fn prd_pg_config_set_statement_cache_size(cfg: *mut prd_pg_config, n: u32) -> c_int;
    pub fn prd_pg_config_set_reconnect_backoff_ms(cfg: *mut prd_pg_config, initial_ms: u32, max_ms: u32) -> c_int;
    pub fn prd_pg_config_set_slow_query_ms(cfg: *mut prd_pg_config, ms: u64) -> c_int;
    pub fn prd_pg_config_set_maintenance_interval_ms(cfg: *mut prd_pg_config, ms: u32) -> c_int;
    pub fn prd_pg_config_set_logger(cfg: *mut prd_pg_config, lg: *mut prd_logger) -> c_int;
    pub fn prd_pg_config_set_name(cfg: *mut prd_pg_config, name: *const c_char) -> c_int;
    pub fn prd_pg_config_set_clock(cfg: *mut prd_pg_config, clock: *const prd_clock) -> c_int;
    pub fn prd_pg_pool_new(cfg: *const prd_pg_config, out: *mut *mut prd_pg_pool, err: *mut prd_pg_error) -> c_int;
    pub fn prd_pg_pool_acquire_at(
        pool: *mut prd_pg_pool,
        out: *mut *mut prd_pg_conn,
        err: *mut prd_pg_error,
        file: *const c_char,
        line: c_int,
    ) -> c_int;
    pub fn prd_pg_pool_release(conn: *mut prd_pg_conn);
    pub fn prd_pg_pool_close(pool: *mut prd_pg_pool, drain_ms: u32) -> c_int;
    pub fn prd_pg_pool_free(pool: *mut prd_pg_pool);
    pub fn prd_pg_pool_maintain(pool: *mut prd_pg_pool) -> c_int;
    pub fn prd_pg_params_new(out: *mut *mut prd_pg_params) -> c_int;
    pub fn prd_pg_params_free(p: *mut prd_pg_params);
    pub fn prd_pg_params_reset(p: *mut prd_pg_params);
    pub fn prd_pg_params_set_binary_results(p: *mut prd_pg_params, binary: c_int) -> c_int;
    pub fn prd_pg_params_count(p: *const prd_pg_params) -> usize;
    pub fn prd_pg_params_add_text(p: *mut prd_pg_params, s: *const c_char) -> c_int;
    pub fn prd_pg_params_add_textn(p: *mut prd_pg_params, s: *const c_char, len: usize) -> c_int;
    pub fn prd_pg_params_add_null(p: *mut prd_pg_params) -> c_int;
    pub fn prd_pg_params_add_int32(p: *mut prd_pg_params, v: i32) -> c_int;
    pub fn prd_pg_params_add_int64(p: *mut prd_pg_params, v: i64) -> c_int;
    pub fn prd_pg_params_add_double(p: *mut prd_pg_params, v: f64) -> c_int;
    pub fn prd_pg_params_add_bool(p: *mut prd_pg_params, v: c_int) -> c_int;
    pub fn prd_pg_params_add_bytea(p: *mut prd_pg_params, data: *const c_void, len: usize) -> c_int;
    pub fn prd_pg_params_add_typed(
        p: *mut prd_pg_params,
        type_oid: u32,
        format: c_int,
        data: *const c_void,
        len: usize,
    ) -> c_int;
    pub fn prd_pg_query(
        conn: *mut prd_pg_conn,
        sql: *const c_char,
        params: *const prd_pg_params,
        out: *mut *mut prd_pg_result,
    ) -> c_int;
    pub fn prd_pg_query_text(
        conn: *mut prd_pg_conn,
        sql: *const c_char,
        n: usize,
        values: *const *const c_char,
        out: *mut *mut prd_pg_result,
    ) -> c_int;
    pub fn prd_pg_conn_error(conn: *const prd_pg_conn) -> *const prd_pg_error;
    pub fn prd_pg_conn_ok(conn: *const prd_pg_conn) -> c_int;
    pub fn prd_pg_result_free(r: *mut prd_pg_result);
    pub fn prd_pg_result_rows(r: *const prd_pg_result) -> usize;
    pub fn prd_pg_result_cols(r: *const prd_pg_result) -> usize;
    pub fn prd_pg_result_affected(r: *const prd_pg_result) -> u64;
    pub fn prd_pg_result_column_name(r: *const prd_pg_result, col: usize) -> *const c_char;
    pub fn prd_pg_result_column_index(r: *const prd_pg_result, name: *const c_char) -> c_long;
    pub fn prd_pg_result_is_null(r: *const prd_pg_result, row: usize, col: usize) -> c_int;
    pub fn prd_pg_result_text(r: *const prd_pg_result, row: usize, col: usize, len: *mut usize) -> *const c_char;
    pub fn prd_pg_result_int64(r: *const prd_pg_result, row: usize, col: usize, v: *mut i64) -> c_int;
    pub fn prd_pg_result_double(r: *const prd_pg_result, row: usize, col: usize, v: *mut f64) -> c_int;
    pub fn prd_pg_result_bool(r: *const prd_pg_result, row: usize, col: usize, v: *mut c_int) -> c_int;
    pub fn prd_pg_uuid_size() -> usize;
    pub fn prd_pg_result_uuid(r: *const prd_pg_result, row: usize, col: usize, out: *mut u8) -> c_int;
    pub fn prd_pg_result_timestamp_us(r: *const prd_pg_result, row: usize, col: usize, unix_us: *mut i64) -> c_int;
    pub fn prd_pg_result_bytea(
        r: *const prd_pg_result,
        row: usize,
        col: usize,
        out: *mut c_void,
        out_cap: usize,
        len: *mut usize,
    ) -> c_int;
    pub fn prd_pg_query_each(
        conn: *mut prd_pg_conn,
        sql: *const c_char,
        params: *const prd_pg_params,
        fn_: prd_pg_row_fn,
        user_data: *mut c_void,
        rows: *mut u64,
    ) -> c_int;
    pub fn prd_pg_copy_in_start(conn: *mut prd_pg_conn, sql: *const c_char) -> c_int;
    pub fn prd_pg_copy_in_put(conn: *mut prd_pg_conn, data: *const c_void, len: usize) -> c_int;
    pub fn prd_pg_copy_in_end(conn: *mut prd_pg_conn, abort_reason: *const c_char, rows: *mut u64) -> c_int;
    pub fn prd_pg_copy_out(
        conn: *mut prd_pg_conn,
        sql: *const c_char,
        fn_: prd_pg_copy_fn,
        user_data: *mut c_void,
        rows: *mut u64,
    ) -> c_int;
    pub fn prd_pg_listener_new(
        cfg: *const prd_pg_config,
        fn_: prd_pg_notify_fn,
        user_data: *mut c_void,
        out: *mut *mut prd_pg_listener,
        err: *mut prd_pg_error,
    ) -> c_int;
    pub fn prd_pg_listener_listen(l: *mut prd_pg_listener, channel: *const c_char) -> c_int;
    pub fn prd_pg_listener_unlisten(l: *mut prd_pg_listener, channel: *const c_char) -> c_int;
    pub fn prd_pg_listener_free(l: *mut prd_pg_listener);
    pub fn prd_pg_notify(conn: *mut prd_pg_conn, channel: *const c_char, payload: *const c_char) -> c_int;
    pub fn prd_pg_async_new(pool: *mut prd_pg_pool, max_conns: u32, out: *mut *mut prd_pg_async) -> c_int;
    pub fn prd_pg_async_set_pipeline_depth(a: *mut prd_pg_async, depth: u32) -> c_int;
    pub fn prd_pg_async_set_max_queued(a: *mut prd_pg_async, n: u32) -> c_int;
    pub fn prd_pg_async_fd(a: *const prd_pg_async) -> c_int;
    pub fn prd_pg_async_timeout_ms(a: *const prd_pg_async) -> c_int;
    pub fn prd_pg_async_process(a: *mut prd_pg_async) -> c_int;
    pub fn prd_pg_async_pending(a: *const prd_pg_async) -> usize;
    pub fn prd_pg_async_query(
        a: *mut prd_pg_async,
        sql: *const c_char,
        params: *const prd_pg_params,
        timeout_ms: u32,
        fn_: prd_pg_async_fn,
        user_data: *mut c_void,
    ) -> c_int;
    pub fn prd_pg_async_acquire(
        a: *mut prd_pg_async,
        timeout_ms: u32,
        fn_: prd_pg_async_acquire_fn,
        user_data: *mut c_void,
    ) -> c_int;
    pub fn prd_pg_async_conn_query(
        a: *mut prd_pg_async,
        conn: *mut prd_pg_conn,
        sql: *const c_char,
        params: *const prd_pg_params,
        timeout_ms: u32,
        fn_: prd_pg_async_fn,
        user_data: *mut c_void,
    ) -> c_int;
    pub fn prd_pg_async_release(a: *mut prd_pg_async, conn: *mut prd_pg_conn) -> c_int;
    pub fn prd_pg_async_free(a: *mut prd_pg_async);
    pub fn prd_pg_migrate(
        pool: *mut prd_pg_pool,
        set: *const c_char,
        migrations: *const prd_pg_migration,
        n: usize,
        applied: *mut u32,
        err: *mut prd_pg_error,
    ) -> c_int;
    pub fn prd_pg_stores_migrate(pool: *mut prd_pg_pool, applied: *mut u32, err: *mut prd_pg_error) -> c_int;
    pub fn prd_pg_tx_options_new(out: *mut *mut prd_pg_tx_options) -> c_int;
    pub fn prd_pg_tx_options_free(o: *mut prd_pg_tx_options);
    pub fn prd_pg_tx_options_set_isolation(o: *mut prd_pg_tx_options, level: c_int) -> c_int;
    pub fn prd_pg_tx_options_set_read_only(o: *mut prd_pg_tx_options, read_only: c_int) -> c_int;
    pub fn prd_pg_tx_options_set_deferrable(o: *mut prd_pg_tx_options, deferrable: c_int) -> c_int;
    pub fn prd_pg_tx_options_set_max_attempts(o: *mut prd_pg_tx_options, n: u32) -> c_int;
    pub fn prd_pg_tx_options_set_backoff_ms(o: *mut prd_pg_tx_options, initial_ms: u32, max_ms: u32) -> c_int;
    pub fn prd_pg_tx_options_set_timeout_ms(o: *mut prd_pg_tx_options, ms: u32) -> c_int;
    pub fn prd_pg_tx_run(
        pool: *mut prd_pg_pool,
        opts: *const prd_pg_tx_options,
        fn_: prd_pg_tx_fn,
        user_data: *mut c_void,
        err: *mut prd_pg_error,
    ) -> c_int;
    pub fn prd_pg_tx_run_at(
        pool: *mut prd_pg_pool,
        opts: *const prd_pg_tx_options,
        fn_: prd_pg_tx_fn,
        user_data: *mut c_void,
        err: *mut prd_pg_error,
        file: *const c_char,
        line: c_int,
    ) -> c_int;
    pub fn prd_pg_savepoint_run(conn: *mut prd_pg_conn, fn_: prd_pg_tx_fn, user_data: *mut c_void) -> c_int;
    pub fn prd_pg_pool_metric(pool: *const prd_pg_pool, which: c_int) -> u64;
    pub fn prd_pg_metric_name(which: c_int) -> *const c_char;
    pub fn prd_pg_pool_retries_by_sqlstate(pool: *const prd_pg_pool, sqlstate: *const c_char) -> u64;
    pub fn prd_pg_pool_histogram_bucket(
        pool: *const prd_pg_pool,
        h: c_int,
        i: usize,
        upper_ns: *mut i64,
        count: *mut u64,
    ) -> c_int;
    pub fn prd_pg_pool_histogram_sum_ns(pool: *const prd_pg_pool, h: c_int) -> u64;
    pub fn prd_pg_pool_prometheus(
        pool: *const prd_pg_pool,
        prefix: *const c_char,
        out: *mut c_char,
        out_size: usize,
    ) -> usize;
}
