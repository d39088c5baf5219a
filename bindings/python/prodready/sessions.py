"""Opaque tokens kept server-side (prodready/token.h): sessions with idle
and absolute timeouts, single-use tokens (password reset, email links) and
refresh-token families with reuse detection, in memory or in PostgreSQL
shared by every instance.

    store = TokenStore.postgres(pool)          # or TokenStore.memory(100000)
    sessions = Sessions(store, prefix="sess", idle=1800, absolute=8 * 3600)
    token = sessions.create("user-42")         # the cookie value
    user = sessions.validate(token)            # "user-42"; ExpiredToken, InvalidToken
"""
import ctypes
from typing import Optional, Tuple, Union

from . import _lib
from .errors import check

_lib_ = _lib.lib
_P, _I, _S, _SZ = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
_lib.declare({name: (res, args) for name, res, args in (
        ("prd_token_store_new_memory", _I, [_SZ, _lib.c_void_pp]),
        ("prd_token_store_new_pg", _I, [_P, _lib.c_void_pp]),
        ("prd_token_store_free", None, [_P]),
        ("prd_token_sessions_new", _I, [_P, _S, _lib.c_void_pp]),
        ("prd_token_sessions_free", None, [_P]),
        ("prd_token_sessions_set_timeouts", _I, [_P, ctypes.c_int64, ctypes.c_int64]),
        ("prd_token_session_create", _I, [_P, _S, _P, _SZ]),
        ("prd_token_session_validate", _I, [_P, _P, _SZ, _P, _SZ]),
        ("prd_token_session_rotate", _I, [_P, _P, _SZ, _P, _SZ]),
        ("prd_token_session_revoke", _I, [_P, _P, _SZ]),
        ("prd_token_session_revoke_subject", _I, [_P, _S, ctypes.POINTER(_SZ)]),
        ("prd_token_single_use_issue", _I, [_P, _S, _S, ctypes.c_int64, _P, _SZ, _P, _SZ]),
        ("prd_token_single_use_consume", _I, [_P, _S, _P, _SZ, _P, _SZ, _P, _SZ]),
        ("prd_token_refresh_set_policy", _I, [_P, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64]),
        ("prd_token_refresh_issue", _I, [_P, _S, _P, _SZ]),
        ("prd_token_refresh_rotate", _I, [_P, _P, _SZ, _P, _SZ, _P, _SZ, ctypes.POINTER(_I)]),
        ("prd_token_refresh_revoke", _I, [_P, _P, _SZ]),
        ("prd_opaque_token_size", _SZ, []),
        ("prd_session_subject_size", _SZ, []))})

_TOKEN_SIZE = _lib_.prd_opaque_token_size()
_SUBJECT_SIZE = _lib_.prd_session_subject_size()


def _b(s: Union[str, bytes, None]) -> bytes:
    if s is None:
        return b""
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else bytes(s)


class TokenStore:
    """Where opaque tokens' records live: memory (this process) or
    PostgreSQL (every instance; the stores' schema must be migrated)."""

    def __init__(self, handle, keep=None):
        self._s, self._keep = handle, keep

    @classmethod
    def memory(cls, max_entries: int = 100000) -> "TokenStore":
        h = ctypes.c_void_p()
        check(_lib_.prd_token_store_new_memory(max_entries, ctypes.byref(h)))
        return cls(h)

    @classmethod
    def postgres(cls, pool) -> "TokenStore":
        """On a prodready.Pool (borrowed: the store keeps it alive)."""
        h = ctypes.c_void_p()
        check(_lib_.prd_token_store_new_pg(pool._pool, ctypes.byref(h)))
        return cls(h, keep=pool)

    def __del__(self):
        if getattr(self, "_s", None):
            _lib_.prd_token_store_free(self._s)
            self._s = None


class Sessions:
    """Sessions, single-use and refresh tokens over a store. Thread-safe.
    Tokens look like "<prefix>_<43 characters>"; only their digests are stored."""

    def __init__(self, store: TokenStore, prefix: str = "sess", *, idle: Optional[float] = None,
                 absolute: Optional[float] = None):
        h = ctypes.c_void_p()
        check(_lib_.prd_token_sessions_new(store._s, prefix.encode(), ctypes.byref(h)))
        self._h, self._store = h, store  # the manager borrows the store: keep it alive
        if idle is not None or absolute is not None:
            check(_lib_.prd_token_sessions_set_timeouts(
                h, int((idle if idle is not None else 1800) * 1000),
                int((absolute if absolute is not None else 8 * 3600) * 1000)))

    def __del__(self):
        if getattr(self, "_h", None):
            _lib_.prd_token_sessions_free(self._h)
            self._h = None

    @staticmethod
    def _buf(size=_TOKEN_SIZE):
        return ctypes.create_string_buffer(size)

    def create(self, subject: str) -> str:
        """A new session for subject; its token (the cookie value)."""
        out = self._buf()
        check(_lib_.prd_token_session_create(self._h, _b(subject), out, _TOKEN_SIZE))
        return out.value.decode()

    def validate(self, token: Union[str, bytes]) -> str:
        """The session's subject, sliding its idle timeout; ExpiredToken or
        InvalidToken (unknown, revoked, malformed)."""
        t, subject = _b(token), self._buf(_SUBJECT_SIZE)
        check(_lib_.prd_token_session_validate(self._h, t, len(t), subject, _SUBJECT_SIZE))
        return subject.value.decode("utf-8", "surrogateescape")

    def rotate(self, token: Union[str, bytes]) -> str:
        """A new token for the same session; the old one stops working."""
        t, out = _b(token), self._buf()
        check(_lib_.prd_token_session_rotate(self._h, t, len(t), out, _TOKEN_SIZE))
        return out.value.decode()

    def revoke(self, token: Union[str, bytes]) -> None:
        """End one session (logout); InvalidToken when unknown."""
        t = _b(token)
        check(_lib_.prd_token_session_revoke(self._h, t, len(t)))

    def revoke_subject(self, subject: str) -> int:
        """End every session and single-use token of subject; how many."""
        n = ctypes.c_size_t()
        check(_lib_.prd_token_session_revoke_subject(self._h, _b(subject), ctypes.byref(n)))
        return n.value

    def issue_single_use(self, purpose: str, subject: str, ttl: float,
                         binding: Union[str, bytes, None] = None) -> str:
        """A token for one use with this purpose ("reset"), expiring after ttl seconds."""
        out, bnd = self._buf(), _b(binding)
        check(_lib_.prd_token_single_use_issue(self._h, purpose.encode(), _b(subject),
                                                int(ttl * 1000), bnd or None, len(bnd), out,
                                                _TOKEN_SIZE))
        return out.value.decode()

    def consume_single_use(self, purpose: str, token: Union[str, bytes],
                           binding: Union[str, bytes, None] = None) -> str:
        """The subject, once; InvalidToken the second time, ExpiredToken when late."""
        t, bnd, subject = _b(token), _b(binding), self._buf(_SUBJECT_SIZE)
        check(_lib_.prd_token_single_use_consume(self._h, purpose.encode(), t, len(t), bnd or None,
                                                  len(bnd), subject, _SUBJECT_SIZE))
        return subject.value.decode("utf-8", "surrogateescape")

    def set_refresh_policy(self, token_ttl: float, family_lifetime: float, grace: float = 0) -> None:
        check(_lib_.prd_token_refresh_set_policy(self._h, int(token_ttl * 1000),
                                                  int(family_lifetime * 1000), int(grace * 1000)))

    def issue_refresh(self, subject: str) -> str:
        out = self._buf()
        check(_lib_.prd_token_refresh_issue(self._h, _b(subject), out, _TOKEN_SIZE))
        return out.value.decode()

    def rotate_refresh(self, token: Union[str, bytes]) -> Tuple[str, str]:
        """(new token, subject). A token used twice revokes its family:
        InvalidToken, with .reused True on the exception."""
        t, out, subject = _b(token), self._buf(), self._buf(_SUBJECT_SIZE)
        reused = ctypes.c_int()
        st = _lib_.prd_token_refresh_rotate(self._h, t, len(t), out, _TOKEN_SIZE, subject,
                                             _SUBJECT_SIZE, ctypes.byref(reused))
        if st != 0:
            from .errors import error_for
            err = error_for(st, "reuse detected: the family is revoked" if reused.value else None)
            err.reused = bool(reused.value)
            err.subject = subject.value.decode("utf-8", "surrogateescape") or None
            raise err
        return out.value.decode(), subject.value.decode("utf-8", "surrogateescape")

    def revoke_refresh(self, token: Union[str, bytes]) -> None:
        t = _b(token)
        check(_lib_.prd_token_refresh_revoke(self._h, t, len(t)))
