"""Each binding's mirror of the prodready command (python3 -m prodready,
the Rust example, ...) against the C command: the same arguments and
standard input give the same exit code, the same stdout where it is
deterministic, the same first stderr line for rejections, and one
"prodready: " line for usage errors. Tokens and hashes made by one are
accepted by the other. Every case runs for every mirror."""
import os
import pathlib
import sys

import pytest

from mirrors import C_CLI, ENV, MIRRORS, run

pytestmark = pytest.mark.parametrize("mirror", MIRRORS, indirect=True)


def both(mirror, args, stdin=b"", env=None):
    return run([C_CLI], args, stdin, env), run(mirror, args, stdin, env)


def same(mirror, args, stdin=b"", stdout=True, env=None):
    c, py = both(mirror, args, stdin, env)
    assert py.returncode == c.returncode, (args, c.returncode, py.returncode, c.stderr, py.stderr)
    if c.returncode == 2:
        for r in (c, py):
            lines = r.stderr.decode().splitlines()
            assert len(lines) == 1 and lines[0].startswith("prodready: "), (args, r.stderr)
            assert r.stdout == b""
    elif c.returncode == 1 and c.stderr:
        assert py.stderr.splitlines()[0] == c.stderr.splitlines()[0], (args, c.stderr, py.stderr)
        assert len(py.stderr.splitlines()) == len(c.stderr.splitlines())
    if stdout and c.returncode != 2:
        assert py.stdout == c.stdout, (args, c.stdout, py.stdout)
    return c, py


@pytest.fixture(scope="module")
def keys():
    local = run([C_CLI], ["keygen", "local"]).stdout.decode().strip()
    secret, public = run([C_CLI], ["keygen", "public"]).stdout.decode().split()
    return {"local": local, "secret": secret, "public": public}


LOW = ["--t", "1", "--m", "1024", "--p", "1"]


def test_password_hash_and_verify_cross(mirror):
    for pw in ("correct horse\n", "über\r\n", "x" * 4096, "a b"):
        c, py = both(mirror, ["password", "hash", *LOW], pw)
        assert c.returncode == py.returncode == 0
        for phc in (c.stdout.decode().strip(), py.stdout.decode().strip()):
            same(mirror, ["password", "verify", phc], pw)
            same(mirror, ["password", "verify", phc], "wrong")


def test_password_usage_errors_agree(mirror):
    phc = run([C_CLI], ["password", "hash", *LOW], "pw").stdout.decode().strip()
    cases = [
        (["password", "hash"], ""),                       # empty refused
        (["password", "hash"], "\n"),
        (["password", "hash"], "x" * 4097),               # over the limit
        (["password", "hash", "--preset", "nope"], "pw"),
        (["password", "hash", "--preset", "owasp", "--t", "2"], "pw"),
        (["password", "hash", "--t", "0"], "pw"),
        (["password", "hash", "--t", "x"], "pw"),
        (["password", "hash", "--bogus"], "pw"),
        (["password", "hash", "extra"], "pw"),
        (["password", "hash", "--allow-empty=1"], "pw"),
        (["password", "verify"], "pw"),
        (["password", "verify", "$argon2id$garbage"], "pw"),
        (["password", "verify", "$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"], "pw"),
        (["password", "verify", "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"], "pw"),
        (["password", "verify", "--allow-legacy", phc, "more"], "pw"),
        (["password", "frobnicate"], ""),
        (["password"], ""),
    ]
    for args, stdin in cases:
        c, _ = same(mirror, args, stdin)
        assert c.returncode == 2, args
    same(mirror, ["password", "hash", "--allow-empty", *LOW], "", stdout=False)


def test_tokens_cross_and_rejections(mirror, keys, tmp_path):
    kf = tmp_path / "k"
    kf.write_text(keys["local"] + "\n")
    env = dict(ENV, PRD_MIRROR_KEY=keys["local"])
    issue_args = [
        ["--purpose", "local", "--key", keys["local"], "--ttl", "5m", "--claim", "sub=alice",
         "--claim-json", 'roles=["a",{"b":1}]', "--implicit", "ctx"],
        ["--purpose", "local", "--key-file", str(kf), "--ttl", "1h", "--footer", '{"kid2":"x"}'],
        ["--purpose", "public", "--key", keys["secret"], "--ttl", "500ms", "--claim",
         "nbf=2020-01-01T00:00:00Z"],
    ]
    for args in issue_args:
        c, py = both(mirror, ["token", "issue", *args], env=env)
        assert c.returncode == py.returncode == 0, (c.stderr, py.stderr)
        purpose = args[1]
        vkey = ["--key", keys["public"] if purpose == "public" else keys["local"]]
        extra = []
        if "--implicit" in args:
            extra += ["--implicit", "ctx"]
        if "--footer" in args:
            extra += ["--footer", '{"kid2":"x"}']
        for tok in (c.stdout.decode().strip(), py.stdout.decode().strip()):
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, *extra, tok])
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, *extra, "-"], tok + "\n")
            same(mirror, ["token", "verify", "--purpose", purpose, "--key-env", "PRD_MIRROR_KEY", *extra,
                  tok], env=env)
            # rejections: wrong implicit, tampered, later than exp, other key
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, "--implicit", "other", tok])
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, *extra, tok[:-3] + "AAA"])
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, *extra, "--at",
                  "2200-01-01T00:00:00Z", tok])
            same(mirror, ["token", "verify", "--purpose", purpose, *vkey, *extra, "--at",
                  "2000-01-01T00:00:00Z", tok])


def test_token_usage_errors_agree(mirror, keys):
    L = keys["local"]
    cases = [
        ["token", "issue", "--purpose", "local", "--key", L],                 # no ttl
        ["token", "issue", "--purpose", "local", "--ttl", "5m"],              # no key
        ["token", "issue", "--purpose", "nope", "--key", L, "--ttl", "5m"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5x"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "0s"],
        ["token", "issue", "--purpose", "local", "--key", "k4.local.AAAA", "--ttl", "5m"],
        ["token", "issue", "--purpose", "public", "--key", L, "--ttl", "5m"],
        ["token", "issue", "--purpose", "public", "--key", keys["public"], "--ttl", "5m"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5m", "--claim", "exp=1"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5m", "--claim", "novalue"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5m", "--claim-json", "a={"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5m", "--footer", "[1]"],
        ["token", "issue", "--purpose", "local", "--key", L, "--key-env", "X", "--ttl", "5m"],
        ["token", "issue", "--purpose", "local", "--key", L, "--ttl", "5m", "--at", "x"],
        ["token", "verify", "--purpose", "local", "--key", L],
        ["token", "verify", "--purpose", "local", "--key", L, "--at", "not-a-time", "v4.local.x"],
        ["token", "verify", "--purpose", "local", "--key", L, "--leeway", "forever", "v4.local.x"],
        ["token", "verify", "--purpose", "local", "--key", "-", "-"],
        ["token", "verify", "--purpose", "local", "--key-file", "/nonexistent/k", "v4.local.x"],
        ["token", "verify", "--purpose", "local", "--key-env", "PRD_SURELY_UNSET", "v4.local.x"],
        ["token", "verify", "--purpose", "local", "--key", L, "a", "b"],
        ["token", "frobnicate"],
        ["token"],
        ["token", "issue", "--purpose"],
    ]
    for args in cases:
        c, _ = same(mirror, args)
        assert c.returncode == 2, (args, c.stderr)


def test_token_rejections_agree(mirror, keys):
    L = keys["local"]
    for tok in ("not a token", "v4.local.", "v4.public.AAAA", "v3.local.AAAA", "v4.local." + "A" * 20000):
        c, _ = same(mirror, ["token", "verify", "--purpose", "local", "--key", L, tok])
        assert c.returncode == 1
    c, _ = same(mirror, ["token", "verify", "--purpose", "local", "--key", L, "-"], b"v4.local." + b"A" * 1_100_000)
    assert c.returncode == 1 and b"longer than" in c.stderr


def test_help_and_unknown_commands(mirror):
    for args in (["password", "hash", "--help"], ["token", "verify", "-h"],
                 ["token", "issue", "--purpose", "local", "--help"]):
        c, py = both(mirror, args)
        assert c.returncode == py.returncode == 0
        assert py.stdout.splitlines()[0] == c.stdout.splitlines()[0], args
    # the mirror's own overview names the subcommands it has
    py = run(mirror, ["password", "--help"])
    assert py.returncode == 0 and py.stdout.startswith(b"usage: prodready password hash|verify")
    c, py = both(mirror, ["frobnicate"])
    assert c.returncode == py.returncode == 2
    c, py = both(mirror, [])
    assert c.returncode == py.returncode == 2


def test_legacy_hashes_agree(mirror):
    import crypt  # noqa: PLC0415 - deprecated in 3.11, still the system's crypt(3)
    for method in (crypt.METHOD_SHA512, crypt.METHOD_BLOWFISH):
        h = crypt.crypt("old pw", crypt.mksalt(method))
        same(mirror, ["password", "verify", h], "old pw")                       # refused without the flag
        same(mirror, ["password", "verify", "--allow-legacy", h], "old pw")     # 0
        same(mirror, ["password", "verify", "--allow-legacy", h], "new pw")     # 1
