"""Man pages: prodready(1) and prodready-<module>(3), built by scdoc at
build time and installed by meson install. A module page is generated
from its header, so it must name every public function and macro."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PRODREADY", ROOT / "build" / "tools" / "prodready")).parents[1]
MODULES = ["core", "password", "token", "ratelimit", "pg", "log", "jansson"]


def troff_text(path):
    """The words of a troff page, with scdoc's escapes undone."""
    return path.read_text().replace("\\&", "").replace("\\fB", "").replace("\\fR", "") \
        .replace("\\fI", "").replace("\\\\", "\\").replace("\\-", "-").replace("\\(aq", "'")


def test_every_page_is_built():
    for page in ["prodready.1"] + [f"prodready-{m}.3" for m in MODULES]:
        p = BUILD / "man" / page
        assert p.is_file(), page
        assert re.search(r"^\.TH ", p.read_text(), re.M), page


def test_module_pages_name_every_function_and_macro():
    for m in MODULES:
        header = (ROOT / "include" / "prodready" / f"{m}.h").read_text()
        page = troff_text(BUILD / "man" / f"prodready-{m}.3")
        names = re.findall(r"PRD_API[^;(]*?\b(prd_\w+)\s*\(", header)
        names += re.findall(r"^#define (PRD_[A-Z0-9_]+)", header, re.M)
        assert names, m
        missing = [n for n in names if n not in page and not n.endswith("_H")]
        assert missing == [], (m, missing)


def test_command_page_covers_every_command():
    page = troff_text(BUILD / "man" / "prodready.1")
    for cmd in ["version", "keygen", "password hash", "password verify", "password needs-rehash",
                "token issue", "token verify", "ratelimit replay", "ratelimit check", "log scrub",
                "db migrate", "--key-file", "--key-env", "--allow-empty", "EXIT STATUS"]:
        assert cmd in page, cmd
    version = subprocess.run([str(BUILD / "tools" / "prodready"), "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[-1]
    assert f"libprodready {version}" in page


def test_pages_are_installed(tmp_path):
    subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet", "--destdir",
                    str(tmp_path)], check=True, capture_output=True)
    man1 = list(tmp_path.rglob("man1/prodready.1"))
    man3 = sorted(p.name for p in tmp_path.rglob("man3/prodready-*.3"))
    assert len(man1) == 1
    assert man3 == sorted(f"prodready-{m}.3" for m in MODULES)
