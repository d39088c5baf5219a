"""bindings/rust/src/sys.rs declares every function of the public C
headers with the Rust types of its C prototype, and nothing else; the
records it lays out have the sizes docs/ffi.md gives."""
import re

from rust_sys import ROOT, c_prototypes, declared, expected


def test_every_header_function_is_declared_with_its_types():
    want, have = expected(), declared()
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    assert not missing, f"not declared in sys.rs: {missing}"
    assert not extra, f"declared in sys.rs but in no header: {extra}"
    wrong = [(n, want[n], have[n]) for n in sorted(want) if want[n] != have[n]]
    assert not wrong, "declarations that differ from the headers:\n" + "\n".join(
        f"  {n}: header {w}, sys.rs {h}" for n, w, h in wrong)


def test_the_comparison_can_fail():
    """The checker is not blind: a changed parameter type, a missing
    function and an extra one are all seen."""
    text = (ROOT / "bindings" / "rust" / "src" / "sys.rs").read_text()
    changed = text.replace("pub fn prd_init() -> c_int;", "pub fn prd_init() -> usize;")
    assert declared(changed)["prd_init"] != expected()["prd_init"]
    dropped = re.sub(r"\n\s*pub fn prd_free\([^;]*;", "", text)
    assert "prd_free" not in declared(dropped)
    assert len(c_prototypes()) == len(declared(text)) > 300


def test_records_match_the_ffi_table():
    text = (ROOT / "bindings" / "rust" / "src" / "sys.rs").read_text()
    for name in ("prd_rl_decision", "prd_session_info", "prd_pg_migration", "prd_rl_key",
                 "prd_log_field", "prd_login_attempt", "prd_rl_reservation", "prd_log_scrub_state"):
        assert re.search(rf"#\[repr\(C\)\][^\n]*\n(?:#\[derive[^\n]*\n)?pub (struct|union) {name}\b", text), name
