"""The library as a user gets it: `meson install` into a prefix, a program
using every module built from the installed headers with pkg-config's
flags, linked shared and (pkg-config --static) static, and run."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PRODREADY", ROOT / "build" / "tools" / "prodready")).parents[1]
PROGRAM = ROOT / "tests" / "install" / "every_module.c"


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                    "--destdir", str(dest)], check=True, capture_output=True)
    pcs = list(dest.rglob("prodready.pc"))
    assert len(pcs) == 1, pcs
    pc = pcs[0]
    # Relocate the prefix as a packager would: each of our .pc files' own
    # prefix line (a --define-variable would move libpq's and jansson's too).
    for ours in ("prodready.pc", "prodready-jansson.pc"):
        f = pc.parent / ours
        text = f.read_text()
        old = text.split("prefix=", 1)[1].split("\n", 1)[0]
        root = dest / pathlib.Path(old).relative_to("/")
        f.write_text(text.replace("prefix=" + old, "prefix=" + str(root), 1))
    return root, pc.parent


def pkg_config(pcdir, *args, package="prodready"):
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcdir))
    out = subprocess.run(["pkg-config", *args, package],
                         check=True, capture_output=True, text=True, env=env)
    return out.stdout.split()


def needed(binary):
    out = subprocess.run(["readelf", "-d", str(binary)], check=True, capture_output=True, text=True)
    return [l.split("[", 1)[1].rstrip("]") for l in out.stdout.splitlines() if "(NEEDED)" in l]


def test_installed_names_agree_with_the_version(prefix):
    root, pcdir = prefix
    libdir = pcdir.parent
    version = subprocess.run([str(BUILD / "tools" / "prodready"), "version"], check=True,
                             capture_output=True, text=True).stdout.split()[-1]
    major = version.split(".")[0]
    assert (libdir / f"libprodready.so.{version}").is_file()
    assert os.readlink(libdir / f"libprodready.so.{major}") == f"libprodready.so.{version}"
    out = subprocess.run(["readelf", "-d", str(libdir / f"libprodready.so.{version}")],
                         check=True, capture_output=True, text=True).stdout
    assert f"[libprodready.so.{major}]" in out  # the SONAME
    assert pkg_config(pcdir, "--modversion") == [version]


def test_a_program_using_every_module_links_shared(prefix, tmp_path):
    root, pcdir = prefix
    exe = tmp_path / "every_module"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(PROGRAM), "-o", str(exe),
                    *pkg_config(pcdir, "--cflags", "--libs")], check=True)
    assert "libprodready.so.1" in needed(exe)
    run = subprocess.run([str(exe)], capture_output=True, text=True,
                         env=dict(os.environ, LD_LIBRARY_PATH=str(pcdir.parent)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok ")


def test_a_program_using_every_module_links_static(prefix, tmp_path):
    root, pcdir = prefix
    # Only the archive in the library folder, so the linker cannot pick the
    # shared library: what pkg-config --static lists must be enough.
    static_root = tmp_path / "prefix"
    shutil.copytree(root, static_root, symlinks=True)
    libdir = static_root / pcdir.parent.relative_to(root)
    for so in libdir.glob("libprodready.so*"):
        so.unlink()
    pc = libdir / "pkgconfig" / "prodready.pc"
    pc.write_text(pc.read_text().replace(f"prefix={root}", f"prefix={static_root}", 1))
    flags = pkg_config(libdir / "pkgconfig", "--static", "--cflags", "--libs")
    # Debian's libpq.pc lists static archives Debian does not ship
    # (libpgcommon, libpgport, krb5's): libpq itself links shared. Every
    # flag libprodready's own file contributes stays.
    libpq_static_only = set(pkg_config(libdir / "pkgconfig", "--static", "--libs", package="libpq")) - \
        set(pkg_config(libdir / "pkgconfig", "--libs", package="libpq"))
    own = {f for line in pc.read_text().splitlines() if line.startswith(("Libs:", "Libs.private:"))
           for f in line.split(":", 1)[1].split()}
    flags = [f for f in flags if f not in libpq_static_only or f in own]
    assert "-lcrypt" in flags  # libcrypt: crypt_rn, for legacy hashes
    exe = tmp_path / "every_module_static"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(PROGRAM), "-o", str(exe), *flags],
                   check=True)
    assert not any(n.startswith("libprodready") for n in needed(exe))
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok ")


def test_the_core_headers_need_no_jansson(prefix, tmp_path):
    """prodready.h and every module header compile with a jansson.h that
    cannot be included (first in the include path), and a program using
    them links without jansson's flags: only prodready/jansson.h needs it."""
    root, pcdir = prefix
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "jansson.h").write_text('#error "jansson.h was included"\n')
    cflags = pkg_config(pcdir, "--cflags")
    assert not any("jansson" in f for f in pkg_config(pcdir, "--libs")), "jansson in Libs"
    headers = sorted(p.name for p in (ROOT / "include" / "prodready").glob("*.h")
                     if p.name != "jansson.h")
    for h in ["prodready.h"] + [f"prodready/{n}" for n in headers]:
        src = tmp_path / "use.c"
        src.write_text(f"#include <{h}>\nint main(void) {{ return 0; }}\n")
        p = subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", f"-I{poison}", *cflags, "-c",
                            str(src), "-o", str(tmp_path / "use.o")], capture_output=True, text=True)
        assert p.returncode == 0, (h, p.stderr)
    # The poisoned header is really in the way: the jansson header fails.
    src = tmp_path / "use.c"
    src.write_text("#include <prodready/jansson.h>\nint main(void) { return 0; }\n")
    p = subprocess.run(["cc", "-std=c99", f"-I{poison}", *cflags, "-c", str(src), "-o",
                        str(tmp_path / "use.o")], capture_output=True, text=True)
    assert p.returncode != 0 and "jansson.h was included" in p.stderr


def test_a_program_using_the_jansson_conveniences_links(prefix, tmp_path):
    root, pcdir = prefix
    exe = tmp_path / "with_jansson"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(ROOT / "tests" / "install" / "with_jansson.c"),
                    "-o", str(exe), *pkg_config(pcdir, "--cflags", "--libs", package="prodready-jansson")],
                   check=True)
    assert "libjansson.so.4" in needed(exe)
    run = subprocess.run([str(exe)], capture_output=True, text=True,
                         env=dict(os.environ, LD_LIBRARY_PATH=str(pcdir.parent)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok ")
