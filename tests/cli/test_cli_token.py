"""prodready token issue|verify against the official vectors and the
exit-status contract."""
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VECTORS = os.environ.get("PRD_VECTORS_DIR", os.path.join(ROOT, "..", "shared", "vectors"))


def load_vectors():
    path = os.path.join(VECTORS, "paseto-v4.json")
    assert os.path.exists(path), f"OFFICIAL VECTORS NOT FOUND at {path} (set PRD_VECTORS_DIR)"
    with open(path) as f:
        return json.load(f)["tests"]


VECTOR_CASES = load_vectors()


@pytest.mark.parametrize("t", VECTOR_CASES, ids=[t["name"] for t in VECTOR_CASES])
def test_official_vectors_through_cli(cli, t):
    local = "key" in t
    purpose = "local" if local else "public"
    key = t["key"] if local else t["public-key"]
    args = ["token", "verify", "--purpose", purpose, "--key", key, "--at", "2021-06-01T00:00:00Z"]
    if t["footer"]:
        args += ["--footer", t["footer"]]
    if t["implicit-assertion"]:
        args += ["--implicit", t["implicit-assertion"]]
    p = cli(*args, t["token"])
    if t["expect-fail"]:
        assert p.returncode == 1, p.stdout
        assert p.stderr.decode().splitlines()[0] == "rejected: invalid"
    else:
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode() == t["payload"] + "\n"
        # Official payloads expired on 2022-01-01: today they are refused as such.
        p = cli(*[a for a in args if a not in ("--at", "2021-06-01T00:00:00Z")], t["token"])
        assert p.returncode == 1 and p.stderr.decode().splitlines()[0] == "rejected: expired"


def test_secret_key_hex_and_paserk_accepted_for_verify(cli):
    t = next(v for v in VECTOR_CASES if v["name"] == "4-S-1")
    for key in (t["secret-key"], t["public-key"]):
        p = cli("token", "verify", "--purpose", "public", "--key", key, "--at", "2021-01-01T00:00:00Z",
                t["token"])
        assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("purpose", ["local", "public"])
def test_issue_verify_round_trip(cli, purpose):
    keys = cli("keygen", purpose).stdout.decode().split()
    issue_key, verify_key = (keys[0], keys[0]) if purpose == "local" else (keys[0], keys[1])
    p = cli("token", "issue", "--purpose", purpose, "--key", issue_key, "--ttl", "15m",
            "--claim", "sub=alice", "--claim", "iss=auth.example", "--claim-json", "level=3")
    assert p.returncode == 0, p.stderr
    token = p.stdout.decode().strip()
    assert token.startswith(f"v4.{purpose}.")
    p = cli("token", "verify", "--purpose", purpose, "--key", verify_key, "--issuer", "auth.example",
            token)
    assert p.returncode == 0, p.stderr
    claims = json.loads(p.stdout)
    assert claims["sub"] == "alice" and claims["level"] == 3
    assert {"iat", "exp", "jti"} <= set(claims)
    p = cli("token", "verify", "--purpose", purpose, "--key", verify_key, "--issuer", "evil", token)
    assert (p.returncode, p.stderr.decode().splitlines()[0]) == (1, "rejected: invalid")
    other = "local" if purpose == "public" else "public"
    okey = cli("keygen", other).stdout.decode().split()[-1]
    p = cli("token", "verify", "--purpose", other, "--key", okey, token)
    assert (p.returncode, p.stderr.decode().splitlines()[0]) == (1, "rejected: invalid")


def test_expiry_boundaries_with_at(cli):
    key = cli("keygen", "local").stdout.decode().strip()
    token = cli("token", "issue", "--purpose", "local", "--key", key, "--ttl", "1h").stdout.decode().strip()
    exp = json.loads(cli("token", "verify", "--purpose", "local", "--key", key, token).stdout)["exp"]
    import datetime as dt
    e = dt.datetime.fromisoformat(exp.replace("Z", "+00:00"))

    def at(delta_s):
        t = (e + dt.timedelta(seconds=delta_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cli("token", "verify", "--purpose", "local", "--key", key, "--at", t, token)

    assert at(29).returncode == 0          # inside the default 30 s leeway
    assert at(30).returncode == 1          # now >= exp + leeway: expired
    assert at(30).stderr.decode().splitlines()[0] == "rejected: expired"
    p = cli("token", "verify", "--purpose", "local", "--key", key, "--leeway", "0s", "--at",
            e.strftime("%Y-%m-%dT%H:%M:%SZ"), token)
    assert p.returncode == 1


@pytest.mark.parametrize("args", [
    ["token"],
    ["token", "mint"],
    ["token", "issue", "--purpose", "local", "--ttl", "5m"],
    ["token", "issue", "--purpose", "v3", "--key", "k4.local.x", "--ttl", "5m"],
    ["token", "issue", "--purpose", "local", "--key", "nothex", "--ttl", "5m"],
    ["token", "issue", "--purpose", "local", "--key", "KEY", "--ttl", "soon"],
    ["token", "issue", "--purpose", "local", "--key", "KEY"],
    ["token", "issue", "--purpose", "local", "--key", "KEY", "--ttl", "5m", "--claim", "exp=x"],
    ["token", "issue", "--purpose", "local", "--key", "KEY", "--ttl", "5m", "--footer", "not json"],
    ["token", "issue", "--purpose", "local", "--key", "KEY", "--ttl", "5m", "--claim-json", "a={"],
    ["token", "issue", "--purpose", "public", "--key", "PUB", "--ttl", "5m"],
    ["token", "verify", "--purpose", "local", "--key", "KEY"],
    ["token", "verify", "--purpose", "local", "--key", "KEY", "--at", "yesterday", "v4.local.x"],
    ["token", "verify", "--purpose", "local", "--key", "KEY", "--bogus", "v4.local.x"],
])
def test_usage_errors(cli, args):
    local = cli("keygen", "local").stdout.decode().strip()
    pub = cli("keygen", "public").stdout.decode().split()[1]
    args = [local if a == "KEY" else pub if a == "PUB" else a for a in args]
    cli.usage_error(*args)


@pytest.mark.parametrize("token", ["", "garbage", "v4.local.", "v4.local.AAAA", "v3.local.AAAA",
                                   "v4.local." + "A" * 20000])
def test_malformed_tokens_are_rejected_not_usage(cli, token):
    key = cli("keygen", "local").stdout.decode().strip()
    p = cli("token", "verify", "--purpose", "local", "--key", key, "--", token)
    assert p.returncode == 1
    assert p.stderr.decode().splitlines()[0] == "rejected: invalid"
