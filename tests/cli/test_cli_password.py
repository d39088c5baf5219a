"""prodready password hash|verify|needs-rehash, and interop with independent
Argon2 implementations: Debian's python3-argon2 (argon2-cffi) and the
reference `argon2` command-line tool."""
import itertools
import shutil
import subprocess

import pytest

# Hard requirements (scripts/bootstrap installs both): an interop suite that
# skips when its peer is missing would pass without checking anything.
import argon2  # python3-argon2
from argon2.low_level import Type, hash_secret

ARGON2_CLI = shutil.which("argon2")
assert ARGON2_CLI, "the reference argon2 CLI (Debian package argon2) is missing"


def phc_from_cffi(password, salt, t, m, p, type_, hash_len=32, version=19):
    return hash_secret(password, salt, time_cost=t, memory_cost=m, parallelism=p,
                       hash_len=hash_len, type=type_, version=version).decode()


def test_hash_then_verify(cli):
    p = cli("password", "hash", stdin="correct horse\n")
    assert p.returncode == 0, p.stderr
    phc = p.stdout.decode().strip()
    assert phc.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert cli("password", "verify", phc, stdin="correct horse\n").returncode == 0
    assert cli("password", "verify", phc, stdin="correct horse").returncode == 0
    assert cli("password", "verify", phc, stdin="correct horse\n\n").returncode == 1
    assert cli("password", "verify", phc, stdin="wrong\n").returncode == 1


@pytest.mark.parametrize("preset,params", [
    ("owasp", "m=19456,t=2,p=1"),
    ("rfc9106-low-memory", "m=65536,t=3,p=4"),
    ("moderate", "m=262144,t=3,p=1"),
])
def test_presets(cli, preset, params):
    p = cli("password", "hash", "--preset", preset, stdin="pw")
    assert p.returncode == 0, p.stderr
    phc = p.stdout.decode().strip()
    assert f"${params}$" in phc
    assert cli("password", "needs-rehash", phc, "--preset", preset).stdout == b"no\n"


def test_custom_params_and_bad_params(cli):
    p = cli("password", "hash", "--t", "1", "--m", "64", "--p", "2", stdin="pw")
    assert p.returncode == 0
    assert "$m=64,t=1,p=2$" in p.stdout.decode()
    for args in (["--t", "0"], ["--m", "7"], ["--p", "0"], ["--m", "abc"], ["--t", "17"],
                 ["--preset", "owasp", "--t", "3"], ["--preset", "nope"], ["--bogus"]):
        cli.usage_error("password", "hash", *args, stdin="pw")


def test_needs_rehash(cli):
    weak = phc_from_cffi(b"pw", b"saltsaltsaltsalt", 1, 1024, 1, Type.ID)
    p = cli("password", "needs-rehash", weak)
    assert (p.returncode, p.stdout) == (0, b"yes\nreason: weaker params\n")
    cur = cli("password", "hash", stdin="pw").stdout.decode().strip()
    p = cli("password", "needs-rehash", cur)
    assert (p.returncode, p.stdout) == (1, b"no\n")
    p = cli("password", "needs-rehash", cur, "--preset", "sensitive")
    assert (p.returncode, p.stdout) == (0, b"yes\nreason: weaker params\n")
    strong = cli("password", "hash", "--preset", "sensitive", stdin="pw").stdout.decode().strip()
    p = cli("password", "needs-rehash", strong)
    assert (p.returncode, p.stdout) == (0, b"yes\nreason: other params\n")
    cli.usage_error("password", "needs-rehash", "$argon2id$garbage")
    cli.usage_error("password", "needs-rehash")


# Every variant, both versions, several lane counts, odd salt/hash lengths.
CFFI_CASES = list(itertools.product(
    [Type.ID, Type.I, Type.D], [19, 16], [1, 2, 4],
))


@pytest.mark.parametrize("type_,version,p", CFFI_CASES)
def test_cffi_hashes_verify(cli, type_, version, p):
    phc = phc_from_cffi(b"s3cret pw", b"0123456789abcdef", 2, 256, p, type_, version=version)
    assert cli("password", "verify", phc, stdin="s3cret pw").returncode == 0, phc
    assert cli("password", "verify", phc, stdin="s3cret pX").returncode == 1, phc


@pytest.mark.parametrize("salt_len,hash_len", [(8, 4), (8, 16), (12, 20), (32, 64), (64, 64), (16, 33)])
def test_cffi_salt_and_hash_lengths(cli, salt_len, hash_len):
    phc = phc_from_cffi(b"pw", bytes(range(salt_len)), 1, 64, 1, Type.ID, hash_len=hash_len)
    assert cli("password", "verify", phc, stdin="pw").returncode == 0, phc
    assert cli("password", "verify", phc, stdin="px").returncode == 1, phc


def test_cffi_defaults_verify(cli):
    # argon2-cffi 21.1's PasswordHasher defaults: t=2, m=100 MiB, p=8.
    phc = argon2.PasswordHasher().hash("hunter2")
    assert ",p=8$" in phc
    assert cli("password", "verify", phc, stdin="hunter2").returncode == 0
    assert cli("password", "verify", phc, stdin="hunter3").returncode == 1


def test_our_hashes_verify_in_cffi(cli):
    for args in ([], ["--preset", "rfc9106-low-memory"], ["--t", "1", "--m", "64", "--p", "3"]):
        phc = cli("password", "hash", *args, stdin="über pässwörd").stdout.decode().strip()
        assert argon2.PasswordHasher().verify(phc, "über pässwörd")
        with pytest.raises(argon2.exceptions.VerifyMismatchError):
            argon2.PasswordHasher().verify(phc, "uber passwort")


@pytest.mark.parametrize("variant,version,t,mexp,p,length", [
    ("-id", "13", 2, 10, 1, 32), ("-id", "10", 1, 12, 4, 16), ("-i", "13", 3, 8, 2, 24),
    ("-i", "10", 2, 10, 1, 8), ("-d", "13", 1, 10, 1, 64), ("-d", "10", 2, 9, 2, 4),
])
def test_reference_cli_hashes_verify(cli, variant, version, t, mexp, p, length):
    ref = subprocess.run([ARGON2_CLI, "saltysaltysalty!", variant, "-v", version, "-t", str(t),
                          "-m", str(mexp), "-p", str(p), "-l", str(length), "-e"],
                         input=b"reference pw", capture_output=True, check=True)
    phc = ref.stdout.decode().strip()
    assert cli("password", "verify", phc, stdin="reference pw").returncode == 0, phc
    assert cli("password", "verify", phc, stdin="reference pW").returncode == 1, phc


@pytest.mark.parametrize("phc", [
    "",
    "plain",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
    "$argon2id$v=19$m=19456,t=2,p=1,t=2$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
    "$argon2id$v=20$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
    "$argon2id$v=19$m=4,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
    "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
    "$argon2id$v=19$m=65536,t=2,p=64$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
    "5f4dcc3b5aa765d61d8327deb882cf99",
    "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0",
])
def test_malformed_and_hostile_exit_2(cli, phc):
    cli.usage_error("password", "verify", phc, stdin="pw")


def test_legacy_needs_flag(cli):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # deprecated, but present in Debian 12's Python 3.11
    bcrypt = crypt.crypt("old pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    sha512 = crypt.crypt("old pw", crypt.mksalt(crypt.METHOD_SHA512))
    for h in (bcrypt, sha512):
        cli.usage_error("password", "verify", h, stdin="old pw")
        assert cli("password", "verify", "--allow-legacy", h, stdin="old pw").returncode == 0
        assert cli("password", "verify", "--allow-legacy", h, stdin="new pw").returncode == 1
        p = cli("password", "needs-rehash", h)
        assert (p.returncode, p.stdout) == (0, b"yes\nreason: legacy format\n")


def test_password_too_long(cli):
    """The limit the message states is the limit enforced: 4096 bytes, a
    trailing newline not counted."""
    for n in (4097, 4098, 5000):
        line = cli.usage_error("password", "hash", stdin="x" * n)
        assert "longer than 4096 bytes" in line, line
    assert cli("password", "hash", stdin="x" * 4096).returncode == 0
    assert cli("password", "hash", stdin="x" * 4096 + "\r\n").returncode == 0
    line = cli.usage_error("password", "verify", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
                           stdin="x" * 4097)
    assert "longer than 4096 bytes" in line, line


def test_empty_password_is_refused_unless_allowed(cli):
    for stdin in ("", "\n", "\r\n"):
        line = cli.usage_error("password", "hash", stdin=stdin)
        assert "--allow-empty" in line, line
    p = cli("password", "hash", "--allow-empty", stdin="\n")
    assert p.returncode == 0, p.stderr
    phc = p.stdout.decode().strip()
    assert cli("password", "verify", phc, stdin="").returncode == 0
    assert cli("password", "verify", phc, stdin="x").returncode == 1
    cli.usage_error("password", "verify", "--allow-empty", phc, stdin="")
