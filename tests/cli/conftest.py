"""Shared fixtures for the prodready command tests."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _binary():
    path = os.environ.get("PRODREADY", os.path.join(ROOT, "build", "tools", "prodready"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"prodready binary not found at {path}: build first or set PRODREADY")
    return path


class Cli:
    def __init__(self, path):
        self.path = path

    def __call__(self, *args, stdin=b"", timeout=120):
        if isinstance(stdin, str):
            stdin = stdin.encode()
        p = subprocess.run([self.path, *args], input=stdin, capture_output=True, timeout=timeout)
        return p

    def usage_error(self, *args, stdin=b""):
        """Assert the docs/cli.md contract for bad usage: exit 2, one stderr line."""
        p = self(*args, stdin=stdin)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        lines = p.stderr.decode().splitlines()
        assert len(lines) == 1, (args, p.stderr)
        assert lines[0].startswith("prodready: "), lines
        assert p.stdout == b"", p.stdout
        return lines[0]


@pytest.fixture(scope="session")
def cli():
    return Cli(_binary())
