//! Errors: every failure of the C library is an [`Error`] carrying its
//! [`Status`] (the stable number, identifier and English phrase, and
//! whether it is the caller's fault or the system's) and, where the
//! library gave one, a detail (a token's precise rejection reason, a
//! database's message and SQLSTATE).
use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use crate::sys;

/// `Result<T, prodready::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// A status of the C library other than success (`prd_status`). The
/// numbers never change within SONAME 1; a status added by a later library
/// arrives as [`Status::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `EINVAL`, client: invalid input or argument.
    Invalid,
    /// `EMISMATCH`, client: a password or value does not match.
    Mismatch,
    /// `EEXPIRED`, client: a token or session expired.
    Expired,
    /// `ENOTYET`, client: a token is not valid yet.
    NotYet,
    /// `ELIMITED`, client: a rate limit was exceeded.
    Limited,
    /// `EBUSY`, system: busy (the hashing memory budget), try again later.
    Busy,
    /// `ETIMEOUT`, system: a deadline passed.
    Timeout,
    /// `ENOMEM`, system: out of memory.
    NoMemory,
    /// `EIO`, system: an input/output error.
    Io,
    /// `EDB`, system: a database error.
    Db,
    /// `ERETRY`, system: retries exhausted (or a retryable database failure).
    Retry,
    /// `ECLOSED`, system: the handle is closed or shutting down.
    Closed,
    /// `ETOOBIG`, client: an input exceeds a configured limit.
    TooBig,
    /// `ENOSPACE`, client: an output buffer too small.
    NoSpace,
    /// `EBADTOKEN`, client: a token is invalid.
    BadToken,
    /// `ENOTFOUND`, client: no such key, session or entry.
    NotFound,
    /// `EPERM`, system: a permission problem (a secret file too open).
    Permission,
    /// `ECONFLICT`, client: a constraint was violated (a duplicate).
    Conflict,
    /// `EUNKNOWN`, system: the outcome is unknown (connection lost in COMMIT).
    Unknown,
    /// `EINTERNAL`, system: an internal error.
    Internal,
    /// `EUNSUPPORTED`, client: valid but unsupported algorithm or format.
    Unsupported,
    /// A status this binding does not know by name.
    Other(i32),
}

const ORDER: [Status; 21] = [
    Status::Invalid,
    Status::Mismatch,
    Status::Expired,
    Status::NotYet,
    Status::Limited,
    Status::Busy,
    Status::Timeout,
    Status::NoMemory,
    Status::Io,
    Status::Db,
    Status::Retry,
    Status::Closed,
    Status::TooBig,
    Status::NoSpace,
    Status::BadToken,
    Status::NotFound,
    Status::Permission,
    Status::Conflict,
    Status::Unknown,
    Status::Internal,
    Status::Unsupported,
];

impl Status {
    /// The status for a C number; `None` for 0 (success).
    pub fn from_code(code: i32) -> Option<Status> {
        match code {
            0 => None,
            1..=21 => Some(ORDER[(code - 1) as usize]),
            other => Some(Status::Other(other)),
        }
    }

    /// The C number (`PRD_EINVAL` is 1, ...).
    pub fn code(self) -> i32 {
        match self {
            Status::Other(c) => c,
            known => ORDER.iter().position(|s| *s == known).map_or(0, |i| i as i32 + 1),
        }
    }

    /// The stable identifier (`"EMISMATCH"`), for logs and metric labels.
    pub fn name(self) -> &'static str {
        static_str(unsafe { sys::prd_status_name(self.code()) })
    }

    /// The fixed English phrase (`"password or value does not match"`).
    pub fn phrase(self) -> &'static str {
        static_str(unsafe { sys::prd_status_str(self.code()) })
    }

    /// True when the status is the caller's mistake (HTTP 4xx), false for
    /// a system failure (5xx).
    pub fn is_client_error(self) -> bool {
        unsafe { sys::prd_status_is_client_error(self.code()) != 0 }
    }
}

fn static_str(p: *const std::os::raw::c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // The library's status strings are static ASCII.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// A failure: its [`Status`], and the library's detail when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    detail: Option<String>,
    sqlstate: Option<String>,
}

impl Error {
    /// An error of this status with no detail.
    pub fn new(status: Status) -> Error {
        Error { status, detail: None, sqlstate: None }
    }

    /// An error of this status with a detail.
    pub fn with_detail(status: Status, detail: impl Into<String>) -> Error {
        Error { status, detail: Some(detail.into()), sqlstate: None }
    }

    pub(crate) fn with_sqlstate(mut self, sqlstate: Option<String>) -> Error {
        self.sqlstate = sqlstate;
        self
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The C number of the status.
    pub fn code(&self) -> i32 {
        self.status.code()
    }

    /// The stable identifier of the status (`"EBADTOKEN"`).
    pub fn name(&self) -> &'static str {
        self.status.name()
    }

    /// The fixed phrase of the status.
    pub fn phrase(&self) -> &'static str {
        self.status.phrase()
    }

    /// True for the caller's mistakes (4xx), false for system failures (5xx).
    pub fn is_client_error(&self) -> bool {
        self.status.is_client_error()
    }

    /// The library's detail: a token's rejection reason ("footer is not
    /// canonical base64url"), a database's message, a setting's complaint.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The SQLSTATE of a database error, when the server sent one.
    pub fn sqlstate(&self) -> Option<&str> {
        self.sqlstate.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(s) = &self.sqlstate {
            write!(f, " (SQLSTATE {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `PRD_OK`, else the status as an error.
pub(crate) fn check(st: c_int) -> Result<()> {
    match Status::from_code(st) {
        None => Ok(()),
        Some(s) => Err(Error::new(s)),
    }
}

/// As [`check`], saying `what` was refused when the status is `Invalid`
/// (the library's EINVAL names nothing; the binding knows the argument).
pub(crate) fn check_invalid(st: c_int, what: &str) -> Result<()> {
    check(st).map_err(|e| match e.status() {
        Status::Invalid => Error::with_detail(Status::Invalid, what),
        _ => e,
    })
}

/// As [`check`], with a detail computed only on failure.
pub(crate) fn check_with(st: c_int, detail: impl FnOnce() -> Option<String>) -> Result<()> {
    match Status::from_code(st) {
        None => Ok(()),
        Some(s) => Err(Error { status: s, detail: detail(), sqlstate: None }),
    }
}

pub(crate) fn check_init() -> Result<()> {
    check(unsafe { sys::prd_init() })?;
    let (major, minor, _) = crate::version_number();
    let (want_major, want_minor) = crate::REQUIRED_VERSION;
    if major != want_major || minor < want_minor {
        return Err(Error::with_detail(
            Status::Unsupported,
            format!("libprodready {major}.{minor} loaded; this crate needs {want_major}.x with x >= {want_minor}"),
        ));
    }
    Ok(())
}
