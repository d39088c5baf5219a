"""examples/pg-epoll against a throwaway server: every id gets its answer
(in whatever order they come), bad lines an error, and the loop reads all
of a large input while answers are still out."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.path.join(ROOT, "build", "examples", "pg-epoll")
PG_TEMP = os.path.join(ROOT, "scripts", "pg-temp")

SETUP = ("CREATE TABLE accounts (id int8 PRIMARY KEY, balance int8); "
         "INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 5000) g")


def run(stdin_text, via_pipe=True):
    assert os.access(PROGRAM, os.X_OK), f"{PROGRAM} not built"
    # the example reads PG* like any libpq program; pg-temp exports them
    script = f'psql -qc "{SETUP}" >/dev/null && {"cat |" if via_pipe else ""} "{PROGRAM}"'
    p = subprocess.run([PG_TEMP, "--", "sh", "-c", script], input=stdin_text, text=True,
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.splitlines(), p.stderr


@pytest.mark.parametrize("via_pipe", [True, False])
def test_every_id_answered(via_pipe):
    ids = list(range(1, 2001)) + [999999]
    rc, lines, err = run("".join(f"{i}\n" for i in ids) + "nope\n", via_pipe)
    assert rc == 2, err  # one unknown id and one bad line
    got = {}
    for line in lines:
        key, _, rest = line.partition(" ")
        got[key] = rest
    for i in range(1, 2001):
        assert got[str(i)] == str(i * 10)
    assert got["999999"] == "error: no such account"
    assert got["nope"] == "error: not an id"
    assert len(lines) == len(ids) + 1


def test_all_good_exits_zero():
    rc, lines, err = run("7\n8")  # the last line without its newline
    assert rc == 0, err
    assert sorted(lines) == ["7 70", "8 80"]
