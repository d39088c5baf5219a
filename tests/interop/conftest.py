"""Fixtures for interop tests against independent implementations."""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Peer:
    """paseto-ts (npm), run with the machine's Node.js through peer.mjs."""

    def __init__(self):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(HERE, "node_modules", "paseto-ts")):
            pytest.fail("paseto-ts peer missing: scripts/test installs it (npm install in tests/interop)")
        self.node = node

    def __call__(self, *args):
        p = subprocess.run([self.node, os.path.join(HERE, "peer.mjs"), *args],
                           capture_output=True, text=True, timeout=60, cwd=HERE)
        return p


class Cli:
    def __init__(self):
        self.path = os.environ.get("PRODREADY", os.path.join(ROOT, "build", "tools", "prodready"))

    def __call__(self, *args):
        return subprocess.run([self.path, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def peer():
    return Peer()


@pytest.fixture(scope="session")
def cli():
    return Cli()
