//! Clocks. Every API that takes a clock takes `Option<&Clock>`: `None` is
//! the system clock. A manual clock moves only when told to, so tests of
//! expiry and rate limits need no sleeping.
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{check, Result};
use crate::sys;

struct Raw(NonNull<sys::prd_clock>);

// The header: clocks are shareable once made; manual moves may race with
// readers safely.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

impl Drop for Raw {
    fn drop(&mut self) {
        unsafe { sys::prd_clock_free(self.0.as_ptr()) }
    }
}

/// A manual clock: wall time (Unix nanoseconds) and monotonic time. Cheap
/// to clone (the clones are one clock); objects that use it keep a clone,
/// so it lives as long as they do.
#[derive(Clone)]
pub struct Clock {
    raw: Arc<Raw>,
}

impl Clock {
    /// A manual clock at these wall and monotonic times (nanoseconds).
    pub fn manual(wall_ns: i64, mono_ns: i64) -> Result<Clock> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_clock_manual_new(wall_ns, mono_ns, &mut out) })?;
        Ok(Clock { raw: Arc::new(Raw(NonNull::new(out).expect("PRD_OK with a NULL clock"))) })
    }

    /// Move both times forward.
    pub fn advance(&self, by: Duration) -> Result<()> {
        self.advance_ns(i64::try_from(by.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Move by `delta_ns`; a negative delta moves the wall clock only
    /// (wall clocks jump back; monotonic time never does).
    pub fn advance_ns(&self, delta_ns: i64) -> Result<()> {
        check(unsafe { sys::prd_clock_manual_advance(self.as_mut_ptr(), delta_ns) })
    }

    /// Set the wall time; monotonic time is unchanged.
    pub fn set_wall_ns(&self, wall_ns: i64) -> Result<()> {
        check(unsafe { sys::prd_clock_manual_set_wall(self.as_mut_ptr(), wall_ns) })
    }

    /// Wall time, nanoseconds since the Unix epoch.
    pub fn wall_ns(&self) -> i64 {
        unsafe { sys::prd_clock_wall_ns(self.as_ptr()) }
    }

    /// Monotonic time in nanoseconds.
    pub fn mono_ns(&self) -> i64 {
        unsafe { sys::prd_clock_mono_ns(self.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::prd_clock {
        self.raw.0.as_ptr()
    }

    pub(crate) fn as_mut_ptr(&self) -> *mut sys::prd_clock {
        self.raw.0.as_ptr()
    }
}

pub(crate) fn opt(clock: Option<&Clock>) -> *const sys::prd_clock {
    clock.map_or(ptr::null(), Clock::as_ptr)
}

/// The system's wall time in Unix nanoseconds (as the library reads it).
pub fn system_wall_ns() -> i64 {
    unsafe { sys::prd_clock_wall_ns(ptr::null()) }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(manual, wall {} ns, mono {} ns)", self.wall_ns(), self.mono_ns())
    }
}
