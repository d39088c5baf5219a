"""The bindings' mirrors of the prodready command, and how to run them."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
C_CLI = os.environ.get("PRODREADY", str(ROOT / "build" / "tools" / "prodready"))
BUILD = pathlib.Path(C_CLI).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python"),
           PRODREADY_LIBRARY=os.environ.get("PRODREADY_LIBRARY",
                                            str(BUILD / "lib" / "libprodready.so.1")))

MIRRORS = ["python", "rust", "go", "node"]


def run(cmd, args, stdin=b"", env=None):
    if isinstance(stdin, str):
        stdin = stdin.encode()
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True, timeout=120,
                          env=env or ENV)


def cargo():
    """The cargo scripts/bootstrap chose (the machine's, else Debian's)."""
    r = subprocess.run([str(ROOT / "scripts" / "bootstrap"), "--print-cargo"], capture_output=True)
    return r.stdout.decode().strip() if r.returncode == 0 else None


def build_rust_mirror():
    """bindings/rust's example `prodready`, built offline against this
    build tree; (command, None) or (None, why not)."""
    c = cargo()
    if c is None:
        return None, "no cargo on this machine"
    crate = ROOT / "bindings" / "rust"
    env = dict(os.environ, PKG_CONFIG_PATH=str(BUILD / "meson-uninstalled"))
    r = subprocess.run([c, "build", "--offline", "--quiet", "--example", "prodready"], cwd=crate,
                       env=env, capture_output=True, timeout=900)
    if r.returncode != 0:
        return None, "cargo build --example prodready failed:\n" + r.stderr.decode()[-3000:]
    return [str(crate / "target" / "debug" / "examples" / "prodready")], None


def build_go_mirror():
    """bindings/go's command prodready-go, built offline (no module proxy)
    against this build tree; (command, None) or (None, why not)."""
    crate = ROOT / "bindings" / "go"
    out = BUILD / "prodready-go"
    env = dict(os.environ, PKG_CONFIG_PATH=str(BUILD / "meson-uninstalled"), GOPROXY="off",
               GOFLAGS="-mod=mod", CGO_ENABLED="1")
    try:
        r = subprocess.run(["go", "build", "-o", str(out), "./cmd/prodready-go"], cwd=crate, env=env,
                           capture_output=True, timeout=900)
    except OSError as e:
        return None, f"no go toolchain: {e}"
    if r.returncode != 0:
        return None, "go build ./cmd/prodready-go failed:\n" + r.stderr.decode()[-3000:]
    return [str(out)], None


def node_mirror():
    """bindings/node/bin/prodready.mjs, after npm install in bindings/node
    (koffi); (command, None) or (None, why not)."""
    node_dir = ROOT / "bindings" / "node"
    if not (node_dir / "node_modules" / "koffi").exists():
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_dir,
                           capture_output=True, timeout=600)
        if r.returncode != 0:
            return None, "npm install in bindings/node failed:\n" + r.stderr.decode()[-3000:]
    return ["node", str(node_dir / "bin" / "prodready.mjs")], None


def python_mirror():
    return [sys.executable, "-m", "prodready"], None
