"""Every function that returns prd_status warns when its result is
ignored (PRD_NODISCARD), as libsodium's verify functions do."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PRODREADY", ROOT / "build" / "tools" / "prodready")).parents[1]


def compile_c(tmp_path, body, compiler="cc"):
    src = tmp_path / "use.c"
    src.write_text("#include <prodready.h>\n" + body)
    return subprocess.run([compiler, "-std=c11", "-Werror=unused-result", "-c", str(src), "-o",
                           str(tmp_path / "use.o"), f"-I{ROOT / 'include'}", f"-I{BUILD / 'include'}",
                           *subprocess.run(["pkg-config", "--cflags", "jansson", "libpq"],
                                           capture_output=True, text=True).stdout.split()],
                          capture_output=True, text=True)


def test_ignoring_a_verify_fails_to_compile(tmp_path):
    for compiler in ("gcc", "clang"):
        ignored = compile_c(tmp_path, "void f(const prd_password_policy *p, const char *h) {\n"
                                      "    prd_password_verify(p, \"pw\", 2, h);\n}\n", compiler)
        assert ignored.returncode != 0, compiler
        assert "unused-result" in ignored.stderr or "unused result" in ignored.stderr, ignored.stderr
        used = compile_c(tmp_path, "int f(const prd_password_policy *p, const char *h) {\n"
                                   "    return prd_password_verify(p, \"pw\", 2, h) == PRD_OK;\n}\n",
                         compiler)
        assert used.returncode == 0, used.stderr


def test_every_status_function_is_marked():
    unmarked = []
    for h in sorted((ROOT / "include" / "prodready").glob("*.h")):
        for m in re.finditer(r"PRD_API\s+(PRD_NODISCARD\s+)?prd_status\s+(prd_\w+)\s*\(", h.read_text()):
            if not m.group(1):
                unmarked.append(f"{h.name}: {m.group(2)}")
    assert unmarked == []
    count = sum(len(re.findall(r"PRD_API\s+PRD_NODISCARD\s+prd_status", h.read_text()))
                for h in (ROOT / "include" / "prodready").glob("*.h"))
    assert count > 200
