"""The `mirror` fixture: the command line of one binding's mirror, built
once per session. A mirror that cannot be built fails under
PRD_TEST_REQUIRE=1 (scripts/test) and is skipped otherwise."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mirrors import build_go_mirror, build_rust_mirror, node_mirror, python_mirror  # noqa: E402

_BUILDERS = {"python": python_mirror, "rust": build_rust_mirror, "go": build_go_mirror, "node": node_mirror}
_built = {}


@pytest.fixture
def mirror(request):
    name = request.param
    if name not in _built:
        _built[name] = _BUILDERS[name]()
    cmd, why = _built[name]
    if cmd is None:
        if os.environ.get("PRD_TEST_REQUIRE") == "1":
            pytest.fail(f"the {name} mirror is required here: {why}")
        pytest.skip(f"the {name} mirror: {why}")
    return cmd
