"""The PostgreSQL pool (prodready/pg.h): parameterized queries only, and
transactions that re-run on serialization failures and deadlocks.

    pool = Pool("dbname=app", max_size=8)
    pool.execute("INSERT INTO t VALUES ($1, $2)", 1, "a")
    rows = pool.fetch("SELECT id, name FROM t WHERE id > $1", 0)   # [{"id": "1", ...}]

    @pool.transaction(isolation="serializable")
    def transfer(tx, src, dst, amount):
        tx.execute("UPDATE account SET balance = balance - $1 WHERE id = $2", amount, src)
        tx.execute("UPDATE account SET balance = balance + $1 WHERE id = $2", amount, dst)
    transfer(1, 2, 100)          # the whole function runs again on 40001 / 40P01

A function, not a with-block: a with-block cannot be run twice.
Every call waits with the GIL released (ctypes), bounded by the pool's
acquire and query timeouts.
"""
import ctypes
import functools
from typing import Any, Callable, List, Optional

from . import _lib
from .errors import InvalidInput, ProdreadyError, check, error_for

_lib_ = _lib.lib
_P, _I, _S, _SZ = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
_TX_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_ISOLATION = {"read committed": 0, "repeatable read": 1, "serializable": 2}

_lib.declare({name: (res, args) for name, res, args in (
        ("prd_pg_error_new", _I, [_lib.c_void_pp]),
        ("prd_pg_error_free", None, [_P]),
        ("prd_pg_error_message", _S, [_P]),
        ("prd_pg_error_sqlstate", _S, [_P]),
        ("prd_pg_config_new", _I, [_S, _lib.c_void_pp]),
        ("prd_pg_config_free", None, [_P]),
        ("prd_pg_config_error", _S, [_P]),
        ("prd_pg_config_set_max_size", _I, [_P, ctypes.c_uint32]),
        ("prd_pg_config_set_acquire_timeout_ms", _I, [_P, ctypes.c_uint32]),
        ("prd_pg_config_set_query_timeout_ms", _I, [_P, ctypes.c_uint32]),
        ("prd_pg_config_set_application_name", _I, [_P, _S]),
        ("prd_pg_pool_new", _I, [_P, _lib.c_void_pp, _P]),
        ("prd_pg_pool_acquire_at", _I, [_P, _lib.c_void_pp, _P, _S, _I]),
        ("prd_pg_pool_release", None, [_P]),
        ("prd_pg_pool_close", _I, [_P, ctypes.c_uint32]),
        ("prd_pg_pool_free", None, [_P]),
        ("prd_pg_params_new", _I, [_lib.c_void_pp]),
        ("prd_pg_params_free", None, [_P]),
        ("prd_pg_params_add_textn", _I, [_P, _P, _SZ]),
        ("prd_pg_params_add_null", _I, [_P]),
        ("prd_pg_params_add_int64", _I, [_P, ctypes.c_int64]),
        ("prd_pg_params_add_double", _I, [_P, ctypes.c_double]),
        ("prd_pg_params_add_bool", _I, [_P, _I]),
        ("prd_pg_params_add_bytea", _I, [_P, _P, _SZ]),
        ("prd_pg_query", _I, [_P, _S, _P, _lib.c_void_pp]),
        ("prd_pg_conn_error", _P, [_P]),
        ("prd_pg_result_free", None, [_P]),
        ("prd_pg_result_rows", _SZ, [_P]),
        ("prd_pg_result_cols", _SZ, [_P]),
        ("prd_pg_result_affected", ctypes.c_uint64, [_P]),
        ("prd_pg_result_column_name", _S, [_P, _SZ]),
        ("prd_pg_result_is_null", _I, [_P, _SZ, _SZ]),
        ("prd_pg_result_text", _P, [_P, _SZ, _SZ, _lib.c_size_p]),
        ("prd_pg_tx_options_new", _I, [_lib.c_void_pp]),
        ("prd_pg_tx_options_free", None, [_P]),
        ("prd_pg_tx_options_set_isolation", _I, [_P, _I]),
        ("prd_pg_tx_options_set_read_only", _I, [_P, _I]),
        ("prd_pg_tx_options_set_max_attempts", _I, [_P, ctypes.c_uint32]),
        ("prd_pg_tx_run_at", _I, [_P, _P, _TX_FN, _P, _P, _S, _I]),
        ("prd_pg_stores_migrate", _I, [_P, ctypes.POINTER(ctypes.c_uint32), _P]))})


def _error_text(err_handle) -> Optional[str]:
    if not err_handle:
        return None
    msg = _lib_.prd_pg_error_message(err_handle)
    state = _lib_.prd_pg_error_sqlstate(err_handle)
    msg = msg.decode("utf-8", "replace") if msg else ""
    state = state.decode() if state else ""
    return f"{msg} (SQLSTATE {state})" if state else (msg or None)


class _Params:
    def __init__(self, values):
        h = ctypes.c_void_p()
        check(_lib_.prd_pg_params_new(ctypes.byref(h)))
        self.h, self._keep = h, []
        try:
            for v in values:
                if v is None:
                    st = _lib_.prd_pg_params_add_null(h)
                elif isinstance(v, bool):
                    st = _lib_.prd_pg_params_add_bool(h, 1 if v else 0)
                elif isinstance(v, int):
                    st = _lib_.prd_pg_params_add_int64(h, v)
                elif isinstance(v, float):
                    st = _lib_.prd_pg_params_add_double(h, v)
                elif isinstance(v, (bytes, bytearray, memoryview)):
                    b = bytes(v)
                    self._keep.append(b)
                    st = _lib_.prd_pg_params_add_bytea(h, b, len(b))
                else:
                    b = str(v).encode("utf-8")
                    self._keep.append(b)
                    st = _lib_.prd_pg_params_add_textn(h, b, len(b))
                check(st, "parameter: text with a NUL byte" if isinstance(v, str) else None)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.h:
            _lib_.prd_pg_params_free(self.h)
            self.h = None


def _rows(res) -> List[dict]:
    n, cols = _lib_.prd_pg_result_rows(res), _lib_.prd_pg_result_cols(res)
    names = [_lib_.prd_pg_result_column_name(res, c).decode() for c in range(cols)]
    out, length = [], ctypes.c_size_t()
    for r in range(n):
        row = {}
        for c in range(cols):
            if _lib_.prd_pg_result_is_null(res, r, c):
                row[names[c]] = None
            else:
                ptr = _lib_.prd_pg_result_text(res, r, c, ctypes.byref(length))
                row[names[c]] = ctypes.string_at(ptr, length.value).decode("utf-8", "replace")
        out.append(row)
    return out


class Conn:
    """A connection for one thread between acquire and release, or the
    transaction's connection inside Pool.transaction. Values come back as
    text (None for NULL)."""

    def __init__(self, handle):
        self._c = handle

    def _query(self, sql: str, params, want_rows: bool):
        p = _Params(params)
        res = ctypes.c_void_p()
        try:
            st = _lib_.prd_pg_query(self._c, sql.encode(), p.h, ctypes.byref(res))
        finally:
            p.close()
        if st != 0:
            raise error_for(st, _error_text(_lib_.prd_pg_conn_error(self._c)))
        try:
            return _rows(res.value) if want_rows else _lib_.prd_pg_result_affected(res.value)
        finally:
            _lib_.prd_pg_result_free(res.value)

    def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; the row count of its command tag."""
        return self._query(sql, params, False)

    def fetch(self, sql: str, *params: Any) -> List[dict]:
        """Run one statement; its rows as dicts of text values."""
        return self._query(sql, params, True)

    def fetch_one(self, sql: str, *params: Any) -> Optional[dict]:
        rows = self.fetch(sql, *params)
        return rows[0] if rows else None


class Pool:
    """A thread-safe pool of PostgreSQL connections. conninfo "" means
    libpq's PG* environment variables."""

    def __init__(self, conninfo: str = "", *, max_size: int = 10,
                 acquire_timeout: float = 5.0, query_timeout: Optional[float] = None,
                 application_name: Optional[str] = None):
        cfg = ctypes.c_void_p()
        check(_lib_.prd_pg_config_new(conninfo.encode(), ctypes.byref(cfg)))
        err = ctypes.c_void_p()
        try:
            def setting(st):
                if st != 0:
                    raise error_for(st, (_lib_.prd_pg_config_error(cfg) or b"").decode() or None)
            setting(_lib_.prd_pg_config_set_max_size(cfg, max_size))
            setting(_lib_.prd_pg_config_set_acquire_timeout_ms(cfg, int(acquire_timeout * 1000)))
            if query_timeout is not None:
                setting(_lib_.prd_pg_config_set_query_timeout_ms(cfg, int(query_timeout * 1000)))
            if application_name is not None:
                setting(_lib_.prd_pg_config_set_application_name(cfg, application_name.encode()))
            check(_lib_.prd_pg_error_new(ctypes.byref(err)))
            h = ctypes.c_void_p()
            st = _lib_.prd_pg_pool_new(cfg, ctypes.byref(h), err)
            if st != 0:
                raise error_for(st, _error_text(err))
            self._pool = h
        finally:
            _lib_.prd_pg_config_free(cfg)
            if err:
                _lib_.prd_pg_error_free(err)

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The pool's counters in Prometheus text (prefix default
        "prodready_pg_")."""
        return _lib.prometheus_text(_lib_.prd_pg_pool_prometheus, self._pool, prefix)

    def close(self, drain: float = 5.0) -> None:
        """Stop handing out connections, wait up to drain seconds for those
        in use, and free the pool."""
        if getattr(self, "_pool", None):
            st = _lib_.prd_pg_pool_close(self._pool, int(drain * 1000))
            _lib_.prd_pg_pool_free(self._pool)
            self._pool = None
            check(st)

    def __del__(self):
        if getattr(self, "_pool", None):
            _lib_.prd_pg_pool_free(self._pool)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _with_conn(self, work):
        err = ctypes.c_void_p()
        check(_lib_.prd_pg_error_new(ctypes.byref(err)))
        try:
            c = ctypes.c_void_p()
            st = _lib_.prd_pg_pool_acquire_at(self._pool, ctypes.byref(c), err, b"python", 0)
            if st != 0:
                raise error_for(st, _error_text(err))
        finally:
            _lib_.prd_pg_error_free(err)
        try:
            return work(Conn(c))
        finally:
            _lib_.prd_pg_pool_release(c)

    def migrate_stores(self) -> int:
        """Apply the library's stores' schema (sessions, shared limits, the
        login guard), idempotent; how many migrations ran."""
        applied, err = ctypes.c_uint32(), ctypes.c_void_p()
        check(_lib_.prd_pg_error_new(ctypes.byref(err)))
        try:
            st = _lib_.prd_pg_stores_migrate(self._pool, ctypes.byref(applied), err)
            if st != 0:
                raise error_for(st, _error_text(err))
        finally:
            _lib_.prd_pg_error_free(err)
        return applied.value

    def execute(self, sql: str, *params: Any) -> int:
        return self._with_conn(lambda c: c.execute(sql, *params))

    def fetch(self, sql: str, *params: Any) -> List[dict]:
        return self._with_conn(lambda c: c.fetch(sql, *params))

    def fetch_one(self, sql: str, *params: Any) -> Optional[dict]:
        return self._with_conn(lambda c: c.fetch_one(sql, *params))

    def transaction(self, fn: Optional[Callable] = None, *, isolation: str = "read committed",
                    read_only: bool = False, max_attempts: int = 10):
        """Run fn(tx, *args) in a transaction, again from the start on a
        serialization failure or deadlock, and return its result. As a
        decorator (with or without options) the function becomes a callable
        that does this. fn may run more than once: effects outside the
        database must be idempotent. An exception in fn rolls back and is
        raised as it was."""
        if isolation not in _ISOLATION:
            raise InvalidInput(detail="isolation: read committed, repeatable read, serializable")

        def wrap(f):
            @functools.wraps(f)
            def run(*args, **kwargs):
                return self._run_tx(f, args, kwargs, isolation, read_only, max_attempts)
            return run
        return wrap(fn) if fn is not None else wrap

    def _run_tx(self, f, args, kwargs, isolation, read_only, max_attempts):
        box = {}

        def body(conn, _user):
            box.pop("raised", None)
            try:
                box["result"] = f(Conn(conn), *args, **kwargs)
                return 0
            except ProdreadyError as e:
                box["raised"] = e
                return e.status  # a query's status: the library decides whether to retry
            except BaseException as e:  # noqa: BLE001 - re-raised below, never into C
                box["raised"] = e
                return 20  # PRD_EINTERNAL: rolls back; the Python exception is raised

        opts, err = ctypes.c_void_p(), ctypes.c_void_p()
        check(_lib_.prd_pg_tx_options_new(ctypes.byref(opts)))
        try:
            check(_lib_.prd_pg_tx_options_set_isolation(opts, _ISOLATION[isolation]))
            check(_lib_.prd_pg_tx_options_set_read_only(opts, 1 if read_only else 0))
            check(_lib_.prd_pg_tx_options_set_max_attempts(opts, max_attempts))
            check(_lib_.prd_pg_error_new(ctypes.byref(err)))
            callback = _TX_FN(body)
            st = _lib_.prd_pg_tx_run_at(self._pool, opts, callback, None, err, b"python", 0)
            detail = _error_text(err)
        finally:
            _lib_.prd_pg_tx_options_free(opts)
            if err:
                _lib_.prd_pg_error_free(err)
        if st == 0:
            return box.get("result")
        raised = box.get("raised")
        if raised is not None and (not isinstance(raised, ProdreadyError) or raised.status == st):
            raise raised
        raise error_for(st, detail)
