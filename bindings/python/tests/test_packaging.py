"""pip install bindings/python works offline (setuptools from Debian, no
index), and the installed package finds the library through
PRODREADY_LIBRARY, refusing a path that is not there."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_pip_install_offline(tmp_path):
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                        "--no-index", "--quiet", "--target", str(target),
                        str(ROOT / "bindings" / "python")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, PYTHONPATH=str(target))
    run = subprocess.run([sys.executable, "-c", "import prodready; print(prodready.__file__); "
                          "print(prodready.PasswordHasher(time_cost=1, memory_cost=1024).hash('x'))"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(target)) and "$argon2id$" in run.stdout
    env["PRODREADY_LIBRARY"] = str(tmp_path / "no-such-lib.so.1")
    bad = subprocess.run([sys.executable, "-c", "import prodready"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "PRODREADY_LIBRARY" in bad.stderr
