//! Secrets: key material in the C library's guarded memory ([`Secret`])
//! and text that must not linger ([`SecretString`]). Neither prints its
//! content: `Debug` shows only a length, and there is no `Display`.
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::error::{check, Result};
use crate::sys;
use crate::util::cstring;

/// How text read from an environment variable or a file is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes as they are.
    Raw,
    /// Hexadecimal, either case.
    Hex,
    /// Unpadded base64url.
    Base64Url,
}

impl Encoding {
    fn code(self) -> i32 {
        match self {
            Encoding::Raw => sys::PRD_SECRET_RAW,
            Encoding::Hex => sys::PRD_SECRET_HEX,
            Encoding::Base64Url => sys::PRD_SECRET_BASE64URL,
        }
    }
}

/// Key material (a pepper, a fingerprint key) held by the C library in
/// guarded memory: guard pages, kept out of swap where allowed, read-only
/// once loaded, wiped when dropped. Shareable between threads.
pub struct Secret {
    raw: NonNull<sys::prd_secret>,
}

// The header: a prd_secret may be shared between threads once created.
unsafe impl Send for Secret {}
unsafe impl Sync for Secret {}

impl Secret {
    fn made(st: i32, out: *mut sys::prd_secret) -> Result<Secret> {
        check(st)?;
        Ok(Secret { raw: NonNull::new(out).expect("PRD_OK with a NULL secret") })
    }

    /// A copy of `bytes` (1 to 4096 of them); wipe your copy yourself.
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret> {
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_secret_from_bytes(bytes.as_ptr().cast(), bytes.len(), &mut out) };
        Secret::made(st, out)
    }

    /// Decode hexadecimal text.
    pub fn from_hex(hex: &str) -> Result<Secret> {
        let c = cstring(hex, "hex")?;
        let mut out = ptr::null_mut();
        Secret::made(unsafe { sys::prd_secret_from_hex(c.as_ptr(), &mut out) }, out)
    }

    /// Decode unpadded base64url text.
    pub fn from_base64url(text: &str) -> Result<Secret> {
        let c = cstring(text, "base64url")?;
        let mut out = ptr::null_mut();
        Secret::made(unsafe { sys::prd_secret_from_base64url(c.as_ptr(), &mut out) }, out)
    }

    /// Read and decode an environment variable (`NotFound` when unset).
    pub fn from_env(name: &str, encoding: Encoding) -> Result<Secret> {
        let c = cstring(name, "variable name")?;
        let mut out = ptr::null_mut();
        Secret::made(unsafe { sys::prd_secret_from_env(c.as_ptr(), encoding.code(), &mut out) }, out)
    }

    /// Read and decode a file that gives group and others no access
    /// (`Permission` otherwise, `NotFound` when missing).
    pub fn from_file(path: impl AsRef<Path>, encoding: Encoding) -> Result<Secret> {
        let p = path_cstring(path.as_ref())?;
        let mut out = ptr::null_mut();
        Secret::made(unsafe { sys::prd_secret_from_file(p.as_ptr(), encoding.code(), &mut out) }, out)
    }

    /// `len` random bytes (1 to 4096).
    pub fn random(len: usize) -> Result<Secret> {
        let mut out = ptr::null_mut();
        Secret::made(unsafe { sys::prd_secret_random(len, &mut out) }, out)
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        unsafe { sys::prd_secret_len(self.raw.as_ptr()) }
    }

    /// Never true for a secret that exists (secrets hold 1 byte or more).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn as_ptr(&self) -> *const sys::prd_secret {
        self.raw.as_ptr()
    }
}

pub(crate) fn path_cstring(p: &Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| crate::Error::with_detail(crate::Status::Invalid, "path contains a NUL byte"))
}

impl PartialEq for Secret {
    /// Compared in constant time for a given length.
    fn eq(&self, other: &Secret) -> bool {
        unsafe { sys::prd_secret_equal(self.raw.as_ptr(), other.raw.as_ptr()) == 1 }
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.len())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        unsafe { sys::prd_secret_free(self.raw.as_ptr()) }
    }
}

/// Text that is a secret (a PASERK of a local or secret key): wiped when
/// dropped, no `Display`, and a `Debug` that shows only its length. Read
/// it with [`SecretString::expose`].
pub struct SecretString {
    bytes: Vec<u8>,
}

impl SecretString {
    pub(crate) fn from_vec(bytes: Vec<u8>) -> SecretString {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        SecretString { bytes }
    }

    /// The text. Say where it goes: every copy made from it is yours to wipe.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or("")
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({} bytes)", self.bytes.len())
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        // The whole capacity: a Vec may have held the text at a larger size.
        let cap = self.bytes.capacity();
        unsafe { sys::prd_memzero(self.bytes.as_mut_ptr().cast(), cap) }
    }
}

impl From<String> for SecretString {
    /// Takes the text over (no copy is left behind by this conversion).
    fn from(text: String) -> SecretString {
        SecretString { bytes: text.into_bytes() }
    }
}
