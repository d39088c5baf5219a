"""PASETO v4 tokens and PASERK keys (prodready/token.h).

    key = Key.generate("local")
    ring = Keyring([key])
    t = Token.issue(ring, "local", {"sub": "alice"}, ttl=900)
    claims = Token.verify(ring, "local", t)      # a dict, or ExpiredToken,
                                                 # NotYetValid, InvalidToken
"""
import ctypes
import datetime
import json
from typing import Any, Iterable, Mapping, Optional, Union

from . import _lib
from .errors import InvalidInput, check, error_for

_lib_ = _lib.lib
_KINDS = {"local": 1, "public": 2, "secret": 3}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
_PURPOSES = {"local": 1, "public": 2}
_P = ctypes.c_void_p
_lib.declare({
    "prd_token_revocations_new": (ctypes.c_int, [_P, _lib.c_void_pp]),
    "prd_token_revocations_free": (None, [_P]),
    "prd_token_revocations_set_refresh": (ctypes.c_int, [_P, ctypes.c_int64, ctypes.c_int64]),
    "prd_token_revoke_jti": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int64]),
    "prd_token_jti_check": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "prd_token_revocations_count": (ctypes.c_size_t, [_P]),
    "prd_token_verifier_set_revocations": (ctypes.c_int, [_P, _P]),
})
_PASERK_SIZE = _lib_.prd_paserk_size()
_ID_SIZE = _lib_.prd_paserk_id_size()


def _purpose(purpose: str) -> int:
    try:
        return _PURPOSES[purpose]
    except KeyError:
        raise InvalidInput(detail="purpose is 'local' or 'public'") from None


class RawJSON(str):
    """A claim value given as JSON text, passed to the library as it is
    (parsed there: duplicates and trailing text refused), not re-encoded."""


def _opt(b: Optional[Union[str, bytes]]) -> bytes:
    if b is None:
        return b""
    # surrogateescape: a str that came from bytes (sys.argv, os.environ)
    # goes back to those bytes, for the library to judge
    return b.encode("utf-8", "surrogateescape") if isinstance(b, str) else bytes(b)


class Key:
    """A v4 key: "local" (symmetric), "secret" (Ed25519 signing) or
    "public" (Ed25519 verification). Immutable; thread-safe."""

    def __init__(self, handle: ctypes.c_void_p):
        self._k = handle

    @classmethod
    def generate(cls, purpose: str = "local") -> "Key":
        """A new random key: "local", or "public"/"secret" for a signing key."""
        kind = 1 if purpose == "local" else 3 if purpose in ("public", "secret") else None
        if kind is None:
            raise InvalidInput(detail="purpose is 'local' or 'public'")
        h = ctypes.c_void_p()
        check(_lib_.prd_token_key_generate(kind, ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_paserk(cls, paserk: str) -> "Key":
        """Parse a PASERK (k4.local., k4.public., k4.secret.)."""
        h = ctypes.c_void_p()
        check(_lib_.prd_token_key_from_paserk(paserk.encode(), ctypes.byref(h)), "not a v4 PASERK")
        return cls(h)

    @classmethod
    def from_hex(cls, kind: str, text: str) -> "Key":
        """A key from hex: kind "local" or "public" (64 digits), "secret" (128)."""
        if kind not in _KINDS:
            raise InvalidInput(detail="kind is 'local', 'public' or 'secret'")
        h = ctypes.c_void_p()
        check(_lib_.prd_token_key_from_hex(_KINDS[kind], text.encode(), ctypes.byref(h)),
              "not a hex key of that kind")
        return cls(h)

    @property
    def kind(self) -> str:
        return _KIND_NAMES[_lib_.prd_token_key_kind(self._k)]

    def public(self) -> "Key":
        """The public key of a secret key."""
        h = ctypes.c_void_p()
        check(_lib_.prd_token_key_public(self._k, ctypes.byref(h)))
        return Key(h)

    def paserk(self) -> str:
        """The key as PASERK text (a secret: keep it out of logs)."""
        buf = ctypes.create_string_buffer(_PASERK_SIZE)
        _lib_.prd_token_key_paserk(self._k, buf, _PASERK_SIZE)
        try:
            return buf.value.decode()
        finally:
            ctypes.memset(buf, 0, _PASERK_SIZE)

    @property
    def id(self) -> str:
        """The PASERK id (k4.lid., k4.pid., k4.sid.)."""
        buf = ctypes.create_string_buffer(_ID_SIZE)
        _lib_.prd_token_key_id(self._k, buf, _ID_SIZE)
        return buf.value.decode()

    def __repr__(self):
        return f"<prodready.Key {self.kind} {self.id}>"  # never the key itself

    def __del__(self):
        if getattr(self, "_k", None):
            _lib_.prd_token_key_free(self._k)
            self._k = None


class Keyring:
    """Keys by id, with one current key per purpose for issuing (a local
    key, a secret key). Unless current names one, the first key that can
    issue for its purpose is current; public keys only verify."""

    def __init__(self, keys: Iterable[Key] = (), current: Optional[Key] = None):
        h = ctypes.c_void_p()
        check(_lib_.prd_keyring_new(ctypes.byref(h)))
        self._r = h
        self._keys = []  # the ring copies keys; these keep the Python objects for reference
        issuing = set()
        for k in keys:
            kind = k.kind
            if current is not None:
                now = k is current
            else:
                now = kind != "public" and kind not in issuing
            if now:
                issuing.add(kind)
            self.add(k, current=now)

    def add(self, key: Key, current: bool = False) -> None:
        check(_lib_.prd_keyring_add(self._r, key._k, 1 if current else 0))
        self._keys.append(key)

    def __del__(self):
        if getattr(self, "_r", None):
            _lib_.prd_keyring_free(self._r)
            self._r = None


def _ns(when: Union[int, float, datetime.datetime, str]) -> int:
    """Unix nanoseconds from a datetime, an RFC 3339 string or Unix seconds."""
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            raise InvalidInput(detail="datetimes must be timezone-aware")
        return int(when.timestamp() * 1_000_000_000)
    if isinstance(when, str):
        out = ctypes.c_int64()
        text = _opt(when)
        check(_lib_.prd_rfc3339_parse(text, len(text), ctypes.byref(out)), "not an RFC 3339 time")
        return out.value
    return int(when * 1_000_000_000)


class _Clock:
    """A fixed clock at unix_ns, for verifying "as of" a time."""

    def __init__(self, unix_ns: int):
        h = ctypes.c_void_p()
        check(_lib_.prd_clock_manual_new(unix_ns, 0, ctypes.byref(h)))
        self._c = h

    def __del__(self):
        if getattr(self, "_c", None):
            _lib_.prd_clock_free(self._c)


class Revocations:
    """A jti revocation list, to end PASETO tokens before they expire: in
    this process (pool None) or shared through PostgreSQL, where every list
    on the database refuses a jti revoked anywhere within its refresh
    interval and fails closed (ServiceError) when its copy is staler than
    its bound. Pass it to Token.verify(..., revocations=list)."""

    def __init__(self, pool=None, *, refresh: Optional[float] = None, max_stale: float = 30.0):
        h = ctypes.c_void_p()
        check(_lib_.prd_token_revocations_new(pool._pool if pool is not None else None, ctypes.byref(h)))
        self._h, self._pool = h, pool  # the list borrows the pool: keep it alive
        if refresh is not None:
            check(_lib_.prd_token_revocations_set_refresh(h, int(refresh * 1000), int(max_stale * 1000)),
                  "refresh 10 ms .. 1 h; max_stale refresh .. 1 day")

    def revoke(self, jti: str, expires: Union[int, float, datetime.datetime, str]) -> None:
        """Refuse tokens with this jti until expires (the token's exp)."""
        check(_lib_.prd_token_revoke_jti(self._h, _opt(jti), _ns(expires)))

    def check(self, jti: str) -> bool:
        """True when jti is not revoked, False when it is."""
        st = _lib_.prd_token_jti_check(self._h, _opt(jti))
        if st == 15:  # PRD_EBADTOKEN: revoked
            return False
        check(st)
        return True

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The revocation list's counters in Prometheus text (prefix
        default "prodready_token_revocations_")."""
        return _lib.prometheus_text(_lib_.prd_token_revocations_prometheus, self._h, prefix)

    def __len__(self) -> int:
        return _lib_.prd_token_revocations_count(self._h)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib_.prd_token_revocations_free(self._h)
            self._h = None


class Token:
    """Issue and verify PASETO v4 tokens. Every token expires."""

    @staticmethod
    def _claims(claims: Mapping[str, Any], ttl, expires, not_before):
        h = ctypes.c_void_p()
        check(_lib_.prd_token_claims_new(ctypes.byref(h)))
        try:
            if ttl is not None:
                ms = int(ttl.total_seconds() * 1000) if isinstance(ttl, datetime.timedelta) \
                    else int(ttl * 1000)
                check(_lib_.prd_token_claims_set_ttl(h, ms), "ttl out of range (1 ms .. 10 years)")
            if expires is not None:
                check(_lib_.prd_token_claims_set_expiry(h, _ns(expires)))
            if not_before is not None:
                check(_lib_.prd_token_claims_set_not_before(h, _ns(not_before)))
            for name, value in claims.items():
                if name in ("exp", "iat", "nbf"):
                    raise InvalidInput(detail=f"{name} is set by ttl/expires/not_before")
                bname = _opt(name)
                if isinstance(value, RawJSON):
                    text = _opt(value)
                    st = _lib_.prd_token_claims_set_json_text(h, bname, text, len(text))
                elif isinstance(value, str):
                    st = _lib_.prd_token_claims_set_string(h, bname, _opt(value))
                else:
                    text = json.dumps(value, separators=(",", ":"), allow_nan=False,
                                      ensure_ascii=False).encode()
                    st = _lib_.prd_token_claims_set_json_text(h, bname, text, len(text))
                check(st, f"claim {name!r}")
            return h
        except BaseException:
            _lib_.prd_token_claims_free(h)
            raise

    @classmethod
    def issue(cls, ring: Keyring, purpose: str, claims: Mapping[str, Any] = None, *,
              ttl: Union[int, float, datetime.timedelta, None] = None,
              expires: Any = None, not_before: Any = None,
              footer: Optional[Mapping[str, Any]] = None,
              implicit: Union[str, bytes, None] = None) -> str:
        """A token for claims (a dict of JSON values), signed or encrypted
        with the ring's current key for purpose. ttl (seconds or a timedelta)
        or expires is required. footer: extra footer members beside kid."""
        if ttl is None and expires is None:
            raise InvalidInput(detail="tokens must expire: give ttl or expires")
        h = cls._claims(claims or {}, ttl, expires, not_before)
        out = ctypes.c_void_p()
        try:
            f = (json.dumps(footer, separators=(",", ":"), ensure_ascii=False).encode()
                 if footer is not None else None)
            imp = _opt(implicit)
            check(_lib_.prd_token_issue(ring._r, _purpose(purpose), h, f, len(f) if f else 0,
                                        imp, len(imp), None, ctypes.byref(out)))
        finally:
            _lib_.prd_token_claims_free(h)
        return _lib.take_string(out.value).decode()

    @classmethod
    def issue_raw(cls, key: Key, purpose: str, claims: Mapping[str, Any] = None, *,
                  ttl=None, expires=None, not_before=None, footer: Union[str, bytes, None] = None,
                  implicit: Union[str, bytes, None] = None) -> str:
        """A token with footer given byte for byte (no kid), from one key."""
        if ttl is None and expires is None:
            raise InvalidInput(detail="tokens must expire: give ttl or expires")
        h = cls._claims(claims or {}, ttl, expires, not_before)
        payload = ctypes.c_void_p()
        try:
            check(_lib_.prd_token_claims_payload(h, None, ctypes.byref(payload)))
        finally:
            _lib_.prd_token_claims_free(h)
        text = _lib.take_string(payload.value)
        f, imp = _opt(footer), _opt(implicit)
        out = ctypes.c_void_p()
        fn = _lib_.prd_token_v4_encrypt if _purpose(purpose) == 1 else _lib_.prd_token_v4_sign
        check(fn(key._k, text, len(text), f, len(f), imp, len(imp), ctypes.byref(out)))
        return _lib.take_string(out.value).decode()

    @classmethod
    def verify(cls, ring: Keyring, purpose: str, token: Union[str, bytes], **options) -> dict:
        """The claims of a valid token as a dict; ExpiredToken, NotYetValid or
        InvalidToken (with .detail saying why) when it is not. Options:
        footer (the exact footer expected), implicit, issuer, audience (any
        of), require (claim names), leeway (seconds, default 30, for exp and
        nbf), at (verify as of that time), max_size (bytes), revocations (a
        Revocations list: a revoked jti is InvalidToken "revoked")."""
        return json.loads(cls.verify_text(ring, purpose, token, **options))

    @classmethod
    def verify_text(cls, ring: Keyring, purpose: str, token: Union[str, bytes], *,
                    footer: Union[str, bytes, None] = None,
                    implicit: Union[str, bytes, None] = None, issuer: Optional[str] = None,
                    audience: Iterable[str] = (), require: Iterable[str] = (),
                    leeway: float = 30, at: Any = None, max_size: Optional[int] = None,
                    revocations: Optional[Revocations] = None) -> str:
        """As verify, with the claims as the JSON text exactly as in the token."""
        v = ctypes.c_void_p()
        check(_lib_.prd_token_verifier_new(ring._r, _purpose(purpose), ctypes.byref(v)))
        clock = None
        try:
            ms = int(leeway * 1000)
            check(_lib_.prd_token_verifier_set_leeway(v, ms, ms), "leeway is 0 .. 1 day")
            if footer is not None:
                fb = _opt(footer)
                check(_lib_.prd_token_verifier_set_footer(v, fb, len(fb)))
            if issuer is not None:
                check(_lib_.prd_token_verifier_set_issuer(v, _opt(issuer)))
            for a in audience:
                check(_lib_.prd_token_verifier_add_audience(v, _opt(a)))
            for r in require:
                check(_lib_.prd_token_verifier_require_claim(v, r.encode()))
            if max_size is not None:
                check(_lib_.prd_token_verifier_set_max_size(v, max_size))
            if at is not None:
                clock = _Clock(_ns(at))
                check(_lib_.prd_token_verifier_set_clock(v, clock._c))
            if revocations is not None:
                check(_lib_.prd_token_verifier_set_revocations(v, revocations._h))
            tok, imp = _opt(token), _opt(implicit)
            r = ctypes.c_void_p()
            why = ctypes.c_char_p()
            st = _lib_.prd_token_verify(v, tok, len(tok), imp, len(imp), ctypes.byref(r),
                                        ctypes.byref(why))
            if st != 0:
                raise error_for(st, why.value.decode() if why.value else None)
            try:
                return _lib_.prd_token_verified_claims_text(r).decode()
            finally:
                _lib_.prd_token_verified_free(r)
        finally:
            _lib_.prd_token_verifier_free(v)
            del clock
