"""bindings/node/lib/decls.mjs declares every function of the public C
headers (prd_logv, variadic, is declared but skipped by the loader), with
each one's parameters in number and base type."""
import pathlib
import re

from rust_sys import ROOT, c_prototypes, split_param

DECLS = ROOT / "bindings" / "node" / "lib" / "decls.mjs"
# Declared as void pointers on purpose (docs in decls.mjs): caller storage
# blocks, and buffers the library allocates (read and freed by hand).
OPAQUE_STORAGE = {"prd_rl_reservation", "prd_login_attempt", "prd_log_scrub_state"}


def _base(ctype):
    t = ctype.replace("struct ", "").replace("const", "").replace("*", "").strip()
    return " ".join(t.split())


def node_decls(text=None):
    text = DECLS.read_text() if text is None else text
    out = {}
    for m in re.finditer(r"'([^']*\b(prd_\w+)\((.*?)\))',", text):
        params = [] if m.group(3) in ("void", "") else [p.strip() for p in m.group(3).split(",")]
        out[m.group(2)] = [p.replace("_Out_ ", "").replace("_Inout_ ", "") for p in params]
    return out


def expected():
    return {name: [a for a in args] for name, _ret, args in c_prototypes()}


def test_every_function_is_declared_with_its_parameters():
    want, have = expected(), node_decls()
    assert sorted(set(want) - set(have)) == [], "not declared"
    assert sorted(set(have) - set(want)) == [], "declared but in no header"
    wrong = []
    for name, args in want.items():
        if len(args) != len(have[name]):
            wrong.append(f"{name}: {len(args)} parameters in the header, {len(have[name])} in decls.mjs")
            continue
        for a, b in zip(args, have[name]):
            if a == "...":
                continue
            ca, _ = split_param(a)
            cb, _ = split_param(b)
            ba, bb = _base(ca), _base(cb)
            unsigned_char = ba in ("char", "unsigned char") and ca.count("*") == 2
            if ba != bb and not (bb == "void" and (ba in OPAQUE_STORAGE or unsigned_char)):
                wrong.append(f"{name}: {a!r} vs {b!r}")
    assert not wrong, "\n".join(wrong)


def test_the_check_can_fail():
    text = DECLS.read_text()
    assert "prd_free" not in node_decls(re.sub(r"\n\s*'void prd_free\([^']*',", "", text))
    changed = text.replace("prd_status prd_init(void)", "prd_status prd_init(int x)")
    assert len(node_decls(changed)["prd_init"]) == 1
