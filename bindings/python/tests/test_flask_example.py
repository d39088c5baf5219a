"""The Flask example end to end with its test client, on a real PostgreSQL."""
import json
import pathlib
import sys

import pytest

import flask  # noqa: E402,F401 - scripts/bootstrap installs python3-flask
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "flask_login"))
import prodready as prd  # noqa: E402
from app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(pg_conninfo):
    app = create_app(pg_conninfo, hasher=prd.PasswordHasher(time_cost=1, memory_cost=1024))
    return app.test_client()


def test_signup_login_me_logout(client):
    creds = {"email": "Alice@Example.org", "password": "correct horse"}
    assert client.post("/signup", json=creds).status_code == 201
    assert client.post("/signup", json=creds).status_code == 201  # no account oracle
    assert client.get("/me").status_code == 401
    r = client.post("/login", json=creds)
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "sess_" in cookie
    me = client.get("/me")
    assert me.status_code == 200 and me.get_json()["email"] == "alice@example.org"
    assert client.post("/logout").status_code == 200
    assert client.get("/me").status_code == 401


def test_wrong_password_unknown_user_and_lockout(client):
    client.post("/signup", json={"email": "bob@example.org", "password": "s3cret-pass"})
    r = client.post("/login", json={"email": "bob@example.org", "password": "wrong-pass"})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    r2 = client.post("/login", json={"email": "nobody@example.org", "password": "whatever1"})
    assert r2.status_code == 401 and r2.get_json()["title"] == r.get_json()["title"]
    statuses = [client.post("/login", json={"email": "bob@example.org",
                                            "password": f"guess-{i:04d}"}).status_code
                for i in range(30)]
    assert 429 in statuses  # the login guard stops the guessing
    locked = client.post("/login", json={"email": "bob@example.org", "password": "guess-more"})
    assert locked.status_code == 429 and "RateLimit" in locked.headers
    assert client.post("/signup", json={"email": "x@example.org", "password": "short"}).status_code == 400


def test_logs_never_carry_the_password(client, capfd):
    client.post("/login", json={"email": "bob2@example.org", "password": "do-not-log-me"})
    client.post("/signup", json={"email": "carol@example.org", "password": "do-not-log-me-2"})
    client.post("/login", json={"email": "carol@example.org", "password": "wrong-but-secret"})
    err = capfd.readouterr().err
    assert "do-not-log-me" not in err and "wrong-but-secret" not in err
    lines = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
    assert any(l.get("msg") == "login failed" and l.get("password") == "[REDACTED]" for l in lines)
