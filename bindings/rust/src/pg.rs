//! PostgreSQL: a pool with deadlines on every wait, parameterized queries
//! only, transactions that re-run on serialization failures, savepoints,
//! migrations (the stores' schema and the application's), COPY,
//! LISTEN/NOTIFY and the pool's metrics.
//!
//! ```no_run
//! # fn main() -> prodready::Result<()> {
//! use prodready::{Isolation, Pool, TxOptions};
//! let pool = Pool::connect("dbname=app")?;
//! pool.execute("INSERT INTO t VALUES ($1, $2)", &[&1i64, &"a"])?;
//! let rows = pool.query("SELECT id, name FROM t WHERE id > $1", &[&0i64])?;
//! for row in rows.iter() {
//!     let name: Option<&str> = row.str("name")?;
//! }
//! let opts = TxOptions::new()?.isolation(Isolation::Serializable)?;
//! pool.transaction_with(&opts, |tx| {                  // re-run on 40001 / 40P01
//!     tx.execute("UPDATE account SET balance = balance - $1 WHERE id = $2", &[&100i64, &1i64])?;
//!     tx.execute("UPDATE account SET balance = balance + $1 WHERE id = $2", &[&100i64, &2i64])?;
//!     Ok::<_, prodready::Error>(())
//! })?;
//! # Ok(()) }
//! ```
//!
//! A transaction is a closure, not a guard: the library may run it more
//! than once, so keep its effects outside the database idempotent. A
//! connection taken with [`Pool::acquire`] belongs to the thread that took
//! it (`!Send`) and goes back to the pool when dropped.
use std::any::Any;
use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{check, Error, Result, Status};
use crate::log::Logger;
use crate::sys;
use crate::util::{cstring, from_c, ms_u32, ms_u64, text_out};

/// The detail of a pg failure from an error object or a connection.
fn pg_error(st: c_int, err: *const sys::prd_pg_error) -> Error {
    let status = Status::from_code(st).unwrap_or(Status::Internal);
    if err.is_null() {
        return Error::new(status);
    }
    let msg = from_c(unsafe { sys::prd_pg_error_message(err) }).unwrap_or_default();
    let state = from_c(unsafe { sys::prd_pg_error_sqlstate(err) }).filter(|s| !s.is_empty());
    let e = if msg.is_empty() { Error::new(status) } else { Error::with_detail(status, msg) };
    e.with_sqlstate(state)
}

/// An error object for one call, freed after.
struct ErrBox(*mut sys::prd_pg_error);

impl ErrBox {
    fn new() -> Result<ErrBox> {
        let mut e = ptr::null_mut();
        check(unsafe { sys::prd_pg_error_new(&mut e) })?;
        Ok(ErrBox(e))
    }

    fn fail(&self, st: c_int) -> Result<()> {
        if st == sys::PRD_OK {
            Ok(())
        } else {
            Err(pg_error(st, self.0))
        }
    }
}

impl Drop for ErrBox {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_error_free(self.0) }
    }
}

/// Where the caller is, as the C side's file and line for leak reports.
fn here(loc: &Location<'_>) -> (CString, c_int) {
    let file = CString::new(loc.file().replace('\0', "?")).unwrap_or_default();
    (file, c_int::try_from(loc.line()).unwrap_or(0))
}

/// Settings of a pool. Defaults: 1 to 10 connections, acquire and connect
/// timeouts 5 s, statement_timeout 30 s, idle-in-transaction 60 s, and the
/// rest in docs/pg.md.
pub struct PoolConfig {
    raw: NonNull<sys::prd_pg_config>,
    logger: Option<Logger>,
    clock: Option<Clock>,
}

unsafe impl Send for PoolConfig {}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $t:ty),*) => $c:ident($($conv:expr),*);)*) => {$(
        $(#[$doc])*
        pub fn $name(&mut self, $($arg: $t),*) -> Result<&mut PoolConfig> {
            let st = unsafe { sys::$c(self.raw.as_ptr(), $($conv),*) };
            self.set(st)
        }
    )*};
}

impl PoolConfig {
    /// Settings for a libpq conninfo or `postgresql://` URI; `""` means
    /// libpq's `PG*` environment variables. The conninfo is kept in
    /// guarded memory; messages never quote its password.
    pub fn new(conninfo: &str) -> Result<PoolConfig> {
        let c = cstring(conninfo, "conninfo")?;
        let mut out = ptr::null_mut();
        let st = unsafe { sys::prd_pg_config_new(c.as_ptr(), &mut out) };
        check(st).map_err(|e| match e.status() {
            Status::Invalid => Error::with_detail(Status::Invalid, "malformed conninfo"),
            _ => e,
        })?;
        Ok(PoolConfig { raw: NonNull::new(out).expect("NULL config"), logger: None, clock: None })
    }

    fn set(&mut self, st: c_int) -> Result<&mut PoolConfig> {
        if st != sys::PRD_OK {
            let why = from_c(unsafe { sys::prd_pg_config_error(self.raw.as_ptr()) }).filter(|s| !s.is_empty());
            let status = Status::from_code(st).unwrap_or(Status::Invalid);
            return Err(match why {
                Some(w) => Error::with_detail(status, w),
                None => Error::new(status),
            });
        }
        Ok(self)
    }

    /// Replace the conninfo.
    pub fn conninfo(&mut self, conninfo: &str) -> Result<&mut PoolConfig> {
        let c = cstring(conninfo, "conninfo")?;
        let st = unsafe { sys::prd_pg_config_set_conninfo(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st)
    }

    setters! {
        /// Connections kept open (made at start: a wrong server fails fast).
        min_size(n: u32) => prd_pg_config_set_min_size(n);
        /// The most connections (1 to 10000).
        max_size(n: u32) => prd_pg_config_set_max_size(n);
        /// The most threads waiting for a connection; more get `Busy`.
        max_waiters(n: u32) => prd_pg_config_set_max_waiters(n);
        /// How long an acquire waits (then `Timeout`).
        acquire_timeout(d: Duration) => prd_pg_config_set_acquire_timeout_ms(ms_u32(d));
        /// How long connecting may take.
        connect_timeout(d: Duration) => prd_pg_config_set_connect_timeout_ms(ms_u32(d));
        /// Close connections idle this long.
        idle_timeout(d: Duration) => prd_pg_config_set_idle_timeout_ms(ms_u64(d));
        /// Recycle connections after this long, minus up to `jitter_pct` percent.
        max_lifetime(d: Duration, jitter_pct: u32) => prd_pg_config_set_max_lifetime_ms(ms_u64(d), jitter_pct);
        /// Check a connection idle this long before handing it out.
        health_check_after(d: Duration) => prd_pg_config_set_health_check_after_ms(ms_u64(d));
        /// The server's statement_timeout (zero: the server's setting).
        statement_timeout(d: Duration) => prd_pg_config_set_statement_timeout_ms(ms_u32(d));
        /// The server's idle_in_transaction_session_timeout.
        idle_in_transaction_timeout(d: Duration) => prd_pg_config_set_idle_in_transaction_timeout_ms(ms_u32(d));
        /// The server's lock_timeout.
        lock_timeout(d: Duration) => prd_pg_config_set_lock_timeout_ms(ms_u32(d));
        /// The client's own deadline per statement, whatever the network does.
        query_timeout(d: Duration) => prd_pg_config_set_query_timeout_ms(ms_u32(d));
        /// A connection held longer is reported once (zero: off).
        leak_threshold(d: Duration) => prd_pg_config_set_leak_threshold_ms(ms_u64(d));
        /// Prepared statements kept per connection (0 to 4096).
        statement_cache_size(n: u32) => prd_pg_config_set_statement_cache_size(n);
        /// Reconnect backoff: `initial` doubling to `max`, with jitter.
        reconnect_backoff(initial: Duration, max: Duration) => prd_pg_config_set_reconnect_backoff_ms(ms_u32(initial), ms_u32(max));
        /// Statements slower than this are logged (with a logger).
        slow_query(d: Duration) => prd_pg_config_set_slow_query_ms(ms_u64(d));
        /// How often housekeeping runs.
        maintenance_interval(d: Duration) => prd_pg_config_set_maintenance_interval_ms(ms_u32(d));
    }

    /// The application_name (1-63 printable ASCII characters).
    pub fn application_name(&mut self, name: &str) -> Result<&mut PoolConfig> {
        let c = cstring(name, "application name")?;
        let st = unsafe { sys::prd_pg_config_set_application_name(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st)
    }

    /// The pool's name in metrics and logs.
    pub fn name(&mut self, name: &str) -> Result<&mut PoolConfig> {
        let c = cstring(name, "pool name")?;
        let st = unsafe { sys::prd_pg_config_set_name(self.raw.as_ptr(), c.as_ptr()) };
        self.set(st)
    }

    /// Log slow queries, leaks and reconnects here (kept alive by the pool).
    pub fn logger(&mut self, logger: &Logger) -> Result<&mut PoolConfig> {
        let st = unsafe { sys::prd_pg_config_set_logger(self.raw.as_ptr(), logger.as_ptr()) };
        self.set(st)?;
        self.logger = Some(logger.clone());
        Ok(self)
    }

    /// The clock of the pool's bookkeeping (waits always use real time).
    pub fn clock(&mut self, clock: &Clock) -> Result<&mut PoolConfig> {
        let st = unsafe { sys::prd_pg_config_set_clock(self.raw.as_ptr(), clock.as_ptr()) };
        self.set(st)?;
        self.clock = Some(clock.clone());
        Ok(self)
    }
}

impl Drop for PoolConfig {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_config_free(self.raw.as_ptr()) }
    }
}

struct PoolRaw {
    raw: NonNull<sys::prd_pg_pool>,
    _logger: Option<Logger>,
    _clock: Option<Clock>,
}

// The header: a pool is safe to share between threads.
unsafe impl Send for PoolRaw {}
unsafe impl Sync for PoolRaw {}

impl Drop for PoolRaw {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_pool_free(self.raw.as_ptr()) }
    }
}

/// A thread-safe pool of PostgreSQL connections. Cheap to clone (clones
/// are one pool); the stores and guards made on it keep it alive.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolRaw>,
}

/// A pool metric ([`Pool::metric`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric(pub i32);

impl Metric {
    /// Acquisitions that succeeded.
    pub const ACQUIRED: Metric = Metric(sys::PRD_PG_M_ACQUIRED);
    /// Connections out now.
    pub const IN_USE: Metric = Metric(sys::PRD_PG_M_IN_USE);
    /// Connections idle now.
    pub const IDLE: Metric = Metric(sys::PRD_PG_M_IDLE);
    /// Connections open now.
    pub const OPEN: Metric = Metric(sys::PRD_PG_M_OPEN);
    /// Threads waiting now.
    pub const WAITING: Metric = Metric(sys::PRD_PG_M_WAITING);
    /// Statements run.
    pub const QUERIES: Metric = Metric(sys::PRD_PG_M_QUERIES);
    /// Commits.
    pub const COMMITS: Metric = Metric(sys::PRD_PG_M_COMMITS);
    /// Rollbacks.
    pub const ROLLBACKS: Metric = Metric(sys::PRD_PG_M_ROLLBACKS);
    /// Transactions re-run.
    pub const RETRIES: Metric = Metric(sys::PRD_PG_M_RETRIES);
    /// Acquires that timed out.
    pub const ACQUIRE_TIMEOUTS: Metric = Metric(sys::PRD_PG_M_ACQUIRE_TIMEOUTS);
    /// Statements past the client's deadline.
    pub const QUERY_TIMEOUTS: Metric = Metric(sys::PRD_PG_M_QUERY_TIMEOUTS);

    /// Its name in the Prometheus text.
    pub fn name(self) -> String {
        from_c(unsafe { sys::prd_pg_metric_name(self.0) }).unwrap_or_default()
    }
}

impl Pool {
    /// A pool with the default settings for this conninfo.
    pub fn connect(conninfo: &str) -> Result<Pool> {
        Pool::new(&PoolConfig::new(conninfo)?)
    }

    /// A pool from settings (copied). With `min_size` above 0 the first
    /// connection is made now: a wrong password fails here.
    pub fn new(cfg: &PoolConfig) -> Result<Pool> {
        let err = ErrBox::new()?;
        let mut out = ptr::null_mut();
        err.fail(unsafe { sys::prd_pg_pool_new(cfg.raw.as_ptr(), &mut out, err.0) })?;
        Ok(Pool {
            inner: Arc::new(PoolRaw {
                raw: NonNull::new(out).expect("NULL pool"),
                _logger: cfg.logger.clone(),
                _clock: cfg.clock.clone(),
            }),
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::prd_pg_pool {
        self.inner.raw.as_ptr()
    }

    /// Take a connection, waiting up to the acquire timeout; it goes back
    /// when dropped.
    #[track_caller]
    pub fn acquire(&self) -> Result<PooledConn<'_>> {
        let (file, line) = here(Location::caller());
        let err = ErrBox::new()?;
        let mut out = ptr::null_mut();
        err.fail(unsafe { sys::prd_pg_pool_acquire_at(self.as_ptr(), &mut out, err.0, file.as_ptr(), line) })?;
        Ok(PooledConn { conn: Conn::wrap(out), _pool: PhantomData })
    }

    /// Run one statement on a connection of the pool; the affected rows.
    #[track_caller]
    pub fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64> {
        self.acquire()?.execute(sql, params)
    }

    /// Run one statement; its rows.
    #[track_caller]
    pub fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Rows> {
        self.acquire()?.query(sql, params)
    }

    /// Run `f` in a read-committed transaction, re-run from the start on
    /// serialization failures and deadlocks; its value once committed.
    #[track_caller]
    pub fn transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnMut(&Conn) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        self.run_tx(None, f, Location::caller())
    }

    /// [`transaction`](Self::transaction) with options (isolation, read
    /// only, attempts, backoff, a deadline over all attempts).
    #[track_caller]
    pub fn transaction_with<T, E, F>(&self, opts: &TxOptions, f: F) -> std::result::Result<T, E>
    where
        F: FnMut(&Conn) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        self.run_tx(Some(opts), f, Location::caller())
    }

    fn run_tx<T, E, F>(&self, opts: Option<&TxOptions>, f: F, loc: &Location<'_>) -> std::result::Result<T, E>
    where
        F: FnMut(&Conn) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let (file, line) = here(loc);
        let err = ErrBox::new()?;
        let mut body = Body::new(f);
        let o = opts.map_or(ptr::null(), |o| o.raw.as_ptr() as *const _);
        let st = unsafe {
            sys::prd_pg_tx_run_at(
                self.as_ptr(),
                o,
                Some(Body::<T, E, F>::call),
                body.user_data(),
                err.0,
                file.as_ptr(),
                line,
            )
        };
        body.finish(st, || pg_error(st, err.0))
    }

    /// Apply the library's stores' schema (sessions, shared limits, the
    /// login guard, revocations); idempotent; how many migrations ran.
    pub fn migrate_stores(&self) -> Result<u32> {
        let err = ErrBox::new()?;
        let mut applied = 0u32;
        err.fail(unsafe { sys::prd_pg_stores_migrate(self.as_ptr(), &mut applied, err.0) })?;
        Ok(applied)
    }

    /// Apply the application's migrations of `set`: each in its own
    /// transaction, recorded in a version table, under an advisory lock
    /// (instances starting together do not race), with a checksum (an
    /// edited migration that already ran is refused). How many ran.
    pub fn migrate(&self, set: &str, migrations: &[Migration<'_>]) -> Result<u32> {
        let s = cstring(set, "migration set")?;
        let mut keep = Vec::with_capacity(migrations.len() * 2);
        let mut list = Vec::with_capacity(migrations.len());
        for m in migrations {
            let (n, q) = (cstring(m.name, "migration name")?, cstring(m.sql, "migration SQL")?);
            list.push(sys::prd_pg_migration {
                size: std::mem::size_of::<sys::prd_pg_migration>(),
                version: m.version,
                name: n.as_ptr(),
                sql: q.as_ptr(),
            });
            keep.push(n);
            keep.push(q);
        }
        let err = ErrBox::new()?;
        let mut applied = 0u32;
        err.fail(unsafe {
            sys::prd_pg_migrate(self.as_ptr(), s.as_ptr(), list.as_ptr(), list.len(), &mut applied, err.0)
        })?;
        Ok(applied)
    }

    /// Stop handing out connections and wait up to `drain` for those out
    /// (`Timeout` when some did not come back). The pool is freed when its
    /// last clone is dropped.
    pub fn close(&self, drain: Duration) -> Result<()> {
        check(unsafe { sys::prd_pg_pool_close(self.as_ptr(), ms_u32(drain)) })
    }

    /// Run housekeeping now.
    pub fn maintain(&self) -> Result<()> {
        check(unsafe { sys::prd_pg_pool_maintain(self.as_ptr()) })
    }

    /// A metric's current value.
    pub fn metric(&self, m: Metric) -> u64 {
        unsafe { sys::prd_pg_pool_metric(self.as_ptr(), m.0) }
    }

    /// Retries caused by this SQLSTATE.
    pub fn retries_by_sqlstate(&self, sqlstate: &str) -> u64 {
        match CString::new(sqlstate) {
            Ok(c) => unsafe { sys::prd_pg_pool_retries_by_sqlstate(self.as_ptr(), c.as_ptr()) },
            Err(_) => 0,
        }
    }

    /// Every metric and histogram in the Prometheus text format, names
    /// starting with `prefix`.
    pub fn prometheus(&self, prefix: &str) -> Result<String> {
        let p = cstring(prefix, "prefix")?;
        Ok(text_out(|out, size| unsafe { sys::prd_pg_pool_prometheus(self.as_ptr(), p.as_ptr(), out, size) }))
    }
}

/// One migration of an application's set.
#[derive(Clone, Copy, Debug)]
pub struct Migration<'a> {
    /// Its version (applied in order; 1, 2, ...).
    pub version: u32,
    /// A name for the version table.
    pub name: &'a str,
    /// The SQL (several statements allowed).
    pub sql: &'a str,
}

/// The closure of a transaction or savepoint and what its runs left.
struct Body<T, E, F> {
    f: F,
    result: Option<std::result::Result<T, E>>,
    returned: c_int,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

impl<T, E, F> Body<T, E, F>
where
    F: FnMut(&Conn) -> std::result::Result<T, E>,
    E: From<Error>,
{
    fn new(f: F) -> Self {
        Body { f, result: None, returned: sys::PRD_OK, panic: None }
    }

    fn user_data(&mut self) -> *mut c_void {
        self as *mut Self as *mut c_void
    }

    unsafe extern "C" fn call(conn: *mut sys::prd_pg_conn, user_data: *mut c_void) -> c_int {
        let body = &mut *(user_data as *mut Self);
        let c = Conn::wrap(conn);
        body.result = None;
        // A panic must not unwind into C: caught, the transaction rolls
        // back, and it resumes in the caller's thread after.
        let out = catch_unwind(AssertUnwindSafe(|| (body.f)(&c)));
        body.returned = match out {
            Ok(Ok(v)) => {
                body.result = Some(Ok(v));
                sys::PRD_OK
            }
            Ok(Err(e)) => {
                body.result = Some(Err(e));
                // The status of the statement that failed decides whether
                // the library runs it again (ERETRY); an error of the
                // application's own rolls back.
                match c.last_status.get() {
                    sys::PRD_OK => sys::PRD_EINTERNAL,
                    st => st,
                }
            }
            Err(p) => {
                body.panic = Some(p);
                sys::PRD_EINTERNAL
            }
        };
        body.returned
    }

    fn finish(self, st: c_int, error: impl FnOnce() -> Error) -> std::result::Result<T, E> {
        if let Some(p) = self.panic {
            resume_unwind(p);
        }
        match (st, self.result) {
            (sys::PRD_OK, Some(Ok(v))) => Ok(v),
            // The closure's own error, when that is what ended it.
            (st, Some(Err(e))) if st == self.returned => Err(e),
            _ => Err(error().into()),
        }
    }
}

/// A connection: the transaction's inside [`Pool::transaction`], or one
/// taken with [`Pool::acquire`]. Belongs to one thread (neither `Send` nor
/// `Sync`). Only ever lent as `&Conn`, so safe code cannot move or swap
/// the connection a transaction is running on.
pub struct Conn {
    raw: NonNull<sys::prd_pg_conn>,
    last_status: Cell<c_int>,
    _not_send: PhantomData<*mut ()>,
}

impl Conn {
    fn wrap(raw: *mut sys::prd_pg_conn) -> Conn {
        Conn { raw: NonNull::new(raw).expect("NULL connection"), last_status: Cell::new(0), _not_send: PhantomData }
    }

    fn p(&self) -> *mut sys::prd_pg_conn {
        self.raw.as_ptr()
    }

    fn failed(&self, st: c_int) -> Result<()> {
        self.last_status.set(st);
        if st == sys::PRD_OK {
            return Ok(());
        }
        Err(pg_error(st, unsafe { sys::prd_pg_conn_error(self.p()) }))
    }

    fn run(&self, sql: &str, params: &[&dyn ToParam], want: bool) -> Result<Option<Rows>> {
        let q = cstring(sql, "SQL")?;
        let p = Params::new(params)?;
        let mut out = ptr::null_mut();
        let st =
            unsafe { sys::prd_pg_query(self.p(), q.as_ptr(), p.raw, if want { &mut out } else { ptr::null_mut() }) };
        self.failed(st)?;
        Ok(NonNull::new(out).map(|raw| Rows { raw }))
    }

    /// Run one statement; the row count of its command tag.
    pub fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64> {
        Ok(self.run(sql, params, true)?.map_or(0, |r| r.affected()))
    }

    /// Run one statement; its rows. `Conflict` for a unique or check
    /// violation, `Retry` for a serialization failure or deadlock (return
    /// it from a transaction to have it re-run), `Timeout`, `Db`.
    pub fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Rows> {
        self.run(sql, params, true)?.ok_or_else(|| Error::new(Status::Internal))
    }

    /// Rows one at a time as they arrive (memory of one row, whatever the
    /// result's size); `f` returning `Err` stops.
    pub fn query_each(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut f: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<u64> {
        struct Ctx<'a> {
            f: &'a mut dyn FnMut(&Row<'_>) -> Result<()>,
            err: Option<Error>,
            panic: Option<Box<dyn Any + Send>>,
        }
        unsafe extern "C" fn each(user_data: *mut c_void, row: *const sys::prd_pg_result) -> c_int {
            let ctx = &mut *(user_data as *mut Ctx<'_>);
            let r = Row { raw: row, row: 0, _life: PhantomData };
            match catch_unwind(AssertUnwindSafe(|| (ctx.f)(&r))) {
                Ok(Ok(())) => sys::PRD_OK,
                Ok(Err(e)) => {
                    let c = e.code();
                    ctx.err = Some(e);
                    c
                }
                Err(p) => {
                    ctx.panic = Some(p);
                    sys::PRD_EINTERNAL
                }
            }
        }
        let q = cstring(sql, "SQL")?;
        let p = Params::new(params)?;
        let mut ctx = Ctx { f: &mut f, err: None, panic: None };
        let mut rows = 0u64;
        let st = unsafe {
            sys::prd_pg_query_each(
                self.p(),
                q.as_ptr(),
                p.raw,
                Some(each),
                &mut ctx as *mut Ctx<'_> as *mut c_void,
                &mut rows,
            )
        };
        if let Some(pn) = ctx.panic {
            resume_unwind(pn);
        }
        if let Some(e) = ctx.err {
            return Err(e);
        }
        self.failed(st)?;
        Ok(rows)
    }

    /// Nested work: SAVEPOINT, `f`, RELEASE; when `f` fails, the work since
    /// the savepoint is rolled back and the transaction goes on.
    pub fn savepoint<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnMut(&Conn) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let mut body = Body::new(f);
        let st = unsafe { sys::prd_pg_savepoint_run(self.p(), Some(Body::<T, E, F>::call), body.user_data()) };
        self.last_status.set(st);
        let conn = self.p();
        body.finish(st, || pg_error(st, unsafe { sys::prd_pg_conn_error(conn) }))
    }

    /// NOTIFY `channel` (payload under 8000 bytes), in the open transaction if any.
    pub fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        let (c, p) = (cstring(channel, "channel")?, cstring(payload, "payload")?);
        let st = unsafe { sys::prd_pg_notify(self.p(), c.as_ptr(), p.as_ptr()) };
        self.failed(st)
    }

    /// COPY ... FROM STDIN: the rows' data as `chunks` yields it, in the
    /// statement's format; the rows stored.
    pub fn copy_in<'d, I: IntoIterator<Item = &'d [u8]>>(&self, sql: &str, chunks: I) -> Result<u64> {
        let q = cstring(sql, "SQL")?;
        self.failed(unsafe { sys::prd_pg_copy_in_start(self.p(), q.as_ptr()) })?;
        for chunk in chunks {
            let st = unsafe { sys::prd_pg_copy_in_put(self.p(), chunk.as_ptr().cast(), chunk.len()) };
            if st != sys::PRD_OK {
                let reason = b"client failed\0";
                let _ = unsafe { sys::prd_pg_copy_in_end(self.p(), reason.as_ptr().cast(), ptr::null_mut()) };
                return self.failed(st).map(|_| 0);
            }
        }
        let mut rows = 0u64;
        self.failed(unsafe { sys::prd_pg_copy_in_end(self.p(), ptr::null(), &mut rows) })?;
        Ok(rows)
    }

    /// COPY ... TO STDOUT: `f` gets each row (with its newline).
    pub fn copy_out(&self, sql: &str, mut f: impl FnMut(&[u8])) -> Result<u64> {
        unsafe extern "C" fn each(user_data: *mut c_void, data: *const c_char, len: usize) -> c_int {
            let f = &mut *(user_data as *mut &mut dyn FnMut(&[u8]));
            let b = std::slice::from_raw_parts(data.cast::<u8>(), len);
            match catch_unwind(AssertUnwindSafe(|| f(b))) {
                Ok(()) => sys::PRD_OK,
                Err(_) => sys::PRD_EINTERNAL,
            }
        }
        let q = cstring(sql, "SQL")?;
        let mut dynf: &mut dyn FnMut(&[u8]) = &mut f;
        let mut rows = 0u64;
        let st = unsafe {
            sys::prd_pg_copy_out(
                self.p(),
                q.as_ptr(),
                Some(each),
                &mut dynf as *mut &mut dyn FnMut(&[u8]) as *mut c_void,
                &mut rows,
            )
        };
        self.failed(st)?;
        Ok(rows)
    }

    /// True while the connection is usable.
    pub fn is_ok(&self) -> bool {
        unsafe { sys::prd_pg_conn_ok(self.p()) != 0 }
    }
}

/// A connection out of the pool; back to it when dropped.
pub struct PooledConn<'p> {
    conn: Conn,
    _pool: PhantomData<&'p Pool>,
}

impl Deref for PooledConn<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_pool_release(self.conn.p()) }
    }
}

/// Transaction options. Defaults: read committed, read write, 10 attempts,
/// backoff 2 ms doubling to 200 ms with jitter, no deadline.
pub struct TxOptions {
    raw: NonNull<sys::prd_pg_tx_options>,
}

unsafe impl Send for TxOptions {}
unsafe impl Sync for TxOptions {}

/// Transaction isolation levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// READ COMMITTED.
    ReadCommitted,
    /// REPEATABLE READ.
    RepeatableRead,
    /// SERIALIZABLE.
    Serializable,
}

impl TxOptions {
    /// The defaults.
    pub fn new() -> Result<TxOptions> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::prd_pg_tx_options_new(&mut out) })?;
        Ok(TxOptions { raw: NonNull::new(out).expect("NULL options") })
    }

    fn set(self, st: c_int) -> Result<TxOptions> {
        check(st)?;
        Ok(self)
    }

    /// The isolation level.
    pub fn isolation(self, level: Isolation) -> Result<TxOptions> {
        let l = match level {
            Isolation::ReadCommitted => sys::PRD_PG_READ_COMMITTED,
            Isolation::RepeatableRead => sys::PRD_PG_REPEATABLE_READ,
            Isolation::Serializable => sys::PRD_PG_SERIALIZABLE,
        };
        let st = unsafe { sys::prd_pg_tx_options_set_isolation(self.raw.as_ptr(), l) };
        self.set(st)
    }

    /// READ ONLY.
    pub fn read_only(self, on: bool) -> Result<TxOptions> {
        let st = unsafe { sys::prd_pg_tx_options_set_read_only(self.raw.as_ptr(), on as c_int) };
        self.set(st)
    }

    /// DEFERRABLE (with serializable read only: never a serialization failure).
    pub fn deferrable(self, on: bool) -> Result<TxOptions> {
        let st = unsafe { sys::prd_pg_tx_options_set_deferrable(self.raw.as_ptr(), on as c_int) };
        self.set(st)
    }

    /// Attempts in all (1 to 1000).
    pub fn max_attempts(self, n: u32) -> Result<TxOptions> {
        let st = unsafe { sys::prd_pg_tx_options_set_max_attempts(self.raw.as_ptr(), n) };
        self.set(st)
    }

    /// Backoff between attempts.
    pub fn backoff(self, initial: Duration, max: Duration) -> Result<TxOptions> {
        let st = unsafe { sys::prd_pg_tx_options_set_backoff_ms(self.raw.as_ptr(), ms_u32(initial), ms_u32(max)) };
        self.set(st)
    }

    /// A deadline over all attempts (at most 24 h).
    pub fn timeout(self, d: Duration) -> Result<TxOptions> {
        let st = unsafe { sys::prd_pg_tx_options_set_timeout_ms(self.raw.as_ptr(), ms_u32(d)) };
        self.set(st)
    }
}

impl Drop for TxOptions {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_tx_options_free(self.raw.as_ptr()) }
    }
}

/// A value for a `$n` placeholder: text, integers, floats, booleans,
/// bytes (bytea) and `Option` of any of them (`None` is NULL). Implement
/// it for a type of yours by passing one of these on:
/// `fn add_to(&self, p: &mut ParamSink) -> Result<()> { self.0.as_str().add_to(p) }`.
pub trait ToParam {
    /// Append self to the statement's parameters.
    fn add_to(&self, p: &mut ParamSink) -> Result<()>;
}

/// The parameter list being built for one statement (only the crate makes
/// one, so a parameter can only be added, never point anywhere else).
pub struct ParamSink {
    raw: *mut sys::prd_pg_params,
}

impl ParamSink {
    fn added(&mut self, st: c_int) -> Result<()> {
        match Status::from_code(st) {
            None => Ok(()),
            Some(Status::Invalid) => Err(Error::with_detail(Status::Invalid, "text with a NUL byte")),
            Some(s) => Err(Error::new(s)),
        }
    }
}

impl ToParam for str {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_textn(p.raw, self.as_ptr().cast(), self.len()) };
        p.added(st)
    }
}
impl ToParam for &str {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        (**self).add_to(p)
    }
}
impl ToParam for String {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        self.as_str().add_to(p)
    }
}
impl ToParam for i64 {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_int64(p.raw, *self) };
        p.added(st)
    }
}
impl ToParam for i32 {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_int32(p.raw, *self) };
        p.added(st)
    }
}
impl ToParam for f64 {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_double(p.raw, *self) };
        p.added(st)
    }
}
impl ToParam for bool {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_bool(p.raw, *self as c_int) };
        p.added(st)
    }
}
impl ToParam for [u8] {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        let st = unsafe { sys::prd_pg_params_add_bytea(p.raw, self.as_ptr().cast(), self.len()) };
        p.added(st)
    }
}
impl ToParam for &[u8] {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        (**self).add_to(p)
    }
}
impl ToParam for Vec<u8> {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        self.as_slice().add_to(p)
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn add_to(&self, p: &mut ParamSink) -> Result<()> {
        match self {
            Some(v) => v.add_to(p),
            None => {
                let st = unsafe { sys::prd_pg_params_add_null(p.raw) };
                p.added(st)
            }
        }
    }
}

struct Params {
    raw: *mut sys::prd_pg_params,
}

impl Params {
    fn new(values: &[&dyn ToParam]) -> Result<Params> {
        if values.is_empty() {
            return Ok(Params { raw: ptr::null_mut() });
        }
        let mut raw = ptr::null_mut();
        check(unsafe { sys::prd_pg_params_new(&mut raw) })?;
        let p = Params { raw };
        let mut sink = ParamSink { raw };
        for (i, v) in values.iter().enumerate() {
            v.add_to(&mut sink).map_err(|e| match e.detail() {
                Some(d) => Error::with_detail(e.status(), format!("parameter ${}: {d}", i + 1)),
                None => e,
            })?;
        }
        Ok(p)
    }
}

impl Drop for Params {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_params_free(self.raw) }
    }
}

/// The rows of a statement. Values are read as text or through the typed
/// getters of [`Row`].
pub struct Rows {
    raw: NonNull<sys::prd_pg_result>,
}

// The header: results belong to one thread at a time (they may move).
unsafe impl Send for Rows {}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        unsafe { sys::prd_pg_result_rows(self.raw.as_ptr()) }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row count of the command tag.
    pub fn affected(&self) -> u64 {
        unsafe { sys::prd_pg_result_affected(self.raw.as_ptr()) }
    }

    /// The column names.
    pub fn columns(&self) -> Vec<String> {
        let n = unsafe { sys::prd_pg_result_cols(self.raw.as_ptr()) };
        (0..n)
            .map(|c| from_c(unsafe { sys::prd_pg_result_column_name(self.raw.as_ptr(), c) }).unwrap_or_default())
            .collect()
    }

    /// A row, `None` past the end.
    pub fn get(&self, row: usize) -> Option<Row<'_>> {
        if row < self.len() {
            Some(Row { raw: self.raw.as_ptr(), row, _life: PhantomData })
        } else {
            None
        }
    }

    /// Every row in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(move |row| Row { raw: self.raw.as_ptr(), row, _life: PhantomData })
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        unsafe { sys::prd_pg_result_free(self.raw.as_ptr()) }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for &str {}
}

/// The columns of a result, as [`Column`] sees them (only the crate makes one).
#[doc(hidden)]
pub struct ResultColumns {
    raw: *const sys::prd_pg_result,
}

/// A column by position (`usize`) or by name (`&str`).
pub trait Column: sealed::Sealed {
    /// The position, or `Invalid` when there is no such column.
    #[doc(hidden)]
    fn index(&self, r: &ResultColumns) -> Result<usize>;
}

impl Column for usize {
    fn index(&self, r: &ResultColumns) -> Result<usize> {
        if *self < unsafe { sys::prd_pg_result_cols(r.raw) } {
            Ok(*self)
        } else {
            Err(Error::with_detail(Status::Invalid, format!("no column {self}")))
        }
    }
}

impl Column for &str {
    fn index(&self, r: &ResultColumns) -> Result<usize> {
        let c = cstring(self, "column name")?;
        let i = unsafe { sys::prd_pg_result_column_index(r.raw, c.as_ptr()) };
        usize::try_from(i).map_err(|_| Error::with_detail(Status::Invalid, format!("no column '{self}'")))
    }
}

/// One row of [`Rows`] (or of [`Conn::query_each`]).
pub struct Row<'r> {
    raw: *const sys::prd_pg_result,
    row: usize,
    _life: PhantomData<&'r Rows>,
}

impl<'r> Row<'r> {
    fn typed<T: Default>(&self, col: impl Column, f: impl FnOnce(&mut T) -> c_int) -> Result<Option<T>> {
        let _ = col.index(&ResultColumns { raw: self.raw })?;
        let mut v = T::default();
        match f(&mut v) {
            sys::PRD_OK => Ok(Some(v)),
            sys::PRD_ENOTFOUND => Ok(None),
            st => Err(Error::with_detail(Status::from_code(st).unwrap_or(Status::Invalid), "not a value of that type")),
        }
    }

    /// The text of a cell; `None` for NULL (bytes that are not UTF-8: `Invalid`).
    pub fn str(&self, col: impl Column) -> Result<Option<&'r str>> {
        match self.bytes_text(col)? {
            None => Ok(None),
            Some(b) => {
                std::str::from_utf8(b).map(Some).map_err(|_| Error::with_detail(Status::Invalid, "not UTF-8 text"))
            }
        }
    }

    /// The raw text (or binary) form of a cell; `None` for NULL.
    pub fn bytes_text(&self, col: impl Column) -> Result<Option<&'r [u8]>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        let mut len = 0usize;
        let p = unsafe { sys::prd_pg_result_text(self.raw, self.row, c, &mut len) };
        if p.is_null() {
            return Ok(None);
        }
        Ok(Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }))
    }

    /// An integer cell.
    pub fn i64(&self, col: impl Column) -> Result<Option<i64>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        self.typed(c, |v| unsafe { sys::prd_pg_result_int64(self.raw, self.row, c, v) })
    }

    /// A float cell.
    pub fn f64(&self, col: impl Column) -> Result<Option<f64>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        self.typed(c, |v| unsafe { sys::prd_pg_result_double(self.raw, self.row, c, v) })
    }

    /// A boolean cell.
    pub fn bool(&self, col: impl Column) -> Result<Option<bool>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        let v: Option<c_int> = self.typed(c, |v| unsafe { sys::prd_pg_result_bool(self.raw, self.row, c, v) })?;
        Ok(v.map(|b| b != 0))
    }

    /// A uuid cell's 16 bytes.
    pub fn uuid(&self, col: impl Column) -> Result<Option<[u8; 16]>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        self.typed(c, |v: &mut [u8; 16]| unsafe { sys::prd_pg_result_uuid(self.raw, self.row, c, v.as_mut_ptr()) })
    }

    /// A timestamp(tz) cell as microseconds since 1970 UTC.
    pub fn timestamp_us(&self, col: impl Column) -> Result<Option<i64>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        self.typed(c, |v| unsafe { sys::prd_pg_result_timestamp_us(self.raw, self.row, c, v) })
    }

    /// A bytea cell, decoded.
    pub fn bytea(&self, col: impl Column) -> Result<Option<Vec<u8>>> {
        let c = col.index(&ResultColumns { raw: self.raw })?;
        let mut len = 0usize;
        let st = unsafe { sys::prd_pg_result_bytea(self.raw, self.row, c, ptr::null_mut(), 0, &mut len) };
        match st {
            sys::PRD_ENOTFOUND => return Ok(None),
            sys::PRD_OK | sys::PRD_ENOSPACE => {}
            st => {
                return Err(Error::with_detail(Status::from_code(st).unwrap_or(Status::Invalid), "not a bytea value"))
            }
        }
        let mut out = vec![0u8; len];
        check(unsafe {
            sys::prd_pg_result_bytea(self.raw, self.row, c, out.as_mut_ptr().cast(), out.len(), &mut len)
        })?;
        out.truncate(len);
        Ok(Some(out))
    }
}

type NotifyFn = Box<dyn Fn(Option<Notification<'_>>) + Send + Sync + 'static>;

/// A notification (`None` to the callback: the connection was lost and is
/// back, and notifications in between may have been missed).
#[derive(Clone, Copy, Debug)]
pub struct Notification<'a> {
    /// The channel.
    pub channel: &'a str,
    /// The payload ("" when none).
    pub payload: &'a str,
    /// The notifying backend's pid.
    pub sender_pid: i32,
}

/// LISTEN on a connection of its own, calling a function on its thread
/// with each notification; reconnects and listens again by itself.
pub struct Listener {
    raw: NonNull<sys::prd_pg_listener>,
    _f: Box<NotifyFn>,
}

unsafe impl Send for Listener {}
unsafe impl Sync for Listener {}

unsafe extern "C" fn notify_trampoline(
    user_data: *mut c_void,
    channel: *const c_char,
    payload: *const c_char,
    pid: c_int,
) {
    let f = &*(user_data as *const NotifyFn);
    let text = |p: *const c_char| if p.is_null() { None } else { CStr::from_ptr(p).to_str().ok() };
    let n = match (text(channel), text(payload)) {
        (Some(channel), Some(payload)) => Some(Notification { channel, payload, sender_pid: pid }),
        _ => None,
    };
    let _ = catch_unwind(AssertUnwindSafe(|| f(n)));
}

impl Listener {
    /// A listener on a connection made from `cfg` (a wrong server fails here).
    pub fn new(cfg: &PoolConfig, f: impl Fn(Option<Notification<'_>>) + Send + Sync + 'static) -> Result<Listener> {
        let b: Box<NotifyFn> = Box::new(Box::new(f));
        let ud = &*b as *const NotifyFn as *mut c_void;
        let err = ErrBox::new()?;
        let mut out = ptr::null_mut();
        err.fail(unsafe { sys::prd_pg_listener_new(cfg.raw.as_ptr(), Some(notify_trampoline), ud, &mut out, err.0) })?;
        Ok(Listener { raw: NonNull::new(out).expect("NULL listener"), _f: b })
    }

    /// LISTEN (returns once the server confirmed).
    pub fn listen(&self, channel: &str) -> Result<()> {
        let c = cstring(channel, "channel")?;
        check(unsafe { sys::prd_pg_listener_listen(self.raw.as_ptr(), c.as_ptr()) })
    }

    /// UNLISTEN.
    pub fn unlisten(&self, channel: &str) -> Result<()> {
        let c = cstring(channel, "channel")?;
        check(unsafe { sys::prd_pg_listener_unlisten(self.raw.as_ptr(), c.as_ptr()) })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Stops its thread before the callback box is dropped.
        unsafe { sys::prd_pg_listener_free(self.raw.as_ptr()) }
    }
}

/// The status PostgreSQL's SQLSTATE maps to (`Conflict` for 23505, ...).
pub fn sqlstate_status(sqlstate: &str) -> Status {
    let st = match CString::new(sqlstate) {
        Ok(c) => unsafe { sys::prd_pg_sqlstate_status(c.as_ptr()) },
        Err(_) => sys::PRD_EDB,
    };
    Status::from_code(st).unwrap_or(Status::Db)
}

opaque_debug!(PoolConfig, Pool, Conn, PooledConn<'_>, TxOptions, Rows, Row<'_>, Listener);
