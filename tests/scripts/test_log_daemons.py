"""The syslog and journald sinks against the real daemons: rsyslogd on a
socket of its own (RFC 5424 parsed by rsyslog, not by us) and
systemd-journald in a journal namespace of its own (read back with
journalctl). scripts/bootstrap installs both; they need root to run
(journald's namespace lives under /run and /var/log/journal)."""
import json
from datetime import datetime
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.dirname(os.path.dirname(os.environ.get(
    "PRODREADY", os.path.join(ROOT, "build", "tools", "prodready"))))
EMIT = os.path.join(BUILD, "tests", "log_emit")
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
JOURNALD = "/lib/systemd/systemd-journald"


def need(path):
    if os.geteuid() != 0:
        pytest.skip("the daemons need root")
    assert os.path.exists(path), f"{path} missing: scripts/bootstrap installs it"
    assert os.path.exists(EMIT), f"{EMIT} not built"


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def test_rsyslog_parses_our_rfc5424():
    need(RSYSLOGD)
    d = tempfile.mkdtemp(prefix="prd-rsyslog-")
    sock, out = os.path.join(d, "sock"), os.path.join(d, "out")
    conf = os.path.join(d, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(f'''global(workDirectory="{d}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on"
      IgnoreTimestamp="off")
template(name="t" type="string"
  string="%syslogfacility%|%syslogseverity%|%app-name%|%procid%|%msgid%|%timereported:::date-rfc3339%|%msg%\\n")
*.* action(type="omfile" file="{out}" template="t")
''')
    daemon = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(d, "pid")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: os.path.exists(sock)), "rsyslogd did not open its socket"
        p = subprocess.run([EMIT, "syslog", sock, "prd-emit"], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr

        def two_lines():
            if not os.path.exists(out):
                return None
            lines = open(out).read().splitlines()
            return lines if len(lines) >= 2 else None
        lines = wait_for(two_lines)
        assert lines and len(lines) == 2, lines
        for line, sev, msg in ((lines[0], "6", "user logged in"), (lines[1], "3", "disk full")):
            fac, s, app, procid, msgid, ts, body = line.split("|", 6)
            assert (fac, s, app, msgid) == ("20", sev, "prd-emit", "-")  # local4
            assert procid.isdigit() and int(procid) > 0
            doc = json.loads(body.strip())
            assert doc["msg"] == msg
            # rsyslog read our TIMESTAMP: the same instant the line states
            theirs = datetime.fromisoformat(ts)
            ours = datetime.fromisoformat(doc["time"].replace("Z", "+00:00"))
            assert abs((theirs - ours).total_seconds()) < 0.001, (ts, doc["time"])
        first = json.loads(lines[0].split("|", 6)[6])
        assert first["password"] == "[REDACTED]" and first["user"] == "alice"
        assert first["trace"] == "line one\nline two"
        assert "abcdefghijklmnopqrstuvwxyz012345" not in lines[1]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def test_journald_stores_our_fields():
    need(JOURNALD)
    if not os.path.exists("/etc/machine-id") or not open("/etc/machine-id").read().strip():
        pytest.skip("journald needs /etc/machine-id")
    ns = f"prdtest{os.getpid()}"
    machine = open("/etc/machine-id").read().strip()
    sock = f"/run/systemd/journal.{ns}/socket"
    daemon = subprocess.Popen([JOURNALD, ns], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: os.path.exists(sock)), "journald did not open its socket"
        tag = f"emit-{os.getpid()}"
        p = subprocess.run([EMIT, "journald", sock, tag], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr

        def entries():
            r = subprocess.run(["journalctl", f"--namespace={ns}", "-o", "json", "--no-pager",
                                f"SYSLOG_IDENTIFIER={tag}"], capture_output=True, text=True)
            got = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
            return got if len(got) >= 3 else None
        got = wait_for(entries)
        assert got and len(got) == 3, got
        login, full, big = got
        assert login["MESSAGE"] == "user logged in"
        assert login["PRIORITY"] == "6"
        assert login["USER"] == "alice"
        assert login["PASSWORD"] == "[REDACTED]"
        assert login["ATTEMPT"] == "2"
        assert login["TRACE"] == "line one\nline two"
        assert login["TAG"] == tag
        assert login["_TRANSPORT"] == "journal"
        assert full["MESSAGE"] == "disk full" and full["PRIORITY"] == "3"
        assert "abcdefghijklmnopqrstuvwxyz012345" not in json.dumps(full)
        assert big["PRIORITY"] == "4"
        blob = big["BLOB"]
        # journalctl prints fields over its default size limit as null
        # unless --all; ask again for the whole value
        if blob is None or len(blob) != 300 * 1024:
            r = subprocess.run(["journalctl", f"--namespace={ns}", "-o", "json", "--all",
                                "--no-pager", f"SYSLOG_IDENTIFIER={tag}", "PRIORITY=4"],
                               capture_output=True, text=True)
            blob = json.loads(r.stdout.splitlines()[0])["BLOB"]
        assert len(blob) == 300 * 1024 and blob.startswith("abcdefghij")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)
        shutil.rmtree(f"/var/log/journal/{machine}.{ns}", ignore_errors=True)
        shutil.rmtree(f"/run/systemd/journal.{ns}", ignore_errors=True)
