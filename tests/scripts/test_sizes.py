"""One naming rule for constants across the public headers: PRD_X_SIZE is
a caller's buffer (NUL included) and has a function prd_x_size() for
bindings; no buffer size hides under another name."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADERS = sorted((ROOT / "include" / "prodready").glob("*.h"))


def test_every_size_macro_has_a_function():
    missing = []
    for h in HEADERS:
        text = h.read_text()
        for m in re.finditer(r"^#define (PRD_(\w+)_SIZE) ", text, re.M):
            fn = f"prd_{m.group(2).lower()}_size"
            if not re.search(rf"PRD_API size_t {fn}\(void\);", text):
                missing.append(f"{h.name}: {m.group(1)} has no {fn}(void)")
    assert missing == []


def test_no_buffer_size_is_named_max():
    """A _MAX macro is a limit on an input; the headers never tell a caller
    to size a buffer by one (the old PRD_PASERK_MAX + 1 spelling)."""
    offenders = []
    for h in HEADERS:
        for line in h.read_text().splitlines():
            if line.startswith("#define PRD_"):
                continue  # a _SIZE defined from its limit is the rule itself
            for m in re.finditer(r"PRD_\w+_MAX\s*\+\s*1|\[PRD_\w+_MAX\]", line):
                offenders.append(f"{h.name}: {m.group(0)}")
    assert offenders == []
