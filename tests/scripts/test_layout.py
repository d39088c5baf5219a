"""The module folders and the one-way dependencies between them
(the design drawn in docs/README.md): a module's sources may include the headers, public
or internal, of the modules below it only."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Which modules each may use. ratelimit uses log for the login guard's
# lockout events; the stores sit on pg and keep ratelimit's and token's state.
ALLOWED = {
    "core": set(),
    "password": {"core"},
    "token": {"core"},
    "log": {"core"},
    "ratelimit": {"core", "log"},
    "pg": {"core", "log"},
    "stores": {"core", "log", "pg", "ratelimit", "token"},
    # prodready/jansson.h: the json_t forms, on top of the JSON-text API
    "jansson": {"core", "log", "token"},
}
# Which module a header belongs to.
HEADER_MODULE = {
    "core": "core", "alloc": "core", "clock": "core", "common": "core", "encoding": "core", "fork": "core",
    "opaque": "core", "prometheus": "core", "secret": "core", "version": "core", "password": "password", "argon2_core": "password", "blamka_simd": "password", "token": "token",
    "token_store": "token", "token_revocations": "token", "ratelimit": "ratelimit",
    "log": "log", "log_sink": "log", "pg": "pg", "stores": "stores", "jansson": "jansson",
}
INCLUDE = re.compile(r'#include "(prodready|internal)/([a-z_]+)\.h"')


def header_deps(kind, name, seen):
    """The modules a header pulls in, itself and what it includes."""
    if (kind, name) in seen:
        return set()
    seen.add((kind, name))
    mods = {HEADER_MODULE[name]}
    path = ROOT / ("include/prodready" if kind == "prodready" else "lib/internal") / f"{name}.h"
    if not path.exists():  # generated at build time (version.h)
        path = path.with_suffix(".h.in")
    for m in INCLUDE.finditer(path.read_text()):
        mods |= header_deps(m.group(1), m.group(2), seen)
    return mods


def test_every_source_is_in_a_module_folder():
    loose = sorted(p.name for p in (ROOT / "lib").glob("*.c"))
    assert loose == [], f"sources outside a module folder: {loose}"
    folders = {p.name for p in (ROOT / "lib").iterdir() if p.is_dir()} - {"internal"}
    assert folders == set(ALLOWED), folders


def test_dependencies_point_one_way():
    bad = []
    for module, allowed in ALLOWED.items():
        for src in sorted((ROOT / "lib" / module).glob("*.c")):
            for m in INCLUDE.finditer(src.read_text()):
                used = header_deps(m.group(1), m.group(2), set()) - {module}
                if used - allowed:
                    bad.append(f"{src.relative_to(ROOT)} includes {m.group(0)} ({sorted(used - allowed)})")
    assert bad == [], "\n".join(bad)


def test_the_checker_sees_a_wrong_way_include(tmp_path):
    # log reaching into token (as its redactor once did) is reported.
    text = '#include "prodready/token.h"\n'
    used = set()
    for m in INCLUDE.finditer(text):
        used |= header_deps(m.group(1), m.group(2), set())
    assert used - ALLOWED["log"] - {"log"} == {"token"}
