"""Finding and declaring libprodready.so.1 (ctypes, no compiler needed).

The library is looked for, in order: the file named by PRODREADY_LIBRARY;
an uninstalled build tree beside this package (bindings/python/../../build);
the system loader. Every function used is declared with its argument and
return types here and nowhere else. ctypes.CDLL releases the GIL for the
length of every call, so a hash or a database wait never stalls the other
Python threads.
"""
import ctypes
import ctypes.util
import os
import pathlib

#: The C API this binding was written against: the major must match and
#: the loaded minor be at least this (prd_version_number: M*10000+m*100+p).
REQUIRED = (1, 0)

c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)


class LibraryNotFound(ImportError):
    """libprodready.so.1 could not be loaded, or is not a compatible version."""


def _candidates():
    env = os.environ.get("PRODREADY_LIBRARY")
    if env:
        yield env
        return  # an explicit choice is never silently replaced
    here = pathlib.Path(__file__).resolve().parent
    tree = here.parent.parent.parent / "build" / "lib" / "libprodready.so.1"
    if tree.exists():
        yield str(tree)
    yield "libprodready.so.1"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise LibraryNotFound("cannot load libprodready.so.1 (set PRODREADY_LIBRARY to its path): "
                          + "; ".join(errors))


lib, path = _load()

_I, _U32, _U64, _I64, _SZ = ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t
_P, _S = ctypes.c_void_p, ctypes.c_char_p

_DECLS = {
    # core
    "prd_init": (_I, []),
    "prd_version": (_S, []),
    "prd_version_number": (ctypes.c_uint, []),
    "prd_status_str": (_S, [_I]),
    "prd_status_name": (_S, [_I]),
    "prd_status_is_client_error": (_I, [_I]),
    "prd_free": (None, [_P]),
    "prd_secret_from_bytes": (_I, [_P, _SZ, c_void_pp]),
    "prd_secret_free": (None, [_P]),
    "prd_clock_manual_new": (_I, [_I64, _I64, c_void_pp]),
    "prd_clock_free": (None, [_P]),
    "prd_rfc3339_parse": (_I, [_S, _SZ, ctypes.POINTER(_I64)]),
    "prd_password_hash_size": (_SZ, []),
    "prd_paserk_size": (_SZ, []),
    "prd_paserk_id_size": (_SZ, []),
    # password
    "prd_password_policy_new": (_I, [_S, c_void_pp]),
    "prd_password_policy_free": (None, [_P]),
    "prd_password_policy_set_params": (_I, [_P, _U32, _U32, _U32]),
    "prd_password_policy_set_pepper": (_I, [_P, _S, _P]),
    "prd_password_policy_add_retired_pepper": (_I, [_P, _S, _P]),
    "prd_password_policy_set_allow_legacy": (_I, [_P, _I]),
    "prd_password_policy_set_arena_idle": (_I, [_P, _U32]),
    "prd_password_backend": (_S, []),
    "prd_password_policy_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_limiter_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_rl_pg_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_login_guard_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_logger_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_token_revocations_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_pg_pool_prometheus": (_SZ, [_P, _S, _P, _SZ]),
    "prd_password_policy_set_max_password_len": (_I, [_P, _SZ]),
    "prd_password_hash": (_I, [_P, _P, _SZ, _P, _SZ]),
    "prd_password_verify": (_I, [_P, _P, _SZ, _S]),
    "prd_password_verify_dummy": (_I, [_P, _P, _SZ]),
    "prd_password_needs_rehash": (_I, [_P, _S, ctypes.POINTER(_I)]),
    "prd_rehash_reason_str": (_S, [_I]),
    "prd_password_verify_and_upgrade": (_I, [_P, _P, _SZ, _S, _P, _SZ, ctypes.POINTER(_I)]),
    # token keys and rings
    "prd_token_key_generate": (_I, [_I, c_void_pp]),
    "prd_token_key_from_paserk": (_I, [_S, c_void_pp]),
    "prd_token_key_from_hex": (_I, [_I, _S, c_void_pp]),
    "prd_token_key_public": (_I, [_P, c_void_pp]),
    "prd_token_key_kind": (_I, [_P]),
    "prd_token_key_paserk": (_SZ, [_P, _P, _SZ]),
    "prd_token_key_id": (_SZ, [_P, _P, _SZ]),
    "prd_token_key_free": (None, [_P]),
    "prd_keyring_new": (_I, [c_void_pp]),
    "prd_keyring_add": (_I, [_P, _P, _I]),
    "prd_keyring_free": (None, [_P]),
    # claims and issuing
    "prd_token_claims_new": (_I, [c_void_pp]),
    "prd_token_claims_free": (None, [_P]),
    "prd_token_claims_set_ttl": (_I, [_P, _I64]),
    "prd_token_claims_set_expiry": (_I, [_P, _I64]),
    "prd_token_claims_set_not_before": (_I, [_P, _I64]),
    "prd_token_claims_set_string": (_I, [_P, _S, _S]),
    "prd_token_claims_set_int": (_I, [_P, _S, _I64]),
    "prd_token_claims_set_json_text": (_I, [_P, _S, _P, _SZ]),
    "prd_token_claims_payload": (_I, [_P, _P, c_void_pp]),
    "prd_token_issue": (_I, [_P, _I, _P, _P, _SZ, _P, _SZ, _P, c_void_pp]),
    "prd_token_v4_encrypt": (_I, [_P, _P, _SZ, _P, _SZ, _P, _SZ, c_void_pp]),
    "prd_token_v4_sign": (_I, [_P, _P, _SZ, _P, _SZ, _P, _SZ, c_void_pp]),
    # verification
    "prd_token_verifier_new": (_I, [_P, _I, c_void_pp]),
    "prd_token_verifier_free": (None, [_P]),
    "prd_token_verifier_set_leeway": (_I, [_P, _I64, _I64]),
    "prd_token_verifier_set_issuer": (_I, [_P, _S]),
    "prd_token_verifier_add_audience": (_I, [_P, _S]),
    "prd_token_verifier_require_claim": (_I, [_P, _S]),
    "prd_token_verifier_set_max_size": (_I, [_P, _SZ]),
    "prd_token_verifier_set_footer": (_I, [_P, _P, _SZ]),
    "prd_token_verifier_set_clock": (_I, [_P, _P]),
    "prd_token_verify": (_I, [_P, _P, _SZ, _P, _SZ, c_void_pp, ctypes.POINTER(_S)]),
    "prd_token_verified_claims_text": (_S, [_P]),
    "prd_token_verified_footer": (_P, [_P, c_size_p]),
    "prd_token_verified_expiry": (_I64, [_P]),
    "prd_token_verified_free": (None, [_P]),
}

def declare(table):
    """Set restype and argtypes of every function in table on the library;
    a missing one means this is not (a recent enough) libprodready."""
    for name, (res, args) in table.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryNotFound(f"{path} has no {name}: not libprodready 1.x, or older than "
                                  f"{REQUIRED[0]}.{REQUIRED[1]}") from None
        fn.restype = res
        fn.argtypes = args


def check_version(number: int, text: str) -> None:
    """Refuse a library whose major differs or whose minor is older than REQUIRED."""
    major, minor = number // 10000, number // 100 % 100
    if major != REQUIRED[0] or minor < REQUIRED[1]:
        raise LibraryNotFound(f"{path} is libprodready {text}; this binding needs "
                              f"{REQUIRED[0]}.{REQUIRED[1]} or a later {REQUIRED[0]}.x")


declare({"prd_version": (_S, []), "prd_version_number": (ctypes.c_uint, [])})
version = lib.prd_version().decode()
check_version(lib.prd_version_number(), version)
declare(_DECLS)
if lib.prd_init() != 0:
    raise LibraryNotFound("libprodready could not initialise (no entropy source?)")


def take_string(ptr):
    """A char * the library returned for us to free: copy it, then prd_free it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr)
    finally:
        lib.prd_free(ptr)


def prometheus_text(fn, handle, prefix):
    """An object's counters in Prometheus text from fn (an snprintf-style
    prd_*_prometheus): sized by a first call, written again bigger when the
    counters grew in between. InvalidInput for a closed object or a prefix
    that is not letters, digits, '_' and ':' (at most 64 bytes)."""
    from .errors import check  # errors imports this module
    raw = prefix.encode() if prefix is not None else None
    need = fn(handle, raw, None, 0) if handle else 0
    if need == 0:
        check(1, "closed" if not handle else f"not a metric name prefix: {prefix!r}")
    while True:
        buf = ctypes.create_string_buffer(need + 64)
        need = fn(handle, raw, buf, len(buf))
        if need < len(buf):
            return buf.value.decode()

