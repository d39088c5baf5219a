//! Structured JSON log lines that never leak a secret: redaction by key,
//! path and value shape, on by default, before any sink.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{info, Logger};
//! let log = Logger::new()?;                      // stderr, info, redaction on
//! info!(log, "user logged in", user = "alice", attempt = 2);
//! log.info("signup", &[("password", "hunter2".into())]); // "[REDACTED]"
//! # Ok(()) }
//! ```
//!
//! A logger is configured through `&mut self` while it is not shared
//! (setters on a shared logger are `Invalid`: the header's rule, checked),
//! then cloned to every thread that logs; clones are one logger.
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::error::{check, Error, Result, Status};
use crate::secret::{path_cstring, Secret, SecretString};
use crate::sys;
use crate::util::{buf_to_string, cstring, from_c, opt_cstring, opt_ptr};

/// A line's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Debug.
    Debug,
    /// Info (the default threshold).
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
    /// Fatal.
    Fatal,
    /// Off: as a threshold, nothing is written.
    Off,
}

impl Level {
    fn code(self) -> c_int {
        match self {
            Level::Debug => sys::PRD_LOG_DEBUG,
            Level::Info => sys::PRD_LOG_INFO,
            Level::Warn => sys::PRD_LOG_WARN,
            Level::Error => sys::PRD_LOG_ERROR,
            Level::Fatal => sys::PRD_LOG_FATAL,
            Level::Off => sys::PRD_LOG_OFF,
        }
    }
}

/// Which names the time, level and message get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `time`, `level`, `msg`.
    Default,
    /// Elastic Common Schema.
    Ecs,
    /// OpenTelemetry.
    Otel,
}

/// How a redacted value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedactMode {
    /// `"[REDACTED]"` (default).
    Censor,
    /// The member is left out.
    Remove,
    /// A keyed fingerprint, so equal values can be correlated.
    Fingerprint,
}

/// The logger's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogCounter {
    /// Lines written at a level.
    Lines(Level),
    /// Lines dropped (the async queue was full).
    Dropped,
    /// Lines sampled out.
    SampledOut,
    /// Write errors.
    WriteErrors,
    /// Scrubbed lines that did not read as JSON end to end.
    ScrubText,
}

/// A field's value. `From` conversions exist for the usual types; a
/// [`SecretString`] becomes a [`Value::Secret`].
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// A string (any bytes; redacted by shape like every string).
    Str(&'a str),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float (NaN and infinities are written as strings).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// JSON null.
    Null,
    /// Any JSON value as text, written as that value (redacted inside).
    Json(&'a str),
    /// A status, written as an object of its code, name and phrase.
    Status(Status),
    /// Always written as `"[REDACTED]"`, whatever the rules.
    Secret(&'a str),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Value<'a> {
        Value::Str(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Value<'a> {
        Value::Str(v)
    }
}
impl<'a> From<&'a SecretString> for Value<'a> {
    fn from(v: &'a SecretString) -> Value<'a> {
        Value::Secret(v.expose())
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<Status> for Value<'_> {
    fn from(v: Status) -> Self {
        Value::Status(v)
    }
}
impl<'a> From<&'a Error> for Value<'a> {
    fn from(v: &'a Error) -> Value<'a> {
        Value::Status(v.status())
    }
}
macro_rules! from_int {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(v: $t) -> Self {
                Value::$v(v.into())
            }
        }
    )*};
}
from_int!(i8 => Int, i16 => Int, i32 => Int, i64 => Int, u8 => Uint, u16 => Uint, u32 => Uint, u64 => Uint);
impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Uint(v as u64)
    }
}
impl From<isize> for Value<'_> {
    fn from(v: isize) -> Self {
        Value::Int(v as i64)
    }
}
impl<'a, T> From<Option<T>> for Value<'a>
where
    T: Into<Value<'a>>,
{
    fn from(v: Option<T>) -> Value<'a> {
        v.map_or(Value::Null, Into::into)
    }
}

/// The C fields for a call: keys copied once into one buffer with NULs.
struct Fields {
    fields: Vec<sys::prd_log_field>,
    _keys: Vec<u8>,
}

fn fields(list: &[(&str, Value<'_>)]) -> Fields {
    let mut keys = Vec::with_capacity(list.iter().map(|(k, _)| k.len() + 1).sum());
    let mut offsets = Vec::with_capacity(list.len());
    for (k, _) in list {
        offsets.push(keys.len());
        // A NUL inside a key would cut it in C: it is written as U+FFFD.
        for &b in k.as_bytes() {
            if b == 0 {
                keys.extend_from_slice("\u{fffd}".as_bytes());
            } else {
                keys.push(b);
            }
        }
        keys.push(0);
    }
    let base = keys.as_ptr() as *const c_char;
    let fields = list
        .iter()
        .zip(offsets)
        .map(|((_, v), off)| {
            let key = unsafe { base.add(off) };
            let (type_, len, value) = match *v {
                Value::Str(s) => (sys::PRD_LF_STRING, s.len(), sys::prd_log_value { s: s.as_ptr().cast() }),
                Value::Int(i) => (sys::PRD_LF_INT, 0, sys::prd_log_value { i }),
                Value::Uint(u) => (sys::PRD_LF_UINT, 0, sys::prd_log_value { u }),
                Value::Float(d) => (sys::PRD_LF_DOUBLE, 0, sys::prd_log_value { d }),
                Value::Bool(b) => (sys::PRD_LF_BOOL, 0, sys::prd_log_value { b: b as c_int }),
                Value::Null => (sys::PRD_LF_NULL, 0, sys::prd_log_value { i: 0 }),
                Value::Json(s) => (sys::PRD_LF_JSON_TEXT, s.len(), sys::prd_log_value { s: s.as_ptr().cast() }),
                Value::Status(st) => (sys::PRD_LF_STATUS, 0, sys::prd_log_value { st: st.code() }),
                Value::Secret(s) => (sys::PRD_LF_SECRET, s.len(), sys::prd_log_value { s: s.as_ptr().cast() }),
            };
            sys::prd_log_field { key, type_, len, v: value }
        })
        .collect();
    // Moving the Vec into the struct does not move its heap buffer.
    Fields { fields, _keys: keys }
}

fn message(msg: &str) -> CString {
    CString::new(msg).unwrap_or_else(|_| CString::new(msg.replace('\0', "\u{fffd}")).expect("no NUL left"))
}

type Sink = Box<dyn Fn(&str) + Send + Sync + 'static>;

unsafe extern "C" fn sink_trampoline(user_data: *mut c_void, line: *const c_char, len: usize) {
    let f = &*(user_data as *const Sink);
    let bytes = std::slice::from_raw_parts(line.cast::<u8>(), len);
    let text = String::from_utf8_lossy(bytes);
    // A panic must not unwind into C: the line is lost, the logger goes on.
    let _ = catch_unwind(AssertUnwindSafe(|| f(&text)));
}

/// What every logger sharing one set of sinks keeps alive: the callbacks
/// and the clock the C side points at.
#[derive(Default)]
struct Shared {
    // Boxed twice on purpose: the C side holds the address of each Sink,
    // which must not move when the Vec grows.
    #[allow(clippy::vec_box)]
    sinks: Mutex<Vec<Box<Sink>>>,
    clock: Mutex<Option<Clock>>,
}

struct Raw {
    raw: NonNull<sys::prd_logger>,
    shared: Arc<Shared>,
}

// The header: once configured, prd_log and prd_log_with may be called from
// any number of threads; configuration needs a logger not yet shared.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

impl Drop for Raw {
    fn drop(&mut self) {
        // Frees this handle; the sinks stay while `shared` lives in others.
        unsafe { sys::prd_logger_free(self.raw.as_ptr()) }
    }
}

/// A logger. Cheap to clone (clones are one logger); children made with
/// [`Logger::with`] share its sinks and carry bound fields.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Raw>,
}

impl Logger {
    /// A logger writing to stderr at level info with the default redaction.
    pub fn new() -> Result<Logger> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_logger_new(&mut out) })?;
        Ok(Logger { inner: Arc::new(Raw { raw: NonNull::new(out).expect("NULL logger"), shared: Arc::default() }) })
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::prd_logger {
        self.inner.raw.as_ptr()
    }

    /// The handle for a setter: only while no clone exists.
    fn config(&mut self) -> Result<*mut sys::prd_logger> {
        match Arc::get_mut(&mut self.inner) {
            Some(r) => Ok(r.raw.as_ptr()),
            None => Err(Error::with_detail(Status::Invalid, "configure a logger before sharing it (it has clones)")),
        }
    }

    fn set(&mut self, f: impl FnOnce(*mut sys::prd_logger) -> c_int) -> Result<&mut Logger> {
        let p = self.config()?;
        check(f(p))?;
        Ok(self)
    }

    /// The threshold. Safe at any time, from any thread.
    pub fn set_level(&self, level: Level) -> Result<()> {
        check(unsafe { sys::prd_logger_set_level(self.as_ptr(), level.code()) })
    }

    /// Would a line at this level be written?
    pub fn enabled(&self, level: Level) -> bool {
        unsafe { sys::prd_logger_enabled(self.as_ptr(), level.code()) != 0 }
    }

    /// Every sink replaced by this fd (not closed by the logger).
    pub fn set_fd(&mut self, fd: RawFd) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_set_fd(p, fd) })
    }

    /// Every sink replaced by this file (O_APPEND, created 0640).
    pub fn set_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Logger> {
        let c = path_cstring(path.as_ref())?;
        self.set(|p| unsafe { sys::prd_logger_set_file(p, c.as_ptr()) })
    }

    fn keep_sink(&mut self, f: impl Fn(&str) + Send + Sync + 'static) -> (Box<Sink>, *mut c_void) {
        let b: Box<Sink> = Box::new(Box::new(f));
        let ud = &*b as *const Sink as *mut c_void;
        (b, ud)
    }

    /// Every sink replaced by a function receiving each line (without
    /// the newline), never concurrently with itself; it must not log
    /// through this logger.
    pub fn set_callback(&mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Result<&mut Logger> {
        let (b, ud) = self.keep_sink(f);
        self.set(|p| unsafe { sys::prd_logger_set_callback(p, Some(sink_trampoline), ud) })?;
        self.inner.shared.sinks.lock().unwrap_or_else(|e| e.into_inner()).push(b);
        Ok(self)
    }

    /// Another sink: an fd, for lines of at least `min_level`.
    pub fn add_fd(&mut self, fd: RawFd, min_level: Level) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_add_fd(p, fd, min_level.code()) })
    }

    /// Another sink: a file.
    pub fn add_file(&mut self, path: impl AsRef<Path>, min_level: Level) -> Result<&mut Logger> {
        let c = path_cstring(path.as_ref())?;
        self.set(|p| unsafe { sys::prd_logger_add_file(p, c.as_ptr(), min_level.code()) })
    }

    /// Another sink: a function.
    pub fn add_callback(&mut self, f: impl Fn(&str) + Send + Sync + 'static, min_level: Level) -> Result<&mut Logger> {
        let (b, ud) = self.keep_sink(f);
        self.set(|p| unsafe { sys::prd_logger_add_callback(p, Some(sink_trampoline), ud, min_level.code()) })?;
        self.inner.shared.sinks.lock().unwrap_or_else(|e| e.into_inner()).push(b);
        Ok(self)
    }

    /// Another sink: syslog (RFC 5424 over a unix datagram socket; `None`
    /// is /dev/log). `facility`: syslog.h's LOG_USER, LOG_DAEMON, ...
    pub fn add_syslog(
        &mut self,
        socket: Option<&Path>,
        app_name: Option<&str>,
        facility: i32,
        min_level: Level,
    ) -> Result<&mut Logger> {
        let s = socket.map(path_cstring).transpose()?;
        let a = opt_cstring(app_name, "app name")?;
        self.set(|p| unsafe { sys::prd_logger_add_syslog(p, opt_ptr(&s), opt_ptr(&a), facility, min_level.code()) })
    }

    /// Another sink: journald's native protocol (`None`: its usual socket).
    pub fn add_journald(
        &mut self,
        socket: Option<&Path>,
        identifier: Option<&str>,
        min_level: Level,
    ) -> Result<&mut Logger> {
        let s = socket.map(path_cstring).transpose()?;
        let i = opt_cstring(identifier, "identifier")?;
        self.set(|p| unsafe { sys::prd_logger_add_journald(p, opt_ptr(&s), opt_ptr(&i), min_level.code()) })
    }

    /// Reopen the file sinks (after logrotate moved them).
    pub fn reopen(&self) -> Result<()> {
        check(unsafe { sys::prd_logger_reopen(self.as_ptr()) })
    }

    /// Reopen the file sinks after each SIGHUP.
    pub fn reopen_on_sighup(&mut self) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_reopen_on_sighup(p) })
    }

    /// Which names time, level and message get.
    pub fn set_profile(&mut self, profile: Profile) -> Result<&mut Logger> {
        let c = match profile {
            Profile::Default => sys::PRD_LOG_PROFILE_DEFAULT,
            Profile::Ecs => sys::PRD_LOG_PROFILE_ECS,
            Profile::Otel => sys::PRD_LOG_PROFILE_OTEL,
        };
        self.set(|p| unsafe { sys::prd_logger_set_profile(p, c) })
    }

    /// Redact this key (any depth) or dotted path too.
    pub fn redact_key(&mut self, key_or_path: &str) -> Result<&mut Logger> {
        let c = cstring(key_or_path, "key")?;
        self.set(|p| unsafe { sys::prd_logger_redact_key(p, c.as_ptr()) })
    }

    /// Allowlist mode (fails closed): only allowed keys are written in clear.
    pub fn allow_key(&mut self, key_or_path: &str) -> Result<&mut Logger> {
        let c = cstring(key_or_path, "key")?;
        self.set(|p| unsafe { sys::prd_logger_allow_key(p, c.as_ptr()) })
    }

    /// A value pattern of the application's (the library's non-backtracking
    /// language: docs/log.md), e.g. `("employee_id", r"\bEMP-\d{6}\b")`.
    pub fn redact_pattern(&mut self, name: &str, pattern: &str) -> Result<&mut Logger> {
        let (n, pat) = (cstring(name, "pattern name")?, cstring(pattern, "pattern")?);
        self.set(|p| unsafe { sys::prd_logger_redact_pattern(p, n.as_ptr(), pat.as_ptr()) })
    }

    /// How many values each rule hid: (rule name, count), built-in rules first.
    pub fn redaction_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for i in 0.. {
            let (mut name, mut count) = (ptr::null(), 0u64);
            if unsafe { sys::prd_logger_redaction_count(self.as_ptr(), i, &mut name, &mut count) } != sys::PRD_OK {
                break;
            }
            out.push((from_c(name).unwrap_or_default(), count));
        }
        out
    }

    /// How redacted values are written; fingerprints need a key (16-64 bytes).
    pub fn set_redact_mode(&mut self, mode: RedactMode, fingerprint_key: Option<&Secret>) -> Result<&mut Logger> {
        let m = match mode {
            RedactMode::Censor => sys::PRD_REDACT_CENSOR,
            RedactMode::Remove => sys::PRD_REDACT_REMOVE,
            RedactMode::Fingerprint => sys::PRD_REDACT_FINGERPRINT,
        };
        let k = fingerprint_key.map_or(ptr::null(), Secret::as_ptr);
        self.set(|p| unsafe { sys::prd_logger_set_redact_mode(p, m, k) })
    }

    /// Turn redaction off (secret fields stay censored). Shows up in review.
    pub fn disable_redaction(&mut self) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_disable_redaction(p) })
    }

    /// Write from a thread through a queue of `queue_lines`; `block`: wait
    /// when full instead of dropping (and counting) the line.
    pub fn set_async(&mut self, queue_lines: usize, block: bool) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_set_async(p, queue_lines, block as c_int) })
    }

    /// As [`set_async`](Self::set_async), with a bound in bytes too.
    pub fn set_async_limits(&mut self, queue_lines: usize, queue_bytes: usize, block: bool) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_set_async_limits(p, queue_lines, queue_bytes, block as c_int) })
    }

    /// Per message and second: the first `first` lines, then every
    /// `thereafter`-th (0, 0: off).
    pub fn set_sampling(&mut self, first: u32, thereafter: u32) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_set_sampling(p, first, thereafter) })
    }

    /// The clock of timestamps (kept alive by the logger).
    pub fn set_clock(&mut self, clock: &Clock) -> Result<&mut Logger> {
        self.set(|p| unsafe { sys::prd_logger_set_clock(p, clock.as_ptr()) })?;
        *self.inner.shared.clock.lock().unwrap_or_else(|e| e.into_inner()) = Some(clock.clone());
        Ok(self)
    }

    /// A counter's value.
    pub fn count(&self, which: LogCounter) -> u64 {
        let c = match which {
            LogCounter::Lines(Level::Debug) => sys::PRD_LOG_COUNT_DEBUG,
            LogCounter::Lines(Level::Info) => sys::PRD_LOG_COUNT_INFO,
            LogCounter::Lines(Level::Warn) => sys::PRD_LOG_COUNT_WARN,
            LogCounter::Lines(Level::Error) => sys::PRD_LOG_COUNT_ERROR,
            LogCounter::Lines(Level::Fatal) => sys::PRD_LOG_COUNT_FATAL,
            LogCounter::Lines(Level::Off) => return 0,
            LogCounter::Dropped => sys::PRD_LOG_COUNT_DROPPED,
            LogCounter::SampledOut => sys::PRD_LOG_COUNT_SAMPLED_OUT,
            LogCounter::WriteErrors => sys::PRD_LOG_COUNT_WRITE_ERRORS,
            LogCounter::ScrubText => sys::PRD_LOG_COUNT_SCRUB_TEXT,
        };
        unsafe { sys::prd_logger_count(self.as_ptr(), c) }
    }

    /// Write one line. Never fails: errors are counted.
    pub fn log(&self, level: Level, msg: &str, fields_list: &[(&str, Value<'_>)]) {
        if !self.enabled(level) {
            return;
        }
        let m = message(msg);
        let f = fields(fields_list);
        unsafe { sys::prd_log(self.as_ptr(), level.code(), m.as_ptr(), f.fields.as_ptr(), f.fields.len()) }
    }

    /// Write one line with the fields as the text of one JSON object.
    pub fn log_json(&self, level: Level, msg: &str, fields_json: &str) {
        if !self.enabled(level) {
            return;
        }
        let m = message(msg);
        unsafe {
            sys::prd_log_json(self.as_ptr(), level.code(), m.as_ptr(), fields_json.as_ptr().cast(), fields_json.len())
        }
    }

    /// A debug line.
    pub fn debug(&self, msg: &str, fields: &[(&str, Value<'_>)]) {
        self.log(Level::Debug, msg, fields)
    }

    /// An info line.
    pub fn info(&self, msg: &str, fields: &[(&str, Value<'_>)]) {
        self.log(Level::Info, msg, fields)
    }

    /// A warn line.
    pub fn warn(&self, msg: &str, fields: &[(&str, Value<'_>)]) {
        self.log(Level::Warn, msg, fields)
    }

    /// An error line.
    pub fn error(&self, msg: &str, fields: &[(&str, Value<'_>)]) {
        self.log(Level::Error, msg, fields)
    }

    fn child(&self, st: c_int, out: *mut sys::prd_logger) -> Result<Logger> {
        check(st)?;
        Ok(Logger {
            inner: Arc::new(Raw { raw: NonNull::new(out).expect("NULL child"), shared: self.inner.shared.clone() }),
        })
    }

    /// A child logger whose lines carry these fields (encoded and redacted
    /// once now); it shares this logger's sinks and settings.
    pub fn with(&self, bound: &[(&str, Value<'_>)]) -> Result<Logger> {
        let f = fields(bound);
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_log_with(self.as_ptr(), f.fields.as_ptr(), f.fields.len(), &mut out) };
        self.child(st, out)
    }

    /// A child logger carrying a W3C `traceparent`'s trace and span ids.
    pub fn with_traceparent(&self, traceparent: &str) -> Result<Logger> {
        let mut out = ptr::null_mut();
        let st = unsafe {
            sys::prd_log_with_traceparent(self.as_ptr(), traceparent.as_ptr().cast(), traceparent.len(), &mut out)
        };
        self.child(st, out)
    }

    /// Redact one line by this logger's rules (the engine of `prodready
    /// log scrub`): JSON stays valid JSON; time linear in its length.
    pub fn scrub_line(&self, line: &str) -> Result<String> {
        let (mut out, mut len) = (ptr::null_mut(), 0usize);
        check(unsafe { sys::prd_log_scrub_line(self.as_ptr(), line.as_ptr().cast(), line.len(), &mut out, &mut len) })?;
        Ok(take_text(out, len))
    }

    /// A scrubber for a stream of lines (a PEM key spanning lines is
    /// redacted through its END line).
    pub fn scrubber(&self) -> Scrubber<'_> {
        Scrubber { logger: self, state: sys::prd_log_scrub_state::default() }
    }
}

fn take_text(p: *mut c_char, len: usize) -> String {
    let s = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }).into_owned();
    unsafe { sys::prd_free(p.cast()) };
    s
}

/// Scrubs the lines of one stream in order (one per stream and thread).
pub struct Scrubber<'l> {
    logger: &'l Logger,
    state: sys::prd_log_scrub_state,
}

impl Scrubber<'_> {
    /// The next line, redacted.
    pub fn next_line(&mut self, line: &str) -> Result<String> {
        let (mut out, mut len) = (ptr::null_mut(), 0usize);
        check(unsafe {
            sys::prd_log_scrub_next(
                self.logger.as_ptr(),
                &mut self.state,
                line.as_ptr().cast(),
                line.len(),
                &mut out,
                &mut len,
            )
        })?;
        Ok(take_text(out, len))
    }
}

/// A parsed W3C `traceparent` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// The trace flags.
    pub flags: u8,
}

/// Parse a `traceparent` value (`00-<trace>-<span>-<flags>`); `Invalid`
/// when malformed.
pub fn parse_traceparent(value: &str) -> Result<TraceParent> {
    let mut trace = [0u8; sys::PRD_TRACE_ID_SIZE];
    let mut span = [0u8; sys::PRD_SPAN_ID_SIZE];
    let mut flags = 0u8;
    check(unsafe {
        sys::prd_traceparent_parse(
            value.as_ptr().cast(),
            value.len(),
            trace.as_mut_ptr().cast(),
            span.as_mut_ptr().cast(),
            &mut flags,
        )
    })?;
    Ok(TraceParent { trace_id: buf_to_string(&trace), span_id: buf_to_string(&span), flags })
}

/// `prodready::log!(logger, Level::Info, "message", key = value, ...)`:
/// one line with fields named by the identifiers (nothing is evaluated
/// beyond the values when the level is off).
#[macro_export]
macro_rules! log {
    ($logger:expr, $level:expr, $msg:expr $(, $key:ident = $value:expr)* $(,)?) => {{
        let logger = &$logger;
        let level = $level;
        if logger.enabled(level) {
            logger.log(level, $msg, &[$((stringify!($key), $crate::Value::from($value))),*]);
        }
    }};
}

/// `prodready::debug!(logger, "message", key = value, ...)`.
#[macro_export]
macro_rules! debug {
    ($logger:expr, $($rest:tt)*) => { $crate::log!($logger, $crate::Level::Debug, $($rest)*) };
}

/// `prodready::info!(logger, "message", key = value, ...)`.
#[macro_export]
macro_rules! info {
    ($logger:expr, $($rest:tt)*) => { $crate::log!($logger, $crate::Level::Info, $($rest)*) };
}

/// `prodready::warn!(logger, "message", key = value, ...)`.
#[macro_export]
macro_rules! warn {
    ($logger:expr, $($rest:tt)*) => { $crate::log!($logger, $crate::Level::Warn, $($rest)*) };
}

/// `prodready::error!(logger, "message", key = value, ...)`.
#[macro_export]
macro_rules! error {
    ($logger:expr, $($rest:tt)*) => { $crate::log!($logger, $crate::Level::Error, $($rest)*) };
}

opaque_debug!(Logger, Scrubber<'_>);

impl Logger {
    /// Lines by level, drops, write errors and redactions by rule in the Prometheus text format, names starting with `prefix`
    /// (letters, digits, `_` and `:`; anything else is `Invalid`).
    pub fn prometheus(&self, prefix: &str) -> crate::error::Result<String> {
        crate::util::prometheus_text(prefix, |p, out, size| unsafe {
            sys::prd_logger_prometheus(self.as_ptr(), p, out, size)
        })
    }
}
