"""prodready db migrate and ratelimit check --db against a throwaway
PostgreSQL (scripts/pg-temp): the contract in docs/cli.md."""
import os
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from pgtemp import pg_temp_env  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def pgenv():
    """A server for the module: its PG* variables, for --db \"\"."""
    with pg_temp_env() as env:
        yield env


def run(cli, env, *args):
    return subprocess.run([cli.path, *args], capture_output=True, timeout=120, env=env)


def test_migrate_is_idempotent(cli, pgenv):
    p = run(cli, pgenv, "db", "migrate", "--db", "")
    assert p.returncode == 0, p.stderr
    p = run(cli, pgenv, "db", "migrate", "--db", pgenv["PRD_PG_CONNINFO"])
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"applied 0 migrations\n"


def test_check_allows_then_denies(cli, pgenv):
    out = [run(cli, pgenv, "ratelimit", "check", "--db", "", "--limit", "3", "--window", "1h",
               "acct-42") for _ in range(5)]
    assert [p.stdout for p in out] == [b"allow\n"] * 3 + [b"deny\n"] * 2
    assert [p.returncode for p in out] == [0, 0, 0, 1, 1]
    # another key, and the same key under another rule, are their own
    p = run(cli, pgenv, "ratelimit", "check", "--db", "", "--limit", "3", "--window", "1h", "acct-43")
    assert p.returncode == 0
    p = run(cli, pgenv, "ratelimit", "check", "--db", "", "--limit", "4", "--window", "1h", "acct-42")
    assert p.returncode == 0


@pytest.mark.parametrize("algorithm", ["exact", "counter", "gcra"])
def test_concurrent_checks_share_one_limit(cli, pgenv, algorithm):
    """Twenty processes at once against a limit of 7: exactly 7 allowed."""
    key = f"burst-{algorithm}"
    results = []

    def one():
        results.append(run(cli, pgenv, "ratelimit", "check", "--db", "", "--limit", "7",
                           "--window", "1h", "--algorithm", algorithm, key))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(p.returncode for p in results)
    assert codes == [0] * 7 + [1] * 13, [p.stderr for p in results if p.returncode == 2]


def test_database_errors_exit_2(cli, pgenv):
    p = run(cli, pgenv, "ratelimit", "check", "--db", "host=/nonexistent-dir", "--limit", "3",
            "--window", "1m", "k")
    assert p.returncode == 2
    assert p.stdout == b""
    assert len(p.stderr.decode().strip().splitlines()) == 1
    p = run(cli, pgenv, "db", "migrate", "--db", "host=/nonexistent-dir")
    assert p.returncode == 2
    assert len(p.stderr.decode().strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["ratelimit", "check", "--limit", "3", "--window", "1m", "k"],             # no --db
    ["ratelimit", "check", "--db", "", "--limit", "3", "--window", "1m"],       # no KEY
    ["ratelimit", "check", "--db", "", "--limit", "0", "--window", "1m", "k"],
    ["ratelimit", "check", "--db", "", "--limit", "3", "--window", "soon", "k"],
    ["ratelimit", "check", "--db", "", "--limit", "3", "--window", "1m", "--algorithm", "x", "k"],
    ["ratelimit", "check", "--db", "", "--limit", "3", "--window", "1m", "k", "extra"],
    ["ratelimit", "check", "--db", "", "--limit", "3", "--window", "1m", "k" * 1025],
    ["db", "migrate"],
    ["db", "migrate", "--db", "", "extra"],
    ["db", "frobnicate"],
    ["ratelimit", "check", "--db", "nonsense=1", "--limit", "3", "--window", "1m", "k"],
])
def test_bad_usage(cli, pgenv, args):
    p = run(cli, pgenv, *args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stdout == b""
    assert len(p.stderr.decode().strip().splitlines()) == 1, p.stderr
