//! What the integration tests share: the repository's paths, the official
//! vectors, the C command, the Python binding and the test database.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

pub fn build_dir() -> PathBuf {
    match std::env::var_os("PRODREADY") {
        Some(cli) => PathBuf::from(cli).parent().and_then(|p| p.parent()).expect("build dir").to_path_buf(),
        None => repo().join("build"),
    }
}

/// The C command of the build tree this crate was linked against.
pub fn c_cli() -> PathBuf {
    std::env::var_os("PRODREADY").map(PathBuf::from).unwrap_or_else(|| repo().join("build/tools/prodready"))
}

pub fn vectors() -> PathBuf {
    std::env::var_os("PRD_VECTORS_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/vectors"))
}

pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("wait")
}

pub fn c(args: &[&str], stdin: &[u8]) -> Output {
    run(Command::new(c_cli()).args(args), stdin)
}

/// /usr/bin/python3 with the Python binding on its path, on the same library.
pub fn python(script: &str, stdin: &[u8]) -> Output {
    let lib = build_dir().join("lib/libprodready.so.1");
    run(
        Command::new("/usr/bin/python3")
            .args(["-c", script])
            .env("PYTHONPATH", repo().join("bindings/python"))
            .env("PRODREADY_LIBRARY", lib),
        stdin,
    )
}

pub fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The fields of every test of a vector file, each as UTF-8 text (None for
/// a JSON null or a missing field). JSON is read by Python's parser: the
/// crate has no JSON parser and takes no crates.
pub fn vector_rows(file: &str, fields: &[&str]) -> Vec<Vec<Option<String>>> {
    let path = vectors().join(file);
    assert!(path.exists(), "official vectors not found at {} (set PRD_VECTORS_DIR)", path.display());
    let script = format!(
        "import json,sys\nfor t in json.load(open({:?}))['tests']:\n    print('\\t'.join('~' if t.get(f) is None else \
         (json.dumps(t[f]) if isinstance(t[f], bool) else str(t[f])).encode().hex() for f in {:?}))",
        path.to_string_lossy(),
        fields
    );
    let o = run(Command::new("/usr/bin/python3").args(["-c", &script]), b"");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .expect("utf8")
        .lines()
        .map(|l| {
            l.split('\t')
                .map(|f| if f == "~" { None } else { Some(String::from_utf8(unhex(f)).expect("utf8")) })
                .collect()
        })
        .collect()
}

/// The test database of scripts/pg-temp, or None (the test then says it
/// did not run); under PRD_TEST_REQUIRE=1 a missing database fails.
pub fn pg() -> Option<String> {
    match std::env::var("PRD_PG_CONNINFO") {
        Ok(c) if !c.is_empty() => Some(c),
        _ => {
            if std::env::var("PRD_TEST_REQUIRE").as_deref() == Ok("1") {
                panic!("PRD_PG_CONNINFO is not set: run under scripts/pg-temp");
            }
            eprintln!("no PostgreSQL (run under scripts/pg-temp): not run");
            None
        }
    }
}

/// Does `T` implement `Display`? (Inherent methods win over trait methods
/// when their bounds hold: a probe that needs no compile-fail test.)
pub struct Probe<T>(pub std::marker::PhantomData<T>);

pub trait NotDisplay {
    fn is_display(&self) -> bool {
        false
    }
}

impl<T> NotDisplay for Probe<T> {}

impl<T: std::fmt::Display> Probe<T> {
    pub fn is_display(&self) -> bool {
        true
    }
}
