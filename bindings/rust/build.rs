//! Link libprodready.so.1: from PRODREADY_LIB_DIR when set (a folder
//! holding libprodready.so), else from `pkg-config --libs prodready`, which
//! finds an installed library or, with
//! PKG_CONFIG_PATH=<build>/meson-uninstalled, an uninstalled build tree;
//! failing both, the repository's own build tree (`../../build/lib`, where
//! README's `meson setup build` puts it), with a warning that says so.
//! Folders outside the system's are also put in the binaries' run path, so
//! tests and examples run against the tree they were linked with.
use std::env;
use std::process::Command;

fn link_dir(dir: &str) {
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}

fn main() {
    println!("cargo:rerun-if-env-changed=PRODREADY_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(dir) = env::var("PRODREADY_LIB_DIR") {
        if !dir.is_empty() {
            link_dir(&dir);
            println!("cargo:rustc-link-lib=dylib=prodready");
            return;
        }
    }
    let out = Command::new("pkg-config").args(["--libs", "prodready"]).output();
    let why = match out {
        Ok(o) if o.status.success() => {
            link_pkg_config(&String::from_utf8_lossy(&o.stdout));
            return;
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("cannot run pkg-config: {e}"),
    };
    let tree = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/lib");
    if tree.join("libprodready.so").exists() {
        let dir = tree.canonicalize().expect("build tree");
        println!(
            "cargo:warning=pkg-config did not find libprodready ({why}); linking the repository's build tree {}",
            dir.display()
        );
        link_dir(&dir.to_string_lossy());
        println!("cargo:rustc-link-lib=dylib=prodready");
        return;
    }
    panic!(
        "libprodready not found ({why}): install it, or set PKG_CONFIG_PATH=<build>/meson-uninstalled \
         or PRODREADY_LIB_DIR=<folder of libprodready.so>"
    );
}

fn link_pkg_config(libs: &str) {
    let mut linked = false;
    for flag in libs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            link_dir(dir);
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
            linked |= lib == "prodready";
        }
    }
    if !linked {
        println!("cargo:rustc-link-lib=dylib=prodready");
    }
}
