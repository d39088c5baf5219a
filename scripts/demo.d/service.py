#!/usr/bin/python3
"""The login service, walked through as a client would: run by scripts/demo
under scripts/pg-temp (the PG* variables point at the throwaway server)."""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOLD, DIM, END = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")

log = tempfile.NamedTemporaryFile(prefix="login-server-", suffix=".log", delete=False)
env = dict(os.environ, PRD_DB="", PRD_LISTEN="127.0.0.1:0", PRD_TRUSTED_PROXIES="127.0.0.1")
server = subprocess.Popen([os.path.join(ROOT, "build", "examples", "login-server")], env=env,
                          stdout=subprocess.PIPE, stderr=log, text=True)
first = server.stdout.readline().strip()
print(f"\n{BOLD}$ build/examples/login-server{END}   (PRD_DB='' : libpq's PG* variables)\n{first}")
port = int(first.rsplit(":", 1)[1])


def call(method, path, body=None, cookie=None, ip="198.51.100.7", show=("ratelimit", "ratelimit-policy", "retry-after", "set-cookie")):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"X-Forwarded-For": ip}
    if cookie:
        h["Cookie"] = "session=" + cookie
    data = json.dumps(body) if body is not None else None
    if data:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    shown = json.dumps({k: ("…" if k == "password" else v[:9] + "…" if k == "token" else v)
                        for k, v in body.items()}, ensure_ascii=False) if body else ""
    print(f"\n{BOLD}{method} {path}{END} {shown}")
    print(f"  -> {r.status} {r.reason} {'' if path == '/metrics' else text[:160]}")
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    for k in show:
        if k in hdrs:
            v = hdrs[k]
            if k == "set-cookie":
                v = v.split("=", 1)[0] + "=<token>;" + v.split(";", 1)[1]
            print(f"     {k}: {v}")
    return r.status, text, hdrs


try:
    email, pw = "ada@example.com", "correct horse battery staple"
    call("POST", "/signup", {"email": email, "password": pw})
    print(f"{DIM}  (the same 202 for an address that is taken: its owner gets a notice instead){END}")
    call("POST", "/signup", {"email": email, "password": pw})
    _, _, h = call("POST", "/login", {"email": email, "password": pw})
    token = h["set-cookie"].split(";")[0].split("=", 1)[1]
    call("GET", "/me", cookie=token)
    print(f"\n{DIM}-- a brute-force attempt on the account, from one address --{END}")
    for i in range(6):
        st, _, _ = call("POST", "/login", {"email": email, "password": f"guess {i}"}, ip="203.0.113.9",
                        show=() if i < 3 else ("ratelimit", "ratelimit-policy", "retry-after"))
        if st == 429:
            break
    call("POST", "/logout", cookie=token)
    call("GET", "/me", cookie=token)
    print(f"\n{DIM}-- a password reset: the token goes to the outbox table (the mail stand-in) --{END}")
    call("POST", "/password-reset/request", {"email": email})
    reset = subprocess.run(["psql", "-XAtqc", "SELECT token FROM outbox WHERE kind = 'password-reset' ORDER BY id DESC LIMIT 1"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"  outbox: {email} password-reset {reset[:9]}…")
    call("POST", "/password-reset/confirm", {"token": reset, "password": "a new and better passphrase"})
    call("POST", "/password-reset/confirm", {"token": reset, "password": "a new and better passphrase"})
    call("GET", "/readyz")
    _, text, _ = call("GET", "/metrics", show=())
    print(f"\n{BOLD}/metrics (an excerpt){END}")
    for line in text.splitlines():
        if line.startswith(("login_server_requests_total{route=\"/login\"", "prodready_login_lockouts_total",
                            "prodready_pg_acquired_total", "prodready_password_hashes_total", "prodready_log_lines_total{level=\"info\"}")):
            print("  " + line)
finally:
    server.send_signal(signal.SIGTERM)
    rc = server.wait(timeout=30)
lines = open(log.name).read().splitlines()
os.unlink(log.name)
print(f"\n{BOLD}the service's log (standard error), a few of its {len(lines)} lines{END}")
for line in [l for l in lines if '"route":"/login"' in l][:2] + lines[-2:]:
    print("  " + line[:200])
print(f"\nSIGTERM: the service finished what was in flight and exited {rc}")
sys.exit(rc)
