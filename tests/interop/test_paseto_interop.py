"""Tokens made by paseto-ts verified by us, and ours verified by it,
including expired, not-yet-valid and tampered ones."""
import json

import pytest


def keys(peer, purpose):
    p = peer("keys", purpose)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


@pytest.fixture(scope="module")
def local_key(peer):
    return keys(peer, "local")[0]


@pytest.fixture(scope="module")
def public_keys(peer):
    secret, public = keys(peer, "public")
    return secret, public


PAYLOAD = {"sub": "user-42", "role": "admin", "n": 7, "nested": {"a": [1, 2, "ü"]},
           "exp": "2040-01-01T00:00:00+00:00"}


@pytest.mark.parametrize("footer,implicit", [(None, None), ('{"kid":"ops-key-1"}', None),
                                              (None, '{"user":"42"}'),
                                              ('{"kid":"k"}', "bound-to-session")])
def test_peer_local_tokens_verify_here(peer, cli, local_key, footer, implicit):
    args = ["encrypt", local_key, json.dumps(PAYLOAD)]
    if footer or implicit:
        args += [footer or "", implicit or ""]
    tok = peer(*args)
    assert tok.returncode == 0, tok.stderr
    token = tok.stdout.strip()
    cmd = ["token", "verify", "--purpose", "local", "--key", local_key]
    if implicit:
        cmd += ["--implicit", implicit]
    if footer:
        cmd += ["--footer", footer]
    p = cli(*cmd, token)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == PAYLOAD
    # The wrong implicit assertion must fail.
    p = cli("token", "verify", "--purpose", "local", "--key", local_key, "--implicit", "other", token)
    assert p.returncode == 1 and p.stderr.splitlines()[0] == "rejected: invalid"


def test_peer_public_tokens_verify_here(peer, cli, public_keys):
    secret, public = public_keys
    tok = peer("sign", secret, json.dumps(PAYLOAD), '{"kid":"x"}', "ia")
    assert tok.returncode == 0, tok.stderr
    token = tok.stdout.strip()
    p = cli("token", "verify", "--purpose", "public", "--key", public, "--implicit", "ia", token)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == PAYLOAD
    # Verifying with the secret key (its public half) works too.
    p = cli("token", "verify", "--purpose", "public", "--key", secret, "--implicit", "ia", token)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("purpose", ["local", "public"])
def test_our_tokens_verify_in_peer(peer, cli, local_key, public_keys, purpose):
    issue_key = local_key if purpose == "local" else public_keys[0]
    verify_key = local_key if purpose == "local" else public_keys[1]
    for extra in ([], ["--footer", '{"kid":"rotation-2026"}'], ["--implicit", "tenant-9"]):
        p = cli("token", "issue", "--purpose", purpose, "--key", issue_key, "--ttl", "10m",
                "--claim", "sub=alice", "--claim-json", 'scopes=["read","write"]', *extra)
        assert p.returncode == 0, p.stderr
        token = p.stdout.strip()
        args = ["decrypt" if purpose == "local" else "verify", verify_key, token]
        if extra and extra[0] == "--implicit":
            args.append(extra[1])
        v = peer(*args)
        assert v.returncode == 0, (extra, v.stderr)
        claims = json.loads(v.stdout)
        assert claims["sub"] == "alice" and claims["scopes"] == ["read", "write"]
        assert {"exp", "iat", "jti"} <= set(claims)


def test_peer_expired_and_not_yet_valid(peer, cli, local_key):
    expired = peer("encrypt", local_key, json.dumps({"sub": "x", "exp": "2020-01-01T00:00:00Z"}))
    p = cli("token", "verify", "--purpose", "local", "--key", local_key, expired.stdout.strip())
    assert p.returncode == 1 and p.stderr.splitlines()[0] == "rejected: expired"
    future = peer("encrypt", local_key, json.dumps({"sub": "x", "exp": "2040-01-01T00:00:00Z",
                                                    "nbf": "2039-01-01T00:00:00Z"}))
    p = cli("token", "verify", "--purpose", "local", "--key", local_key, future.stdout.strip())
    assert p.returncode == 1 and p.stderr.splitlines()[0] == "rejected: not_yet_valid"
    # --at moves our clock: the same token is valid in 2039-06.
    p = cli("token", "verify", "--purpose", "local", "--key", local_key,
            "--at", "2039-06-01T00:00:00Z", future.stdout.strip())
    assert p.returncode == 0, p.stderr
    # A peer token without exp never expires: we refuse it.
    forever = peer("encrypt", local_key, json.dumps({"sub": "x"}))
    p = cli("token", "verify", "--purpose", "local", "--key", local_key, forever.stdout.strip())
    assert p.returncode == 1 and p.stderr.splitlines()[0] == "rejected: invalid"


def test_peer_tampered_tokens_rejected(peer, cli, local_key, public_keys):
    for purpose in ("local", "public"):
        k_issue = local_key if purpose == "local" else public_keys[0]
        k_verify = local_key if purpose == "local" else public_keys[1]
        tok = peer("encrypt" if purpose == "local" else "sign", k_issue, json.dumps(PAYLOAD))
        token = tok.stdout.strip()
        head = len("v4.local.") if purpose == "local" else len("v4.public.")
        for pos in range(head, len(token), max(1, (len(token) - head) // 25)):
            c = "A" if token[pos] != "A" else "B"
            bad = token[:pos] + c + token[pos + 1:]
            p = cli("token", "verify", "--purpose", purpose, "--key", k_verify, bad)
            assert p.returncode == 1, (pos, p.stdout)
            assert p.stderr.splitlines()[0] == "rejected: invalid"
