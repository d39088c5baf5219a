"""scripts/pg-temp: a real throwaway server, cleaned up on every exit path."""
import os
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_TEMP = os.path.join(ROOT, "scripts", "pg-temp")


def run(cmd, **kw):
    return subprocess.run([PG_TEMP, "--", "sh", "-c", cmd], capture_output=True, text=True,
                          timeout=180, **kw)


def test_server_answers_and_folder_is_removed():
    p = run('psql -Atc "select 6*7" && echo "dir=$PRD_PG_DATADIR"')
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "42"
    datadir = out[1].split("=", 1)[1]
    assert not os.path.exists(datadir), "pg-temp left its cluster behind"


def test_password_over_tcp_and_wrong_password_refused():
    ok = run('psql "$PRD_PG_TCP_CONNINFO password=$PRD_PG_PASSWORD" -Atc "select 1"')
    assert ok.returncode == 0 and ok.stdout.strip() == "1", ok.stderr
    bad = run('psql "$PRD_PG_TCP_CONNINFO password=wrong" -Atc "select 1"')
    assert bad.returncode != 0
    assert "password authentication failed" in bad.stderr


def test_listens_on_loopback_only():
    p = run('psql -Atc "show listen_addresses"')
    assert p.returncode == 0
    assert p.stdout.strip() == "127.0.0.1"


def test_command_failure_propagates_and_cleans_up():
    p = run('echo "dir=$PRD_PG_DATADIR"; exit 7')
    assert p.returncode == 7
    datadir = p.stdout.strip().split("=", 1)[1]
    assert not os.path.exists(datadir)


def test_interrupt_stops_server_and_cleans_up(tmp_path):
    marker = tmp_path / "dir"
    # A shell started in the background inherits SIGINT ignored, and a
    # signal ignored on entry cannot be trapped: give the command the
    # default disposition an interactive Ctrl-C would meet.
    proc = subprocess.Popen([PG_TEMP, "--", "sh", "-c",
                             f'echo "$PRD_PG_DATADIR" > {marker}; sleep 60'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(600):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.1)
    datadir = marker.read_text().strip()
    assert os.path.isdir(datadir)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not os.path.exists(datadir), "cluster left behind after SIGINT"
