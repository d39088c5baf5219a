//! The encodings and comparisons the library uses itself: strict
//! hexadecimal and canonical unpadded base64url, RFC 3339 times, and a
//! constant-time comparison.
use std::os::raw::c_char;

use crate::error::{check, Error, Result, Status};
use crate::sys;
use crate::util::text_out;

/// Lower-case hexadecimal.
pub fn hex_encode(data: &[u8]) -> String {
    text_out(|out, size| unsafe { sys::prd_hex_encode(out, size, data.as_ptr().cast(), data.len()) })
}

/// Unpadded base64url.
pub fn base64url_encode(data: &[u8]) -> String {
    text_out(|out, size| unsafe { sys::prd_base64url_encode(out, size, data.as_ptr().cast(), data.len()) })
}

fn decode(
    text: &str,
    cap: usize,
    f: unsafe extern "C" fn(*mut std::os::raw::c_void, usize, *mut usize, *const c_char, usize) -> i32,
) -> Result<Vec<u8>> {
    let mut out = vec![0u8; cap];
    let mut len = 0usize;
    check(unsafe { f(out.as_mut_ptr().cast(), out.len(), &mut len, text.as_ptr().cast(), text.len()) })?;
    out.truncate(len);
    Ok(out)
}

/// Decode hexadecimal (either case); an odd length or another character
/// is `Invalid`.
pub fn hex_decode(text: &str) -> Result<Vec<u8>> {
    decode(text, text.len() / 2 + 1, sys::prd_hex_decode)
}

/// Decode canonical unpadded base64url; padding, whitespace, the standard
/// alphabet and non-zero unused bits are `Invalid`.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>> {
    decode(text, text.len() / 4 * 3 + 3, sys::prd_base64url_decode)
}

/// Equal contents, compared in time that depends only on the length
/// (different lengths are unequal at once).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && unsafe { sys::prd_memeq(a.as_ptr().cast(), b.as_ptr().cast(), a.len()) } == 1
}

/// Parse a strict RFC 3339 date-time into Unix nanoseconds.
pub fn rfc3339_parse(text: &str) -> Result<i64> {
    let mut ns = 0i64;
    check(unsafe { sys::prd_rfc3339_parse(text.as_ptr().cast(), text.len(), &mut ns) })?;
    Ok(ns)
}

/// Format Unix nanoseconds as UTC RFC 3339 with 0, 3, 6 or 9 fractional
/// digits (truncated). `Invalid` for other digit counts and for the
/// outermost second of the i64 range.
pub fn rfc3339_format(unix_ns: i64, frac_digits: u32) -> Result<String> {
    let digits = i32::try_from(frac_digits).unwrap_or(-1);
    let s = text_out(|out, size| unsafe { sys::prd_rfc3339_format(unix_ns, digits, out, size) });
    if s.is_empty() {
        return Err(Error::with_detail(Status::Invalid, "cannot format this time with these digits"));
    }
    Ok(s)
}
