"""Error mapping and PasswordHasher against independent Argon2 output."""
import threading

import argon2
import pytest

import prodready as p


def test_errors_map_status_to_two_families():
    assert issubclass(p.VerifyMismatchError, p.ClientError)
    assert issubclass(p.ExpiredToken, p.ClientError) and issubclass(p.InvalidToken, p.ClientError)
    assert issubclass(p.DatabaseError, p.ServiceError) and issubclass(p.Busy, p.ServiceError)
    assert issubclass(p.ClientError, p.ProdreadyError) and issubclass(p.ServiceError, p.ProdreadyError)
    e = p.VerifyMismatchError()
    assert (e.status, e.name, e.phrase) == (2, "EMISMATCH", str(e))
    from prodready.errors import error_for
    for status in range(1, 22):
        err = error_for(status)
        assert err.status == status and err.name.startswith("E")
        client = p._lib.lib.prd_status_is_client_error(status) == 1
        assert isinstance(err, p.ClientError) == client, err.name
    unknown = error_for(999)
    assert isinstance(unknown, p.ProdreadyError) and unknown.status == 999


def test_backend_and_arena_idle():
    assert p.password.backend() in ("own-avx512", "own-avx2", "own-ssse3", "own-sse2",
                                    "own-portable", "libsodium", "libargon2")
    for idle in (0, 5000):
        h = p.PasswordHasher(time_cost=1, memory_cost=1024, arena_idle_ms=idle)
        assert h.verify(h.hash("pw"), "pw")
        h.close()
    with pytest.raises(ValueError):
        p.PasswordHasher(arena_idle_ms=-1)


def test_hash_verify_and_mismatch():
    h = p.PasswordHasher("rfc9106-low-memory")
    phc = h.hash("correct horse")
    assert phc.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert h.verify(phc, "correct horse") is True
    assert h.verify(phc, "correct horse".encode()) is True
    with pytest.raises(p.VerifyMismatchError):
        h.verify(phc, "wrong")
    with pytest.raises(p.InvalidInput):
        h.verify("$argon2id$garbage", "x")
    # bytes with NUL are passwords too
    phc2 = h.hash(b"a\x00b")
    with pytest.raises(p.VerifyMismatchError):
        h.verify(phc2, b"a")


def test_interop_with_argon2_cffi():
    ours = p.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=2)
    theirs = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=2)
    assert theirs.verify(ours.hash("über"), "über")
    assert ours.verify(theirs.hash("über"), "über")
    params = p.extract_parameters(theirs.hash("x"))
    assert (params.type, params.version, params.memory_cost, params.time_cost,
            params.parallelism) == ("argon2id", 19, 1024, 1, 2)
    with pytest.raises(p.InvalidInput):
        p.extract_parameters("$2b$10$abcdefghijklmnopqrstuu")


def test_rehash_upgrade_and_dummy():
    weak = p.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    strong = p.PasswordHasher()  # owasp
    old = weak.hash("pw")
    assert strong.check_needs_rehash(old) == (True, "weaker params")
    assert strong.check_needs_rehash(strong.hash("pw")) == (False, "current")
    new = strong.verify_and_upgrade(old, "pw")
    assert new and strong.verify(new, "pw") and strong.check_needs_rehash(new)[0] is False
    assert strong.verify_and_upgrade(new, "pw") is None
    with pytest.raises(p.VerifyMismatchError):
        strong.verify_and_upgrade(old, "nope")
    strong.verify_dummy("anything")  # returns after the work; never a match


def test_bad_policies_and_pepper():
    with pytest.raises(p.InvalidInput):
        p.PasswordHasher("no-such-preset")
    with pytest.raises(p.InvalidInput):
        p.PasswordHasher(time_cost=0)
    peppered = p.PasswordHasher(time_cost=1, memory_cost=1024, pepper=("k1", b"s" * 32))
    phc = peppered.hash("pw")
    assert ",keyid=" in phc or "keyid" in phc
    with pytest.raises(p.ProdreadyError):
        p.PasswordHasher(time_cost=1, memory_cost=1024).verify(phc, "pw")


def test_threads_share_a_hasher():
    h = p.PasswordHasher(time_cost=1, memory_cost=4096)
    results, errors = [], []

    def work(i):
        try:
            s = h.hash(f"pw{i}")
            results.append(h.verify(s, f"pw{i}"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [True] * 8


def test_version_check_and_a_wrong_library(tmp_path):
    import subprocess
    import sys
    from prodready import _lib
    _lib.check_version(10000, "1.0.0")
    _lib.check_version(10203, "1.2.3")
    for number, text in ((20000, "2.0.0"), (9900, "0.99.0")):
        with pytest.raises(p.LibraryNotFound) as e:
            _lib.check_version(number, text)
        assert text in str(e.value) and "needs 1.0" in str(e.value)
    # a shared library that is not libprodready: a clear ImportError, not an AttributeError
    import ctypes.util
    libm = ctypes.util.find_library("m")
    import pathlib
    env = dict(__import__("os").environ, PRODREADY_LIBRARY=libm,
               PYTHONPATH=str(pathlib.Path(__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, "-c", "import prodready"], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0 and "LibraryNotFound" in r.stderr and "not libprodready" in r.stderr
