"""Argon2id password hashing (prodready/password.h), shaped like argon2-cffi."""
import ctypes
import re
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from . import _lib
from .errors import VerifyMismatchError, check

_lib_ = _lib.lib
_HASH_SIZE = _lib_.prd_password_hash_size()

PRESETS = ("owasp", "rfc9106-low-memory", "moderate", "sensitive")


def backend() -> str:
    """The Argon2 backend computing new hashes in this process: "own-avx2",
    "own-avx512", ..., "libsodium" or "libargon2" (prodready/password.h)."""
    return _lib_.prd_password_backend().decode()


def _bytes(password: Union[str, bytes]) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


@dataclass(frozen=True)
class Parameters:
    """The parameters of a stored Argon2 hash, read from its PHC string."""
    type: str
    version: int
    memory_cost: int
    time_cost: int
    parallelism: int
    salt_len: int
    hash_len: int


_PHC = re.compile(r"^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)"
                  r"(?:,keyid=[^,$]*)?(?:,data=[^,$]*)?\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$")


def extract_parameters(phc: str) -> Parameters:
    """The parameters of an Argon2 PHC string; InvalidInput when it is not one."""
    m = _PHC.match(phc)
    if not m:
        from .errors import InvalidInput
        raise InvalidInput(detail="not an Argon2 PHC string")
    b64 = lambda s: (len(s) * 3) // 4  # unpadded base64 length in bytes
    return Parameters(m.group(1), int(m.group(2) or 16), int(m.group(3)), int(m.group(4)),
                      int(m.group(5)), b64(m.group(6)), b64(m.group(7)))


class PasswordHasher:
    """Hash and verify passwords with a policy: a preset ("owasp", the default,
    "rfc9106-low-memory", "moderate", "sensitive") or explicit t/m/p, an
    optional pepper (id, bytes), whether legacy crypt(3) hashes verify, and
    how long an idle hash arena stays mapped (arena_idle_ms; 0 keeps none).

    Thread-safe once made; hashing and verifying release the GIL.
    """

    def __init__(self, preset: Optional[str] = None, *, time_cost: Optional[int] = None,
                 memory_cost: Optional[int] = None, parallelism: Optional[int] = None,
                 pepper: Optional[Tuple[str, bytes]] = None, allow_legacy: bool = False,
                 arena_idle_ms: Optional[int] = None):
        p = ctypes.c_void_p()
        check(_lib_.prd_password_policy_new(preset.encode() if preset else None, ctypes.byref(p)),
              f"unknown preset {preset!r}" if preset else None)
        self._p = p
        try:
            if time_cost is not None or memory_cost is not None or parallelism is not None:
                check(_lib_.prd_password_policy_set_params(
                    p, time_cost if time_cost is not None else 2,
                    memory_cost if memory_cost is not None else 19456,
                    parallelism if parallelism is not None else 1),
                    "need t>=1, 1<=p<=16, m>=8*p KiB, within t<=16, m<=1048576")
            if pepper is not None:
                pid, secret = pepper
                s = ctypes.c_void_p()
                raw = bytes(secret)
                check(_lib_.prd_secret_from_bytes(raw, len(raw), ctypes.byref(s)))
                try:
                    check(_lib_.prd_password_policy_set_pepper(p, pid.encode(), s))
                finally:
                    _lib_.prd_secret_free(s)
            if allow_legacy:
                check(_lib_.prd_password_policy_set_allow_legacy(p, 1))
            if arena_idle_ms is not None:
                if not 0 <= arena_idle_ms <= 0xFFFFFFFF:
                    raise ValueError("arena_idle_ms: 0 to 2**32 - 1 milliseconds")
                check(_lib_.prd_password_policy_set_arena_idle(p, arena_idle_ms))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the policy (also done when the object is collected)."""
        if getattr(self, "_p", None):
            _lib_.prd_password_policy_free(self._p)
            self._p = None

    def __del__(self):
        self.close()

    def prometheus(self, prefix: Optional[str] = None) -> str:
        """The policy's counters in Prometheus text (prefix default
        "prodready_password_"): hashes in flight, their memory, the peak,
        calls waiting for and refused by the budget, hashes done."""
        return _lib.prometheus_text(_lib_.prd_password_policy_prometheus, self._p, prefix)

    def hash(self, password: Union[str, bytes]) -> str:
        """A new PHC string for password (str is encoded as UTF-8)."""
        pw = _bytes(password)
        out = ctypes.create_string_buffer(_HASH_SIZE)
        check(_lib_.prd_password_hash(self._p, pw, len(pw), out, _HASH_SIZE))
        return out.value.decode()

    def verify(self, hash: str, password: Union[str, bytes]) -> bool:
        """True when password matches hash; VerifyMismatchError when it does
        not; other errors (malformed hash: InvalidInput, over the caps:
        TooBig, legacy not allowed: Unsupported, busy: Busy)."""
        pw = _bytes(password)
        check(_lib_.prd_password_verify(self._p, pw, len(pw), hash.encode()))
        return True

    def verify_dummy(self, password: Union[str, bytes]) -> None:
        """Spend the time a real verification takes (for unknown users), always mismatching."""
        pw = _bytes(password)
        st = _lib_.prd_password_verify_dummy(self._p, pw, len(pw))
        if st != VerifyMismatchError.status:
            check(st)

    def check_needs_rehash(self, hash: str) -> Tuple[bool, str]:
        """(needs, reason): whether hash should be replaced at the next login,
        and why ("current", "weaker params", "other params", ...)."""
        reason = ctypes.c_int()
        check(_lib_.prd_password_needs_rehash(self._p, hash.encode(), ctypes.byref(reason)))
        return reason.value != 0, _lib_.prd_rehash_reason_str(reason.value).decode()

    def verify_and_upgrade(self, hash: str, password: Union[str, bytes]) -> Optional[str]:
        """Verify (VerifyMismatchError when wrong) and return a new hash to
        store when the old one is outdated, or None when it is current."""
        pw = _bytes(password)
        out = ctypes.create_string_buffer(_HASH_SIZE)
        upgraded = ctypes.c_int()
        check(_lib_.prd_password_verify_and_upgrade(self._p, pw, len(pw), hash.encode(), out,
                                                     _HASH_SIZE, ctypes.byref(upgraded)))
        return out.value.decode() if upgraded.value else None
