"""The README and the docs name only what exists: every repository path
they mention (in backticks or as a link) is there, every docs page is in
the index, and the pages a packager looks for are present."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "SECURITY.md",
         *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("include/", "lib/", "tools/", "tests/", "bench/", "fuzz/", "examples/", "bindings/",
       "docs/", "scripts/", "man/", "abi/", ".ci/")


def mentioned_paths(page):
    text = page.read_text()
    for m in re.finditer(r"`([^`\s]+)`|\]\(([^)\s#]+)\)", text):
        p = m.group(1) or m.group(2)
        if "://" in p or "<" in p or "*" in p or "$" in p:
            continue  # a URL, a placeholder or a pattern
        p = p.rstrip(".,:;")
        base = page.parent if m.group(2) else ROOT
        if m.group(2) or p.startswith(TOP) or re.fullmatch(r"[A-Z]+\.md", p):
            yield p, (base / p)


def test_every_mentioned_path_exists():
    missing = []
    for page in PAGES:
        for p, full in mentioned_paths(page):
            candidates = [full, ROOT / p]
            # build outputs and options are not repository files
            if p.startswith(("build/", "build-")) or any(c.exists() for c in candidates):
                continue  # build outputs are made by the build, not kept in the repository
            ignored = any(subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", q]).returncode == 0
                          for q in (p, p + "/"))
            if not ignored:  # made at test time (tests/interop/node_modules)
                missing.append(f"{page.relative_to(ROOT)}: {p}")
    assert missing == [], "\n".join(missing)


def test_the_index_lists_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    unlisted = [p.name for p in (ROOT / "docs").glob("*.md")
                if p.name != "README.md" and f"({p.name})" not in index]
    assert unlisted == []


def test_packaging_pages_exist():
    for name in ("README.md", "CHANGELOG.md", "SECURITY.md", "COPYING", "docs/README.md",
                 "docs/getting-started.md", "docs/ffi.md"):
        assert (ROOT / name).is_file(), name
    security = (ROOT / "SECURITY.md").read_text()
    for section in ("Reporting", "scope", "Supported versions"):
        assert section in security
