"""The binding's tests run against the library of the build tree (or
PRODREADY_LIBRARY), and the C command beside it for the mirror tests."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
BUILD = pathlib.Path(os.environ.get("PRODREADY", ROOT / "build" / "tools" / "prodready")).parents[1]
os.environ.setdefault("PRODREADY_LIBRARY", str(BUILD / "lib" / "libprodready.so.1"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))

sys.path.insert(0, str(ROOT / "tests" / "support"))
import pytest  # noqa: E402
from pgtemp import pg_temp_env  # noqa: E402


@pytest.fixture(scope="session")
def pg_conninfo():
    """A throwaway PostgreSQL (scripts/pg-temp) for the pool's tests."""
    with pg_temp_env() as env:
        yield env["PRD_PG_CONNINFO"]
