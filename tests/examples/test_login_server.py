"""examples/login-server end to end over loopback HTTP: register, login,
session, throttling, logout, and logs that never hold a password."""
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "build", "examples", "login-server")


@pytest.fixture()
def server():
    assert os.access(SERVER, os.X_OK), f"{SERVER} not built (libmicrohttpd-dev missing?)"
    p = subprocess.Popen([SERVER, "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("listening on "), line
    base = line.split()[-1]
    yield base, p
    p.terminate()
    p.wait(timeout=30)


def call(base, method, path, form=None, cookie=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def test_whole_flow(server):
    base, proc = server
    pw = "correct horse battery"
    assert call(base, "POST", "/register", {"user": "alice", "password": pw})[0] == 201
    assert call(base, "POST", "/register", {"user": "alice", "password": pw})[0] == 409
    assert call(base, "POST", "/register", {"user": "bob", "password": "short"})[0] == 400
    status, _, headers = call(base, "POST", "/login", {"user": "alice", "password": pw})
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith("session=sess_")
    assert "HttpOnly" in headers["Set-Cookie"]
    assert call(base, "GET", "/me", cookie=cookie)[:2] == (200, "alice\n")
    # Wrong password and unknown user answer alike.
    assert call(base, "POST", "/login", {"user": "alice", "password": "nope"})[:2] == \
        call(base, "POST", "/login", {"user": "mallory", "password": "nope"})[:2]
    # Logout ends the session.
    assert call(base, "POST", "/logout", cookie=cookie)[0] == 200
    assert call(base, "GET", "/me", cookie=cookie)[0] == 401
    assert call(base, "GET", "/nope")[0] == 404


def test_backoff_after_failures_and_logs_hold_no_password(server):
    base, proc = server
    assert call(base, "POST", "/register", {"user": "carol", "password": "carols-password"})[0] == 201
    codes = [call(base, "POST", "/login", {"user": "carol", "password": "wrong-guess-123"})[0]
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert 429 in codes[3:]
    status, _, headers = call(base, "POST", "/login", {"user": "carol", "password": "wrong-guess-123"})
    assert status == 429 and int(headers["Retry-After"]) >= 1
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    lines = [l for l in err.splitlines() if l.strip()]
    assert lines, "no log lines"
    for l in lines:
        json.loads(l)  # every line is JSON
    assert "carols-password" not in err and "wrong-guess-123" not in err
    assert '"password":"[REDACTED]"' in err
