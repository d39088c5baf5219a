"""examples/login-server end to end over loopback HTTP, against a real
PostgreSQL from scripts/pg-temp: every route's success and error paths,
answers that do not tell which accounts exist, brute force throttled,
single-use reset tokens, hostile bodies and slow clients, two instances
sharing limits and sessions, the database stopped and back, a backup
restored, and logs that never hold a password, token or cookie."""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "build", "examples", "login-server")
PG_TEMP = os.path.join(ROOT, "scripts", "pg-temp")
PROXY = "127.0.0.1"  # trusted, so each test picks its own client address


@pytest.fixture(scope="module")
def pg():
    assert os.access(SERVER, os.X_OK), f"{SERVER} not built (libmicrohttpd-dev missing?)"
    d = tempfile.mkdtemp()
    envf = os.path.join(d, "env")
    p = subprocess.Popen([PG_TEMP, "--", "sh", "-c", f"env -0 > {envf}.tmp && mv {envf}.tmp {envf} && exec sleep 3600"],
                         start_new_session=True)
    for _ in range(600):
        if os.path.exists(envf) or p.poll() is not None:
            break
        time.sleep(0.1)
    assert os.path.exists(envf), "pg-temp did not start"
    env = dict(kv.split("=", 1) for kv in open(envf).read().split("\0") if "=" in kv)
    yield env
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=60)


def psql(env, sql):
    return subprocess.run(["psql", "-XAtqc", sql], env=env, capture_output=True, text=True, check=True).stdout


def pg_ctl(env, action):
    cmd = [os.path.join(env["PRD_PG_BINDIR"], "pg_ctl"), "-D", env["PRD_PG_DATADIR"], "-m", "fast", "-w", "-t", "60",
           "-l", env.get("PRD_PG_LOG", "/dev/null"), action]
    if env.get("PRD_PG_RUNAS"):
        cmd = ["runuser", "-u", env["PRD_PG_RUNAS"], "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)


class Server:
    """One service process; every request it answers is counted, and every
    secret the test gave it is searched for in its whole log at the end."""

    def __init__(self, env, **extra):
        self.log = tempfile.NamedTemporaryFile(prefix="login-server-", suffix=".log", delete=False)
        e = dict(env, PRD_DB="", PRD_LISTEN="127.0.0.1:0", PRD_TRUSTED_PROXIES=PROXY)
        e.update(extra)
        self.proc = subprocess.Popen([SERVER], stdout=subprocess.PIPE, stderr=self.log, text=True, env=e)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line + open(self.log.name).read()
        self.port = int(line.rsplit(":", 1)[1])
        self.requests = 0
        self.secrets = set()

    def call(self, method, path, body=None, cookie=None, ip=None, raw=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if cookie:
            h["Cookie"] = "session=" + cookie
            self.secrets.add(cookie)
        if ip:
            h["X-Forwarded-For"] = ip
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        c.close()
        self.requests += 1
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return r.status, (json.loads(text) if text and "json" in hdrs.get("content-type", "") else text), hdrs

    def login(self, email, password, ip):
        self.secrets.add(password)
        st, body, h = self.call("POST", "/login", {"email": email, "password": password}, ip=ip)
        token = None
        if "set-cookie" in h:
            token = h["set-cookie"].split(";")[0].split("=", 1)[1]
            self.secrets.add(token)
        return st, body, h, token

    def signup(self, email, password, ip=None):
        self.secrets.add(password)
        return self.call("POST", "/signup", {"email": email, "password": password}, ip=ip)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0
        text = open(self.log.name, encoding="utf-8", errors="replace").read()
        os.unlink(self.log.name)
        for s in self.secrets:
            assert s not in text, f"a secret reached the log: {s[:6]}..."
        lines = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
        reqs = [l for l in lines if l.get("msg") == "request"]
        assert len(reqs) == self.requests, (len(reqs), self.requests)
        for l in reqs:
            assert {"request_id", "method", "route", "status", "duration_ms"} <= set(l)
        return lines


def fresh():
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def fresh_ip():
    b = uuid.uuid4().bytes
    return f"10.{b[0]}.{b[1]}.{b[2] or 1}"


@pytest.fixture()
def server(pg):
    s = Server(pg)
    yield s
    if s.proc.poll() is None:
        s.stop()


def same_answer(a, b):
    """Status, body and headers alike, but for the request id and date."""
    strip = lambda h: {k: v for k, v in h.items() if k not in ("x-request-id", "date")}
    assert (a[0], a[1], strip(a[2])) == (b[0], b[1], strip(b[2]))


def test_signup_login_me_logout(server):
    email, pw, ip = fresh(), "correct horse battery", fresh_ip()
    assert server.signup(email, pw)[:2] == (202, {"status": "pending"})
    st, body, h, tok = server.login(email.upper(), pw, ip)
    assert st == 200 and set(body) == {"user_id"}
    cookie = h["set-cookie"]
    for attr in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attr in cookie
    st, me, _ = server.call("GET", "/me", cookie=tok)
    assert st == 200 and me == {"user_id": body["user_id"], "email": email}
    assert server.call("POST", "/logout", cookie=tok)[0] == 204
    assert server.call("GET", "/me", cookie=tok)[0] == 401
    assert server.call("GET", "/me")[0] == 401
    assert server.call("GET", "/me", cookie="sess_forged")[0] == 401
    # logout-all ends every session of the user, and needs one
    t1 = server.login(email, pw, ip)[3]
    t2 = server.login(email, pw, fresh_ip())[3]
    assert server.call("POST", "/logout-all")[0] == 401
    assert server.call("POST", "/logout-all", cookie=t1)[0] == 204
    assert server.call("GET", "/me", cookie=t2)[0] == 401


def test_enumeration_proof_answers(server, pg):
    taken, pw = fresh(), "correct horse battery"
    server.signup(taken, pw)
    same_answer(server.signup(taken, "another password"), server.signup(fresh(), "another password"))
    assert psql(pg, f"SELECT kind FROM outbox WHERE email = '{taken}' ORDER BY id").split() == ["welcome", "signup-existing"]
    a = server.call("POST", "/password-reset/request", {"email": taken})
    b = server.call("POST", "/password-reset/request", {"email": fresh()})
    same_answer(a, b)
    assert a[:2] == (202, {"status": "pending"})
    ip = fresh_ip()
    wrong = server.login(taken, "not the password", ip)
    unknown = server.login(fresh(), "not the password", ip)
    same_answer(wrong[:3], unknown[:3])
    assert wrong[0] == 401


def test_bad_input_is_400(server):
    ip = fresh_ip()
    assert server.signup("not-an-address", "correct horse")[0] == 400
    assert server.signup(fresh(), "short")[0] == 400
    assert server.signup(fresh(), "x" * 1025)[0] == 400
    assert server.signup(fresh(), "é" * 8)[0] == 202  # characters, not bytes
    for raw in [b'{"email":"a@example.com"', b'{"email":"a@b.co","password":"p\x00assword1"}',
                b'{"email":"a@b.co","password":"\\u0000password"}', b'{"email":"a@b.co","password":"\xff\xfepassword"}',
                b'{"email":"a@b.co","email":"b@b.co","password":"password1"}', b'["a"]', b'',
                b'{"email":1,"password":"password1"}', b'{"password":"password1"}']:
        for path in ("/signup", "/login", "/password-reset/request", "/password-reset/confirm"):
            st, body, h = server.call("POST", path, raw=raw, ip=ip)
            assert st == 400, (path, raw, st, body)
            assert h["content-type"] == "application/problem+json" and body["status"] == 400
    assert server.call("GET", "/nope")[0] == 404
    st, _, h = server.call("GET", "/login")
    assert st == 405 and h["allow"] == "POST"
    assert server.call("POST", "/healthz")[0] == 405


def raw_exchange(port, data, wait=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def test_hostile_bodies(server):
    # 10 MB announced: 413 from the header, before a byte of the body
    out = raw_exchange(server.port, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n"
                                    b"Content-Type: application/json\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    server.requests += 1
    # 10 MB chunked, no length: the connection is closed once past 16 KiB
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent, closed = 0, False
    chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    try:
        while sent < 10 * 1024 * 1024:
            s.sendall(chunk)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    if not closed:
        s.settimeout(5)
        try:
            closed = s.recv(100) in (b"",) or True
        except ConnectionResetError:
            closed = True
    s.close()
    assert closed and sent < 10 * 1024 * 1024, sent
    server.requests += 1
    # the service still answers
    assert server.call("GET", "/healthz")[0] == 200


def test_slow_client_is_cut_off_and_others_are_served(pg):
    s = Server(pg, PRD_IDLE_TIMEOUT="2")
    try:
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        slow.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert s.call("GET", "/healthz")[0] == 200
        t0 = time.monotonic()
        got = slow.recv(100)  # closed by the server after the idle timeout
        assert got == b"" and 1.5 < time.monotonic() - t0 < 9
        slow.close()
        s.requests += 1
    finally:
        s.stop()


def test_brute_force_is_throttled_per_account_and_per_address(server):
    email, pw, ip = fresh(), "correct horse battery", fresh_ip()
    server.signup(email, pw)
    statuses = []
    for i in range(12):
        st, body, h, _ = server.login(email, f"guess number {i}", ip)
        statuses.append(st)
        if st == 429:
            assert int(h["retry-after"]) >= 1
            assert "ratelimit" in h and "ratelimit-policy" in h
            assert h["content-type"] == "application/problem+json"
            break
    assert 429 in statuses and statuses[0] == 401
    # another user from another address is not affected
    other, opw = fresh(), "another good password"
    server.signup(other, opw)
    assert server.login(other, opw, fresh_ip())[0] == 200
    # the per-address limit: one address spraying many accounts
    sprayer = fresh_ip()
    seen = []
    for i in range(40):
        st, _, h, _ = server.login(fresh(), "guess", sprayer)
        seen.append(st)
        if st == 429:
            assert "ratelimit" in h and int(h["retry-after"]) >= 1
            break
    assert seen[-1] == 429 and len(seen) <= 31, seen


def test_password_reset_single_use_revokes_and_unlocks(server, pg):
    email, pw = fresh(), "correct horse battery"
    server.signup(email, pw)
    tok = server.login(email, pw, fresh_ip())[3]
    # lock the account out from several addresses
    for i in range(14):
        server.login(email, f"wrong guess {i}", fresh_ip())
    assert server.login(email, pw, fresh_ip())[0] == 429
    assert server.call("POST", "/password-reset/request", {"email": email})[0] == 202
    reset = psql(pg, f"SELECT token FROM outbox WHERE email = '{email}' AND kind = 'password-reset'").strip()
    assert reset
    server.secrets.add(reset)
    new = "a brand new password"
    server.secrets.add(new)
    # a bad new password does not burn the token
    assert server.call("POST", "/password-reset/confirm", {"token": reset, "password": "short"})[0] == 400
    assert server.call("POST", "/password-reset/confirm", {"token": reset, "password": new})[0] == 204
    assert server.call("POST", "/password-reset/confirm", {"token": reset, "password": new})[0] == 400
    assert server.call("GET", "/me", cookie=tok)[0] == 401  # every session revoked
    assert server.login(email, pw, fresh_ip())[0] == 401
    assert server.login(email, new, fresh_ip())[0] == 200  # the lockout lifted


def test_two_instances_share_sessions_and_limits(pg):
    a, b = Server(pg), Server(pg)
    try:
        email, pw = fresh(), "correct horse battery"
        a.signup(email, pw)
        tok = a.login(email, pw, fresh_ip())[3]
        b.secrets.add(tok)
        assert b.call("GET", "/me", cookie=tok)[0] == 200
        assert b.call("POST", "/logout", cookie=tok)[0] == 204
        assert a.call("GET", "/me", cookie=tok)[0] == 401
        ip = fresh_ip()
        seen = []
        for i in range(40):
            st = (a if i % 2 else b).login(fresh(), "guess", ip)[0]
            seen.append(st)
            if st == 429:
                break
        assert seen[-1] == 429 and len(seen) <= 31, seen  # one limit, not two
    finally:
        a.stop()
        b.stop()


def test_database_down_and_back(pg):
    s = Server(pg)
    try:
        email, pw = fresh(), "correct horse battery"
        s.signup(email, pw)
        assert s.call("GET", "/readyz")[0] == 200
        pg_ctl(pg, "stop")
        try:
            assert s.call("GET", "/readyz")[0] == 503
            assert s.call("GET", "/healthz")[0] == 200
            st, body, h = s.call("POST", "/login", {"email": email, "password": pw}, ip=fresh_ip())
            assert st == 503 and body["title"] == "Something went wrong" and "detail" not in body
            rid = h["x-request-id"]
        finally:
            pg_ctl(pg, "start")
        for _ in range(100):
            if s.call("GET", "/readyz")[0] == 200:
                break
            time.sleep(0.1)
        assert s.login(email, pw, fresh_ip())[0] == 200
    finally:
        lines = s.stop()
    failed = [l for l in lines if l.get("request_id") == rid]
    assert failed and failed[0]["status"] == 503 and failed[0].get("error")


def test_backup_and_restore(pg):
    s = Server(pg)
    email, pw = fresh(), "correct horse battery"
    s.signup(email, pw)
    tok = s.login(email, pw, fresh_ip())[3]
    s.stop()
    db = pg.get("PGDATABASE", "postgres")
    dump = tempfile.mktemp(suffix=".dump")
    subprocess.run(["pg_dump", "-Fc", "-f", dump, db], env=pg, check=True)
    admin = dict(pg, PGDATABASE="template1")
    subprocess.run(["dropdb", "--force", db], env=admin, check=True)
    subprocess.run(["createdb", db], env=admin, check=True)
    subprocess.run(["pg_restore", "-d", db, dump], env=pg, check=True)
    os.unlink(dump)
    s = Server(pg)
    try:
        assert s.call("GET", "/me", cookie=tok)[0] == 200  # sessions are logged tables
        assert s.login(email, pw, fresh_ip())[0] == 200
    finally:
        s.stop()


def test_metrics_and_health(server):
    assert server.call("GET", "/healthz")[0] == 200
    assert server.call("GET", "/readyz")[0] == 200
    server.login(fresh(), "whatever pass", fresh_ip())
    st, text, h = server.call("GET", "/metrics")
    assert st == 200 and h["content-type"].startswith("text/plain")
    for name in ("login_server_requests_total{route=\"/login\",class=\"4xx\"} 1",
                 "login_server_request_duration_seconds_bucket{route=\"/login\",le=\"+Inf\"} 1",
                 "prodready_pg_acquired_total", "prodready_ratelimit_pg_failures_total",
                 "prodready_login_lockouts_total", "prodready_password_budget_waiting",
                 "prodready_log_lines_total", "prodready_log_dropped_total"):
        assert name in text, name
    p = subprocess.run(["/usr/bin/python3", "-c", "import sys\nfrom prometheus_client.parser import "
                        "text_string_to_metric_families as p\nprint(len(list(p(sys.stdin.read()))))"],
                       input=text, capture_output=True, text=True)
    assert p.returncode == 0 and int(p.stdout) > 20, p.stderr


def test_sigterm_finishes_requests_in_flight(pg):
    s = Server(pg)
    body = json.dumps({"email": fresh(), "password": "whatever pass"}).encode()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    c.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body[:10])
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert s.proc.poll() is None  # still finishing
    c.sendall(body[10:])
    out = c.recv(4096)
    assert out.startswith(b"HTTP/1.1 401"), out[:80]
    c.close()
    s.requests += 1
    assert s.proc.wait(timeout=30) == 0
    # refused to start without a database
    p = subprocess.run([SERVER], env=dict(pg, PRD_DB="host=127.0.0.1 port=1 connect_timeout=2", PRD_LISTEN="127.0.0.1:0"),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "login-server: start:" in p.stderr and p.stdout == ""


def test_full_password_budget_is_503_with_retry_after(pg):
    # room for one hash at a time and no wait: concurrent logins overflow
    s = Server(pg, PRD_PASSWORD_BUDGET_KIB="19456", PRD_PASSWORD_WAIT_MS="0", PRD_LOGIN_LIMIT="1000")
    try:
        import concurrent.futures as cf
        with cf.ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda i: s.call("POST", "/login", {"email": fresh(), "password": "whatever pass"},
                                                ip=fresh_ip()), range(40)))
        busy = [g for g in got if g[0] == 503]
        assert busy and all(g[0] in (401, 503) for g in got), [g[0] for g in got]
        assert int(busy[0][2]["retry-after"]) >= 1 and busy[0][1] == {"type": "about:blank", "title": "Something went wrong", "status": 503}
        assert busy[0][2]["x-request-id"]
        text = s.call("GET", "/metrics")[1]
        assert "prodready_password_budget_busy_total 0" not in text
    finally:
        s.stop()


def test_outdated_hash_is_upgraded_on_login(server, pg):
    email, pw = fresh(), "correct horse battery"
    server.signup(email, pw)
    weak = subprocess.run([os.path.join(ROOT, "build", "tools", "prodready"), "password", "hash", "--t", "1",
                           "--m", "1024", "--p", "1"], input=pw, capture_output=True, text=True, check=True).stdout.strip()
    psql(pg, f"UPDATE users SET password_hash = '{weak}' WHERE email = '{email}'")
    assert server.login(email, pw, fresh_ip())[0] == 200
    now = psql(pg, f"SELECT password_hash FROM users WHERE email = '{email}'").strip()
    assert now != weak and now.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert server.login(email, pw, fresh_ip())[0] == 200  # the new hash verifies
