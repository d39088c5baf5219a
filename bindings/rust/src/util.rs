//! Helpers every module shares: strings into and out of C.
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;

use crate::error::{Error, Result, Status};

/// A NUL-terminated copy of `s` for a C string argument; a NUL inside is
/// `Invalid` (C would silently cut the text there).
pub(crate) fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::with_detail(Status::Invalid, format!("{what} contains a NUL byte")))
}

/// An optional C string argument: NULL for `None`.
pub(crate) fn opt_cstring(s: Option<&str>, what: &str) -> Result<Option<CString>> {
    s.map(|s| cstring(s, what)).transpose()
}

pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// A borrowed C string as an owned Rust string (lossy for bad UTF-8);
/// `None` for NULL.
pub(crate) fn from_c(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// A string from a function that writes snprintf-style (returns the
/// length it needs, writes only when the buffer is larger).
pub(crate) fn text_out(mut write: impl FnMut(*mut c_char, usize) -> usize) -> String {
    let need = write(ptr::null_mut(), 0);
    let mut buf = vec![0u8; need + 1];
    let got = write(buf.as_mut_ptr() as *mut c_char, buf.len());
    buf.truncate(got.min(need));
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The text a library function wrote into a fixed buffer (up to its NUL).
pub(crate) fn buf_to_string(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A `Duration` as whole milliseconds for the C setters, saturated.
pub(crate) fn ms_i64(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ms_u32(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

pub(crate) fn ms_u64(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A module's metrics in the Prometheus text format: `write(prefix, out,
/// size)` is one of the library's `*_prometheus` functions, which write
/// nothing for a prefix that is not a metric name prefix.
pub(crate) fn prometheus_text(
    prefix: &str,
    mut write: impl FnMut(*const c_char, *mut c_char, usize) -> usize,
) -> Result<String> {
    let p = cstring(prefix, "prefix")?;
    let text = text_out(|out, size| write(p.as_ptr(), out, size));
    if text.is_empty() {
        return Err(Error::with_detail(Status::Invalid, "not a metric name prefix"));
    }
    Ok(text)
}
