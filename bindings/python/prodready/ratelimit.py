"""Sliding-window rate limits and the login guard (prodready/ratelimit.h).

    limiter = Limiter([Rule("ip", 100, window=60)])
    d = limiter.check("10.0.0.1")
    if not d.allowed:
        return 429, d.headers(limiter), d.problem_json(limiter)

    with limiter.reserve("10.0.0.1") as r:     # refunded if the block raises
        ...

    guard = LoginGuard()
    with guard.attempt("alice", "10.0.0.1") as attempt:   # RateLimited when locked out
        if hasher_ok: attempt.success()
        else: attempt.failure()
"""
import ctypes
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from . import _lib
from .errors import InvalidInput, RateLimited, check

_lib_ = _lib.lib
_ALGORITHMS = {"exact": 0, "counter": 1, "gcra": 2}
MAX_RULES = 8


class _RlKey(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _RlDecision(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("allowed", ctypes.c_int), ("rule", ctypes.c_int),
                ("limit", ctypes.c_uint64), ("remaining", ctypes.c_uint64),
                ("reset_ms", ctypes.c_int64), ("retry_after_ms", ctypes.c_int64)]


class _Reservation(ctypes.Structure):  # caller-owned storage the library fills
    _fields_ = [("opaque", ctypes.c_uint64 * (4 + 3 * MAX_RULES))]


class _Attempt(ctypes.Structure):
    _fields_ = [("opaque", ctypes.c_uint64 * 32)]


_P, _I, _SZ = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
_KEYS = ctypes.POINTER(_RlKey)
_DEC = ctypes.POINTER(_RlDecision)
_lib.declare({name: (res, args) for name, res, args in (
        ("prd_limiter_config_new", _I, [_lib.c_void_pp]),
        ("prd_limiter_config_free", None, [_P]),
        ("prd_limiter_config_add_rule", _I, [_P, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64, _I]),
        ("prd_limiter_config_add_gcra", _I, [_P, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64,
                                             ctypes.c_uint64]),
        ("prd_limiter_config_set_max_keys", _I, [_P, _SZ]),
        ("prd_limiter_new", _I, [_P, _lib.c_void_pp]),
        ("prd_limiter_free", None, [_P]),
        ("prd_limiter_check", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC]),
        ("prd_limiter_peek", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC]),
        ("prd_limiter_reserve", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC,
                                     ctypes.POINTER(_Reservation)]),
        ("prd_limiter_commit", _I, [_P, ctypes.POINTER(_Reservation)]),
        ("prd_limiter_refund", _I, [_P, ctypes.POINTER(_Reservation)]),
        ("prd_limiter_policy_header", _SZ, [_P, _P, _SZ]),
        ("prd_limiter_ratelimit_header", _SZ, [_P, _DEC, _P, _SZ]),
        ("prd_limiter_retry_after_header", _SZ, [_DEC, _P, _SZ]),
        ("prd_limiter_problem_json", _SZ, [_P, _DEC, _P, _SZ]),
        ("prd_rl_header_size", _SZ, []),
        ("prd_login_guard_new", _I, [_SZ, _lib.c_void_pp]),
        ("prd_login_guard_free", None, [_P]),
        ("prd_login_guard_set_limits", _I, [_P, ctypes.c_uint64, ctypes.c_int64, ctypes.c_uint64,
                                            ctypes.c_int64]),
        ("prd_login_guard_set_backoff", _I, [_P, ctypes.c_uint32, ctypes.c_int64, ctypes.c_int64]),
        ("prd_login_guard_check", _I, [_P, _P, _SZ, _P, _SZ, ctypes.POINTER(_Attempt), _DEC]),
        ("prd_login_guard_success", _I, [_P, ctypes.POINTER(_Attempt)]),
        ("prd_login_guard_failure", _I, [_P, ctypes.POINTER(_Attempt)]),
        ("prd_login_guard_abandon", _I, [_P, ctypes.POINTER(_Attempt)]),
        ("prd_login_guard_unlock", _I, [_P, _P, _SZ]),
        ("prd_login_guard_policy_header", _SZ, [_P, _P, _SZ]),
        ("prd_login_guard_set_pg", _I, [_P, _P]),
        ("prd_rl_pg_new", _I, [_P, _P, _lib.c_void_pp]),
        ("prd_rl_pg_free", None, [_P]),
        ("prd_rl_pg_set_fail_open", _I, [_P, _I]),
        ("prd_rl_pg_check", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC]),
        ("prd_rl_pg_peek", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC]),
        ("prd_rl_pg_reserve", _I, [_P, _KEYS, _SZ, ctypes.c_uint64, _DEC,
                                   ctypes.POINTER(_Reservation)]),
        ("prd_rl_pg_commit", _I, [_P, ctypes.POINTER(_Reservation)]),
        ("prd_rl_pg_refund", _I, [_P, _KEYS, _SZ, ctypes.POINTER(_Reservation)]),
        ("prd_rl_pg_set_local_lease", _I, [_P, ctypes.c_int64, ctypes.c_uint64]),
        ("prd_rl_pg_local", ctypes.c_uint64, [_P]),
        ("prd_rl_pg_failures", ctypes.c_uint64, [_P]),
        ("prd_login_guard_ratelimit_header", _SZ, [_P, _DEC, _P, _SZ]))})

_HEADER_SIZE = _lib_.prd_rl_header_size()


def _text(fn, *args) -> str:
    buf = ctypes.create_string_buffer(_HEADER_SIZE)
    fn(*args, buf, _HEADER_SIZE)
    return buf.value.decode()


def _headers(policy_fn, ratelimit_fn, handle, raw) -> dict:
    """RateLimit-Policy and RateLimit for a decision, and Retry-After when denied."""
    h = {"RateLimit-Policy": _text(policy_fn, handle),
         "RateLimit": _text(ratelimit_fn, handle, ctypes.byref(raw))}
    if not raw.allowed:
        h["Retry-After"] = _text(_lib_.prd_limiter_retry_after_header, ctypes.byref(raw))
    return h


def _limited(decision) -> RateLimited:
    err = RateLimited()
    err.decision = decision
    return err


def _bytes(k: Union[str, bytes]) -> bytes:
    return k.encode("utf-8", "surrogateescape") if isinstance(k, str) else bytes(k)


@dataclass(frozen=True)
class Rule:
    """A rule: at most limit units per window seconds per key. algorithm:
    "exact" (a sliding log, the default), "counter" (two-bucket estimate)
    or "gcra" (burst units at once, then limit per window)."""
    name: str
    limit: int
    window: float
    algorithm: str = "exact"
    burst: Optional[int] = None


@dataclass(frozen=True)
class Decision:
    """The outcome of a check: allowed, the deciding rule (index), its
    limit, the units remaining, reset and retry-after in milliseconds."""
    allowed: bool
    rule: int
    limit: int
    remaining: int
    reset_ms: int
    retry_after_ms: int
    _raw: _RlDecision = field(default=None, repr=False, compare=False)

    @classmethod
    def _of(cls, d: _RlDecision) -> "Decision":
        return cls(bool(d.allowed), d.rule, d.limit, d.remaining, d.reset_ms, d.retry_after_ms, d)

    def headers(self, source) -> dict:
        """The HTTP headers for this decision (draft RateLimit fields and,
        when denied, Retry-After), from the Limiter or LoginGuard that made it."""
        return source._headers(self._raw)

    def problem_json(self, limiter: "Limiter") -> str:
        """An RFC 9457 problem body for a denial ("" when allowed)."""
        return _text(_lib_.prd_limiter_problem_json, limiter._l, ctypes.byref(self._raw))


class Limiter:
    """Sliding-window limits over keys, in this process; thread-safe.
    check() with one key per rule (a single key when there is one rule)."""

    def __init__(self, rules: Sequence[Rule], max_keys: Optional[int] = None, *, pool=None,
                 fail_open: bool = False, lease: Optional[tuple] = None):
        """pool: keep the state in PostgreSQL (a prodready.Pool with the
        stores' schema, pool.migrate_stores()), shared by every instance;
        the database's clock decides. fail_open: admit while the database
        cannot answer (default: deny, raising DatabaseError). lease:
        (seconds, units), the local pre-check: a key with plenty of room
        spends `units` reserved in one round trip locally for up to
        `seconds` (at most 10); each rule then holds over its window
        shortened by the lease, and the count is never exceeded."""
        if not rules or len(rules) > MAX_RULES:
            raise InvalidInput(detail=f"1 to {MAX_RULES} rules")
        cfg = ctypes.c_void_p()
        check(_lib_.prd_limiter_config_new(ctypes.byref(cfg)))
        try:
            for r in rules:
                window_ms = int(r.window * 1000)
                if r.algorithm == "gcra":
                    st = _lib_.prd_limiter_config_add_gcra(cfg, r.name.encode(), r.limit, window_ms,
                                                           r.burst if r.burst is not None else r.limit)
                elif r.algorithm in _ALGORITHMS:
                    st = _lib_.prd_limiter_config_add_rule(cfg, r.name.encode(), r.limit, window_ms,
                                                           _ALGORITHMS[r.algorithm])
                else:
                    raise InvalidInput(detail="algorithm is exact, counter or gcra")
                check(st, f"rule {r.name!r}")
            if max_keys is not None:
                check(_lib_.prd_limiter_config_set_max_keys(cfg, max_keys))
            h = ctypes.c_void_p()
            # the local limiter also writes the header values for the shared one
            check(_lib_.prd_limiter_new(cfg, ctypes.byref(h)))
            self._l = h
            self._pg, self._pool = None, pool
            if pool is not None:
                pg = ctypes.c_void_p()
                check(_lib_.prd_rl_pg_new(cfg, pool._pool, ctypes.byref(pg)))
                self._pg = pg
                check(_lib_.prd_rl_pg_set_fail_open(pg, 1 if fail_open else 0))
                if lease is not None:
                    seconds, units = lease
                    check(_lib_.prd_rl_pg_set_local_lease(pg, int(seconds * 1000), units),
                          "lease: 0.001 .. 10 seconds, units >= 1")
            elif lease is not None:
                raise InvalidInput(detail="a lease is for a limiter in PostgreSQL (pool=)")
        finally:
            _lib_.prd_limiter_config_free(cfg)
        self._n = len(rules)

    def __del__(self):
        if getattr(self, "_pg", None):
            _lib_.prd_rl_pg_free(self._pg)
            self._pg = None
        if getattr(self, "_l", None):
            _lib_.prd_limiter_free(self._l)
            self._l = None

    def _keys(self, key):
        keys = [key] if isinstance(key, (str, bytes, bytearray)) else list(key)
        if len(keys) == 1 and self._n > 1:
            keys = keys * self._n
        if len(keys) != self._n:
            raise InvalidInput(detail=f"one key per rule ({self._n})")
        raw = [_bytes(k) for k in keys]
        arr = (_RlKey * self._n)()
        for i, b in enumerate(raw):
            arr[i].data = ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p)
            arr[i].len = len(b)
        return arr, raw  # raw keeps the bytes alive for the call

    def _run(self, fn, key, cost, *extra):
        arr, keep = self._keys(key)
        d = _RlDecision(size=ctypes.sizeof(_RlDecision))
        st = fn(self._pg or self._l, arr, self._n, cost, ctypes.byref(d), *extra)
        del keep
        if st not in (0, RateLimited.status):
            check(st)
        return Decision._of(d)

    @property
    def local_checks(self) -> int:
        """Checks answered from a lease, without a round trip (shared limiters)."""
        return _lib_.prd_rl_pg_local(self._pg) if self._pg else 0

    @property
    def failure_policy_checks(self) -> int:
        """Checks answered by the failure policy while the database could not."""
        return _lib_.prd_rl_pg_failures(self._pg) if self._pg else 0

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The limiter's counters in Prometheus text (prefix default
        "prodready_ratelimit_"; "prodready_ratelimit_pg_" for one kept in
        PostgreSQL, whose counters are the store's)."""
        if self._pg is not None:
            return _lib.prometheus_text(_lib_.prd_rl_pg_prometheus, self._pg, prefix)
        return _lib.prometheus_text(_lib_.prd_limiter_prometheus, self._l, prefix)

    def check(self, key, cost: int = 1) -> Decision:
        """Count cost units for key (one per rule, or the same key for all)
        when every rule admits them; the decision either way."""
        return self._run(_lib_.prd_rl_pg_check if self._pg else _lib_.prd_limiter_check, key, cost)

    def peek(self, key, cost: int = 1) -> Decision:
        """Would check admit this? Nothing is recorded."""
        return self._run(_lib_.prd_rl_pg_peek if self._pg else _lib_.prd_limiter_peek, key, cost)

    def reserve(self, key, cost: int = 1) -> "Reservation":
        """Take units now and settle later: a context manager that commits
        when the block ends normally and refunds when it raises. RateLimited
        (with .decision) when the units are not available."""
        resv = _Reservation()
        d = self._run(_lib_.prd_rl_pg_reserve if self._pg else _lib_.prd_limiter_reserve, key, cost,
                      ctypes.byref(resv))
        if not d.allowed:
            raise _limited(d)
        return Reservation(self, resv, d, key)

    def _headers(self, raw) -> dict:
        return _headers(_lib_.prd_limiter_policy_header, _lib_.prd_limiter_ratelimit_header,
                        self._l, raw)


class Reservation:
    """Units taken by Limiter.reserve: commit() keeps them, refund() gives
    them back; as a context manager, refunded if the block raises."""

    def __init__(self, limiter, resv, decision, key):
        self._lim, self._resv, self.decision, self._settled = limiter, resv, decision, False
        self._key = key

    def commit(self) -> None:
        if not self._settled:
            self._settled = True
            lim = self._lim
            if lim._pg:
                check(_lib_.prd_rl_pg_commit(lim._pg, ctypes.byref(self._resv)))
            else:
                check(_lib_.prd_limiter_commit(lim._l, ctypes.byref(self._resv)))

    def refund(self) -> None:
        if not self._settled:
            self._settled = True
            lim = self._lim
            if lim._pg:
                arr, keep = lim._keys(self._key)
                check(_lib_.prd_rl_pg_refund(lim._pg, arr, lim._n, ctypes.byref(self._resv)))
                del keep
            else:
                check(_lib_.prd_limiter_refund(lim._l, ctypes.byref(self._resv)))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.refund()
        return False


class LoginGuard:
    """Per-source attempts, per-account failures from unfamiliar sources and
    per-pair backoff, in this process (prodready/ratelimit.h). Thread-safe."""

    def __init__(self, max_keys: int = 100000, *, source_attempts: Optional[int] = None,
                 source_window: Optional[float] = None, account_failures: Optional[int] = None,
                 account_window: Optional[float] = None, pool=None):
        """pool: keep the guard's state in PostgreSQL (a prodready.Pool with
        the stores' schema), so the per-account limit holds across every
        instance; the guard then fails closed (RateLimited is not raised,
        DatabaseError is) while the database cannot answer."""
        h = ctypes.c_void_p()
        check(_lib_.prd_login_guard_new(max_keys, ctypes.byref(h)))
        self._g = h
        self._pool = pool
        given = (source_attempts, source_window, account_failures, account_window)
        if any(v is not None for v in given):
            if any(v is None for v in given):
                raise InvalidInput(detail="give all four limits or none")
            check(_lib_.prd_login_guard_set_limits(h, source_attempts, int(source_window * 1000),
                                                   account_failures, int(account_window * 1000)))
        if pool is not None:
            check(_lib_.prd_login_guard_set_pg(h, pool._pool))

    def __del__(self):
        if getattr(self, "_g", None):
            _lib_.prd_login_guard_free(self._g)
            self._g = None

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The guard's counters in Prometheus text (prefix default
        "prodready_login_")."""
        return _lib.prometheus_text(_lib_.prd_login_guard_prometheus, self._g, prefix)

    def attempt(self, account: Union[str, bytes], source: Union[str, bytes]) -> "LoginAttempt":
        """Check an attempt before verifying the password: a LoginAttempt to
        settle with success() or failure(), or RateLimited (with .decision)."""
        a, s = _bytes(account), _bytes(source)
        att = _Attempt()
        d = _RlDecision(size=ctypes.sizeof(_RlDecision))
        st = _lib_.prd_login_guard_check(self._g, a, len(a), s, len(s), ctypes.byref(att),
                                         ctypes.byref(d))
        decision = Decision._of(d)
        if st == RateLimited.status:
            raise _limited(decision)
        check(st)
        return LoginAttempt(self, att, decision)

    def unlock(self, account: Union[str, bytes]) -> None:
        """Lift an account's lockout (after a reset or a second factor)."""
        a = _bytes(account)
        check(_lib_.prd_login_guard_unlock(self._g, a, len(a)))

    def _headers(self, raw) -> dict:
        return _headers(_lib_.prd_login_guard_policy_header, _lib_.prd_login_guard_ratelimit_header,
                        self._g, raw)


class LoginAttempt:
    """One checked attempt. success() or failure() once; as a context
    manager, an exception in the block abandons it (neither: a system
    error, not the user's fault)."""

    def __init__(self, guard, att, decision):
        self._g, self._att, self.decision, self._settled = guard, att, decision, False

    def _settle(self, fn):
        if self._settled:
            raise InvalidInput(detail="this attempt is already settled")
        self._settled = True
        check(fn(self._g._g, ctypes.byref(self._att)))

    def success(self) -> None:
        self._settle(_lib_.prd_login_guard_success)

    def failure(self) -> None:
        self._settle(_lib_.prd_login_guard_failure)

    def abandon(self) -> None:
        self._settle(_lib_.prd_login_guard_abandon)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._settled:
            self.abandon() if exc_type is not None else self.failure()
        return False
