#!/usr/bin/python3
"""scripts/load-check's body, under scripts/pg-temp."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DURATION = os.environ.get("LOAD_SECONDS", "10")


def pg_ctl(action):
    cmd = [os.path.join(os.environ["PRD_PG_BINDIR"], "pg_ctl"), "-D", os.environ["PRD_PG_DATADIR"], "-m", "fast",
           "-w", "-t", "60", "-l", os.environ.get("PRD_PG_LOG", "/dev/null"), action]
    if os.environ.get("PRD_PG_RUNAS"):
        cmd = ["runuser", "-u", os.environ["PRD_PG_RUNAS"], "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)


log = tempfile.NamedTemporaryFile(prefix="login-server-", suffix=".log", delete=False)
env = dict(os.environ, PRD_DB="", PRD_LISTEN="127.0.0.1:0", PRD_TRUSTED_PROXIES="127.0.0.1",
           PRD_LOGIN_LIMIT="1000000")
srv = subprocess.Popen([os.path.join(ROOT, "build", "examples", "login-server")], env=env,
                       stdout=subprocess.PIPE, stderr=log, text=True)
port = int(srv.stdout.readline().rsplit(":", 1)[1])
base = f"http://127.0.0.1:{port}"


def call(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body else None,
              headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def wrk(path, *args, env_extra=None):
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{DURATION}s", "--latency", *args, base + path],
                         capture_output=True, text=True, env=dict(os.environ, **(env_extra or {})), check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


failed = False
try:
    pw = "correct horse battery staple"
    call("POST", "/signup", {"email": "load@example.com", "password": pw})
    st, h = call("POST", "/login", {"email": "load@example.com", "password": pw})
    cookie = h["set-cookie"].split(";")[0]
    rps, p99, bad = wrk("/me", "-H", f"Cookie: {cookie}")
    print(f"GET /me      {rps:8.0f} req/s  p99 {p99:>8}  non-2xx {bad}")
    failed |= bad != 0
    body = json.dumps({"email": "load@example.com", "password": pw})
    rps, p99, bad = wrk("/login", "-s", os.path.join(ROOT, "scripts", "load-check.d", "login.lua"),
                        env_extra={"LOGIN_BODY": body})
    print(f"POST /login  {rps:8.0f} req/s  p99 {p99:>8}  non-2xx {bad} (Argon2id m=19 MiB t=2 per request)")
    failed |= bad != 0

    # the fault: signups under load while the database goes away twice
    acked, errors, stop = [], [], threading.Event()

    def signups(k):
        i = 0
        while not stop.is_set():
            i += 1
            email = f"s{k}-{i}@example.com"
            try:
                st, _ = call("POST", "/signup", {"email": email, "password": pw})
            except OSError:
                st = 0
            (acked.append(email) if st == 202 else errors.append((time.monotonic(), st)))

    threads = [threading.Thread(target=signups, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    t0 = time.monotonic()
    subprocess.run(["psql", "-XAtqc", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'login-server'"], check=True, capture_output=True)
    time.sleep(2)
    t1 = time.monotonic()
    pg_ctl("restart")
    t2 = time.monotonic()
    recovered = None
    while time.monotonic() - t2 < 30:
        if call("GET", "/readyz")[0] == 200:
            recovered = time.monotonic() - t2
            break
        time.sleep(0.1)
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    n_acked = len(acked)
    have = set(subprocess.run(["psql", "-XAtqc", "SELECT email FROM users"], capture_output=True, text=True,
                              check=True).stdout.split())
    lost = [e for e in acked if e not in have]
    outside = [e for e in errors if not (t0 - 0.1 <= e[0] <= t2 + (recovered or 30) + 0.5)]
    print(f"fault: backends terminated at +0 s, PostgreSQL restarted at +{t1 - t0:.1f} s (took {t2 - t1:.1f} s); "
          f"ready again {recovered:.2f} s after" if recovered is not None else "fault: never ready again")
    print(f"       {n_acked} signups acknowledged, {len(lost)} lost; {len(errors)} errors, "
          f"{len(outside)} outside the outage ({sorted(set(e[1] for e in errors))})")
    failed |= recovered is None or bool(lost) or bool(outside)
finally:
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=30)
    os.unlink(log.name)
print("load-check: " + ("FAILED" if failed else "ok"))
sys.exit(1 if failed else 0)
