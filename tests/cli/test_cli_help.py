"""Help on every command and subcommand, --version, keys from files, the
environment and standard input, tokens from standard input, and the
precise reason a token is rejected."""
import os
import re
import subprocess

import pytest

TOPICS = [
    ("version",), ("keygen",), ("password",), ("password", "hash"), ("password", "verify"),
    ("password", "needs-rehash"), ("token",), ("token", "issue"), ("token", "verify"),
    ("ratelimit",), ("ratelimit", "replay"), ("ratelimit", "check"), ("log",),
    ("log", "scrub"), ("db",), ("db", "migrate"),
]


def run_open_stdin(cli, *args):
    """Run with a standard input that never ends: help must not read it
    (a command that did would hang until the timeout)."""
    r, w = os.pipe()
    try:
        return subprocess.run([cli.path, *args], stdin=r, capture_output=True, timeout=20)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("topic", TOPICS, ids=" ".join)
def test_every_command_has_help(cli, topic, flag):
    p = run_open_stdin(cli, *topic, flag)
    assert p.returncode == 0, (topic, p.stderr)
    assert p.stderr == b""
    first = p.stdout.decode().splitlines()[0]
    assert first.startswith("usage: prodready " + topic[0]), first
    if len(topic) == 2:
        assert first.startswith("usage: prodready " + " ".join(topic)), first


def test_help_wherever_the_flag_stands(cli):
    """After other flags too, and without the arguments the command requires."""
    p = run_open_stdin(cli, "token", "verify", "--purpose", "local", "--help")
    assert p.returncode == 0 and p.stdout.startswith(b"usage: prodready token verify")
    p = run_open_stdin(cli, "password", "verify", "-h")
    assert p.returncode == 0 and p.stdout.startswith(b"usage: prodready password verify")
    # After "--" it is an argument, not a flag.
    p = cli("password", "needs-rehash", "--", "--help")
    assert p.returncode == 2 and b"usage:" not in p.stdout


def test_top_level_help_and_version(cli):
    for args in (["--help"], ["-h"], ["help"]):
        p = run_open_stdin(cli, *args)
        assert p.returncode == 0
        text = p.stdout.decode()
        for cmd in ("password hash", "token verify", "ratelimit check", "log scrub", "db migrate"):
            assert cmd in text, (args, cmd)
    p = cli("help", "token", "issue")
    assert p.returncode == 0 and p.stdout.startswith(b"usage: prodready token issue")
    v = cli("--version")
    assert v.returncode == 0
    assert re.fullmatch(rb"prodready \d+\.\d+\.\d+\n", v.stdout), v.stdout
    assert v.stdout == cli("version").stdout
    cli.usage_error("nosuch", "--help")
    cli.usage_error()


def test_help_states_the_limits(cli):
    assert b"4096 bytes" in cli("password", "hash", "--help").stdout
    assert b"--allow-empty" in cli("password", "hash", "--help").stdout
    assert b"--key-file" in cli("token", "verify", "--help").stdout


@pytest.fixture(scope="module")
def key(cli):
    return cli("keygen", "local").stdout.decode().strip()


def issue(cli, key, *args, **kw):
    p = cli("token", "issue", "--purpose", "local", "--ttl", "5m", *args, **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().strip()


def test_keys_from_file_environment_and_stdin(cli, key, tmp_path):
    kf = tmp_path / "key"
    kf.write_text(key + "\n")
    env = dict(os.environ, PRD_TEST_KEY=key)
    tokens = [
        issue(cli, key, "--key", key),
        issue(cli, key, "--key-file", str(kf)),
        issue(cli, key, "--key", "-", stdin=key + "\n"),
        subprocess.run([cli.path, "token", "issue", "--purpose", "local", "--ttl", "5m",
                        "--key-env", "PRD_TEST_KEY"], env=env, capture_output=True,
                       check=True).stdout.decode().strip(),
    ]
    for t in tokens:
        for source in (["--key", key], ["--key-file", str(kf)]):
            p = cli("token", "verify", "--purpose", "local", *source, t)
            assert p.returncode == 0, p.stderr
        p = cli("token", "verify", "--purpose", "local", "--key", "-", t, stdin=key)
        assert p.returncode == 0, p.stderr


def test_key_source_errors(cli, key, tmp_path):
    t = issue(cli, key, "--key", key)
    base = ("token", "verify", "--purpose", "local")
    line = cli.usage_error(*base, "--key", key, "--key-file", str(tmp_path / "k"), t)
    assert "once" in line
    line = cli.usage_error(*base, "--key-file", str(tmp_path / "missing"), t)
    assert "missing" in line and "No such file" in line
    line = cli.usage_error(*base, "--key-env", "PRD_SURELY_UNSET_VARIABLE", t)
    assert "PRD_SURELY_UNSET_VARIABLE" in line
    big = tmp_path / "big"
    big.write_bytes(b"k" * 100000)
    assert "longer than" in cli.usage_error(*base, "--key-file", str(big), t)
    cli.usage_error(*base, "--key", "-", t, stdin="")
    assert "both" in cli.usage_error(*base, "--key", "-", "-", stdin=key)
    # A wrong key from a file is a usage error naming no key material.
    kf = tmp_path / "bad"
    kf.write_text("k4.local.AAAA\n")
    line = cli.usage_error(*base, "--key-file", str(kf), t)
    assert "AAAA" not in line


def test_token_from_stdin(cli, key):
    t = issue(cli, key, "--key", key, "--claim", "sub=alice")
    for stdin in (t, t + "\n", t + "\r\n"):
        p = cli("token", "verify", "--purpose", "local", "--key", key, "-", stdin=stdin)
        assert p.returncode == 0, p.stderr
        assert b'"sub":"alice"' in p.stdout
    # Ten megabytes: rejected as invalid, with the reason, not "Argument list too long".
    p = cli("token", "verify", "--purpose", "local", "--key", key, "-", stdin=b"v4.local." + b"A" * 10_000_000)
    assert p.returncode == 1
    lines = p.stderr.decode().splitlines()
    assert lines[0] == "rejected: invalid" and "longer than" in lines[1], lines
    p = cli("token", "verify", "--purpose", "local", "--key", key, "-", stdin=b"v4.local." + b"A" * 20000)
    assert p.returncode == 1 and p.stderr.decode().splitlines()[0] == "rejected: invalid"


def test_rejections_carry_the_reason(cli, key):
    other = cli("keygen", "local").stdout.decode().strip()
    t = issue(cli, key, "--key", key)
    cases = [
        (t, other, "invalid"),
        (t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), key, "invalid"),
        ("v4.public." + t[9:], key, "invalid"),
        ("not a token", key, "invalid"),
    ]
    reasons = set()
    for token, k, kind in cases:
        p = cli("token", "verify", "--purpose", "local", "--key", k, token)
        assert p.returncode == 1
        lines = p.stderr.decode().splitlines()
        assert len(lines) == 2, lines
        assert lines[0] == "rejected: " + kind
        assert lines[1] and not lines[1].startswith("rejected"), lines
        reasons.add(lines[1])
    assert len(reasons) >= 3, reasons  # the reason tells the cases apart
    expired = cli("token", "verify", "--purpose", "local", "--key", key, "--at", "2200-01-01T00:00:00Z", t)
    lines = expired.stderr.decode().splitlines()
    assert expired.returncode == 1 and lines[0] == "rejected: expired" and len(lines) == 2
