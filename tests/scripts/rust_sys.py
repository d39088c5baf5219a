"""What the Rust binding's raw declarations (bindings/rust/src/sys.rs) must
say for every function of the public C headers: the C prototypes read from
include/prodready/*.h and their Rust types. test_rust_sys.py compares the two,
so a header change that the declarations miss fails the suite (the
declarations are written by hand: no bindgen offline)."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADERS = ["core", "password", "token", "ratelimit", "log", "pg"]  # jansson.h: C only

SCALARS = {
    "void": "()", "int": "c_int", "unsigned": "c_uint", "long": "c_long", "double": "f64",
    "size_t": "usize", "int64_t": "i64", "uint64_t": "u64", "uint32_t": "u32",
    "int32_t": "i32", "uint8_t": "u8", "char": "c_char", "unsigned char": "u8",
}


def c_prototypes():
    """(name, return type, [parameter types]) for every PRD_API function."""
    out = []
    for h in HEADERS:
        text = (ROOT / "include" / "prodready" / f"{h}.h").read_text()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for m in re.finditer(r"PRD_API\b([^;{]*?);", text, re.S):
            proto = " ".join(m.group(1).split()).replace("PRD_NODISCARD ", "")
            fm = re.match(r"(.*?)\b(prd_\w+)\s*\((.*)\)$", proto)
            ret, name, params = fm.group(1).strip(), fm.group(2), fm.group(3).strip()
            args = [] if params in ("void", "") else [p.strip() for p in params.split(",")]
            out.append((name, ret, args))
    return out


def split_param(param):
    """'const char *name' -> ('const char *', 'name'); 'uint8_t out[N]' ->
    ('uint8_t *', 'out'); '...' -> ('...', None)."""
    if param == "...":
        return param, None
    m = re.match(r"(.*?)(\w+)\s*(\[[^\]]*\])?$", param)
    ctype = m.group(1).strip() + (" *" if m.group(3) else "")
    return ctype, m.group(2)


def rust_type(ctype):
    ctype = ctype.replace("struct ", "").strip()
    if ctype == "...":
        return "..."
    stars = ctype.count("*")
    # pointer constness from the left: "const char *const *" is *const *const c_char
    parts = [p.strip() for p in ctype.split("*")]
    base = parts[0]
    const_base = base.startswith("const ")
    base = base.replace("const ", "").strip()
    rust = SCALARS.get(base, base)
    if base == "void" and stars:
        rust = "c_void"
    if base.startswith("prd_") and base not in OPAQUE_OR_RECORD and not stars:
        rust = "c_int"                 # enums (prd_status among them) are int
    if base.startswith("prd_") and base not in OPAQUE_OR_RECORD and stars:
        rust = "c_int"
    quals = [const_base] + [p.startswith("const") for p in parts[1:-1]]
    for i in range(stars):
        rust = ("*const " if quals[i] else "*mut ") + rust
    return rust


def _opaque_and_records():
    names = set()
    for h in HEADERS:
        text = (ROOT / "include" / "prodready" / f"{h}.h").read_text()
        names.update(re.findall(r"typedef struct (prd_\w+)", text))
        names.update(re.findall(r"\bstruct (prd_\w+)\s*\*", text))
    return names


OPAQUE_OR_RECORD = _opaque_and_records()
FN_TYPES = {"prd_login_lockout_fn", "prd_log_sink_fn", "prd_pg_row_fn", "prd_pg_copy_fn",
            "prd_pg_notify_fn", "prd_pg_async_fn", "prd_pg_async_acquire_fn", "prd_pg_tx_fn"}
OPAQUE_OR_RECORD |= FN_TYPES


def expected():
    """name -> (rust return type, [rust parameter types])."""
    out = {}
    for name, ret, args in c_prototypes():
        r = rust_type(ret)
        out[name] = (r, [rust_type(split_param(a)[0]) for a in args])
    return out


def declared(text=None):
    """name -> (return type, [parameter types]) as sys.rs declares them."""
    if text is None:
        text = (ROOT / "bindings" / "rust" / "src" / "sys.rs").read_text()
    text = re.sub(r"//[^\n]*", "", text)
    out = {}
    for m in re.finditer(r"\bpub fn (prd_\w+)\s*\((.*?)\)\s*(?:->\s*([^;]+))?;", text, re.S):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        types = [p if p == "..." else p.split(":", 1)[1].strip() for p in params]
        out[m.group(1)] = ((m.group(3) or "()").strip(), [" ".join(t.split()) for t in types])
    return out


def draft():
    """The declarations in Rust, one per line (used to write sys.rs once)."""
    lines = []
    for name, ret, args in c_prototypes():
        ps = []
        for a in args:
            t, pname = split_param(a)
            if t == "...":
                ps.append("...")
                continue
            if pname in ("type", "fn", "ref", "mut", "in", "match", "move", "impl"):
                pname += "_"
            ps.append(f"{pname}: {rust_type(t)}")
        r = rust_type(ret)
        tail = "" if r == "()" else f" -> {r}"
        lines.append(f"    pub fn {name}({', '.join(ps)}){tail};")
    return "\n".join(lines)


if __name__ == "__main__":
    print(draft())
