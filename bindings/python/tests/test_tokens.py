"""Keys, rings and tokens, against the official PASERK vectors."""
import datetime
import json
import os
import pathlib

import pytest

import prodready as p

VECTORS = pathlib.Path(os.environ.get("PRD_VECTORS_DIR",
                                      pathlib.Path(__file__).resolve().parents[3].parent
                                      / "shared" / "vectors"))


def test_paserk_vectors_round_trip():
    for name, kind in (("k4.local.json", "local"), ("k4.public.json", "public"),
                       ("k4.secret.json", "secret")):
        doc = json.loads((VECTORS / "paserk" / name).read_text())
        checked = 0
        for t in doc["tests"]:
            if t.get("expect-fail"):
                with pytest.raises(p.ClientError):
                    p.Key.from_paserk(t["paserk"]) if t.get("paserk") else p.Key.from_hex(kind, t["key"])
                continue
            k = p.Key.from_hex(kind, t["key"])
            assert k.paserk() == t["paserk"]
            assert p.Key.from_paserk(t["paserk"]).kind == kind
            checked += 1
        assert checked >= 1, name


def test_issue_verify_and_reasons():
    key = p.Key.generate("local")
    ring = p.Keyring([key])
    t = p.Token.issue(ring, "local", {"sub": "alice", "roles": ["a", "b"], "n": 3}, ttl=60,
                      footer={"tenant": "t1"}, implicit="ctx")
    claims = p.Token.verify(ring, "local", t, implicit="ctx")
    assert claims["sub"] == "alice" and claims["roles"] == ["a", "b"] and claims["n"] == 3
    with pytest.raises(p.InvalidToken) as e:
        p.Token.verify(ring, "local", t, implicit="other")
    assert e.value.detail
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    with pytest.raises(p.ExpiredToken):
        p.Token.verify(ring, "local", t, implicit="ctx", at=later)
    nbf = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    early = p.Token.issue(ring, "local", {}, ttl=3600, not_before=nbf)
    with pytest.raises(p.NotYetValid):
        p.Token.verify(ring, "local", early)
    with pytest.raises(p.InvalidToken):
        p.Token.verify(p.Keyring([p.Key.generate("local")]), "local", t, implicit="ctx")
    with pytest.raises(p.InvalidInput):
        p.Token.issue(ring, "local", {"sub": "x"})  # no expiry: refused
    with pytest.raises(p.InvalidInput):
        p.Token.issue(ring, "local", {"exp": "2030-01-01T00:00:00Z"}, ttl=5)


def test_public_tokens_and_key_ids():
    sk = p.Key.generate("public")
    assert sk.kind == "secret"
    pk = sk.public()
    assert pk.kind == "public" and pk.paserk().startswith("k4.public.")
    assert sk.id.startswith("k4.sid.") and pk.id.startswith("k4.pid.")
    t = p.Token.issue(p.Keyring([sk]), "public", {"sub": "bob"}, ttl=datetime.timedelta(minutes=5))
    assert p.Token.verify(p.Keyring([pk]), "public", t)["sub"] == "bob"
    assert "k4.secret" not in repr(sk)


def test_raw_footer_and_claim_text():
    key = p.Key.generate("local")
    t = p.Token.issue_raw(key, "local", {"a": p.RawJSON('{"x":[1,2]}')}, ttl=60, footer='{"k":1}')
    text = p.Token.verify_text(p.Keyring([key]), "local", t, footer='{"k":1}')
    assert text.startswith('{"a":{"x":[1,2]},')
    with pytest.raises(p.InvalidInput):
        p.Token.issue_raw(key, "local", {"a": p.RawJSON('{"x":1,"x":2}')}, ttl=60)


def test_revocation_lists_end_tokens_early():
    ring = p.Keyring([p.Key.generate("local")])
    lst = p.Revocations()
    t = p.Token.issue(ring, "local", {"sub": "alice"}, ttl=60)
    claims = p.Token.verify(ring, "local", t, revocations=lst)
    assert lst.check(claims["jti"]) is True
    lst.revoke(claims["jti"], claims["exp"])
    assert lst.check(claims["jti"]) is False and len(lst) == 1
    with pytest.raises(p.InvalidToken) as e:
        p.Token.verify(ring, "local", t, revocations=lst)
    assert e.value.detail == "revoked"
    # Without the list the token is still valid: the list is what ends it.
    assert p.Token.verify(ring, "local", t)["sub"] == "alice"


def test_a_revocation_reaches_every_instance(pg_conninfo):
    a, b = p.Pool(pg_conninfo, max_size=2), p.Pool(pg_conninfo, max_size=2)
    try:
        a.migrate_stores()
        la, lb = p.Revocations(a), p.Revocations(b, refresh=0.01)
        jti = f"py-jti-{id(la)}"
        assert lb.check(jti) is True
        la.revoke(jti, "2100-01-01T00:00:00Z")
        import time
        time.sleep(0.05)
        assert lb.check(jti) is False
        del la, lb
    finally:
        a.close()
        b.close()
