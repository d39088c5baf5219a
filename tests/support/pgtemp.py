"""A throwaway PostgreSQL for a pytest module, from scripts/pg-temp: the
server's PG* and PRD_PG_CONNINFO variables while the generator is open.
Shared by the CLI tests and the bindings' tests."""
import contextlib
import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def pg_temp_env():
    with tempfile.TemporaryDirectory() as d:
        envfile = os.path.join(d, "env")
        p = subprocess.Popen(
            [str(ROOT / "scripts" / "pg-temp"), "--", "sh", "-c",
             f'env | grep -E "^(PG|PRD_PG)" > "{envfile}"; echo ready; read _'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            assert line.strip() == "ready", "pg-temp did not start"
            env = dict(os.environ)
            with open(envfile) as f:
                for kv in f.read().splitlines():
                    k, _, v = kv.partition("=")
                    env[k] = v
            yield env
        finally:
            p.stdin.close()  # the shell's read ends: pg-temp stops the server and cleans up
            p.wait(timeout=60)
