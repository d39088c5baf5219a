"""prodready version, keygen and the exit-status contract."""
import re

import pytest


def test_version(cli):
    p = cli("version")
    assert p.returncode == 0
    assert re.fullmatch(rb"prodready \d+\.\d+\.\d+\n", p.stdout), p.stdout


@pytest.mark.parametrize("args", [
    [],
    ["nonsense"],
    ["version", "extra"],
    ["keygen"],
    ["keygen", "v3"],
    ["keygen", "local", "public"],
    ["--bogus"],
])
def test_bad_usage_exits_2_with_one_line(cli, args):
    cli.usage_error(*args)


def test_keygen_local(cli):
    p = cli("keygen", "local")
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"k4\.local\.[A-Za-z0-9_-]{43}", lines[0]), lines
    # Fresh randomness each time.
    assert cli("keygen", "local").stdout != p.stdout


def test_keygen_public_prints_secret_then_public(cli):
    p = cli("keygen", "public")
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"k4\.secret\.[A-Za-z0-9_-]{86}", lines[0]), lines
    assert re.fullmatch(r"k4\.public\.[A-Za-z0-9_-]{43}", lines[1]), lines
    # The public half of a k4.secret is its last 32 bytes.
    import base64
    sk = base64.urlsafe_b64decode(lines[0][len("k4.secret."):] + "==")
    pk = base64.urlsafe_b64decode(lines[1][len("k4.public."):] + "=")
    assert sk[32:] == pk


def test_help(cli):
    p = cli("help")
    assert p.returncode == 0
    assert b"keygen" in p.stdout
