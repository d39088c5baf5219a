//! Statuses, the version check, secrets, clocks and encodings.
mod common;

use common::{NotDisplay, Probe};
use prodready::encoding::*;
use prodready::{Clock, Encoding, Error, Secret, SecretString, Status};
use std::marker::PhantomData;
use std::time::Duration;

#[test]
fn statuses_carry_the_library_names_phrases_and_classes() {
    assert_eq!(Status::Mismatch.code(), 2);
    assert_eq!(Status::Mismatch.name(), "EMISMATCH");
    assert_eq!(Status::from_code(15), Some(Status::BadToken));
    assert_eq!(Status::from_code(0), None);
    assert_eq!(Status::from_code(999), Some(Status::Other(999)));
    assert!(Status::Invalid.is_client_error());
    assert!(!Status::Db.is_client_error());
    for code in 1..=21 {
        let s = Status::from_code(code).expect("status");
        assert_eq!(s.code(), code);
        assert!(s.name().starts_with('E'), "{s:?}");
        assert!(!s.phrase().is_empty());
    }
    let e = Error::with_detail(Status::BadToken, "footer is not canonical base64url");
    assert_eq!(e.to_string(), format!("{}: footer is not canonical base64url", Status::BadToken.phrase()));
}

#[test]
fn the_loaded_library_is_checked() {
    prodready::init().expect("init");
    let (major, _, _) = prodready::version_number();
    assert_eq!(major, prodready::REQUIRED_VERSION.0);
    assert_eq!(
        prodready::version(),
        format!("{}.{}.{}", major, prodready::version_number().1, prodready::version_number().2)
    );
    let out = common::c(&["version"], b"");
    assert_eq!(common::text(&out), format!("prodready {}", prodready::version()));
}

#[test]
fn a_secret_never_prints_and_compares_in_constant_time() {
    let s = Secret::from_bytes(b"hunter2-hunter2-hunter2").expect("secret");
    let debug = format!("{s:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("23"), "length shown: {debug}");
    assert!(!Probe::<Secret>(PhantomData).is_display(), "Secret must not implement Display");
    assert!(!Probe::<SecretString>(PhantomData).is_display(), "SecretString must not implement Display");
    assert!(Probe::<String>(PhantomData).is_display(), "the probe sees Display where it is");
    assert_eq!(s, Secret::from_hex(&hex_encode(b"hunter2-hunter2-hunter2")).expect("hex"));
    assert_ne!(s, Secret::random(23).expect("random"));
    let t = SecretString::from("k4.local.secretvalue".to_string());
    assert!(!format!("{t:?}").contains("secretvalue"));
    assert_eq!(t.expose(), "k4.local.secretvalue");
}

#[test]
fn secrets_load_from_env_and_from_private_files_only() {
    use std::os::unix::fs::PermissionsExt;
    std::env::set_var("PRD_RUST_TEST_SECRET", "00ff00ff\n");
    assert_eq!(Secret::from_env("PRD_RUST_TEST_SECRET", Encoding::Hex).expect("env").len(), 4);
    assert_eq!(Secret::from_env("PRD_RUST_SURELY_UNSET", Encoding::Raw).unwrap_err().status(), Status::NotFound);
    let dir = std::env::temp_dir().join(format!("prd-rust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("pepper");
    std::fs::write(&f, "c2VjcmV0LXNlY3JldA\n").expect("write");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_eq!(Secret::from_file(&f, Encoding::Base64Url).unwrap_err().status(), Status::Permission);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert_eq!(Secret::from_file(&f, Encoding::Base64Url).expect("file").len(), 13);
    assert_eq!(Secret::from_file(dir.join("nope"), Encoding::Raw).unwrap_err().status(), Status::NotFound);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    assert_eq!(Secret::from_bytes(&[]).unwrap_err().status(), Status::Invalid);
    assert_eq!(Secret::from_bytes(&vec![1u8; 4097]).unwrap_err().status(), Status::TooBig);
}

#[test]
fn encodings_are_strict_and_canonical() {
    assert_eq!(hex_encode(b"\x00\xff"), "00ff");
    assert_eq!(hex_decode("00FF").expect("hex"), b"\x00\xff");
    assert_eq!(hex_decode("0").unwrap_err().status(), Status::Invalid);
    assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
    assert_eq!(base64url_decode("-_8").expect("b64"), b"\xfb\xff");
    for bad in ["-_9", "+/8", "-_8=", "-_ 8"] {
        assert_eq!(base64url_decode(bad).unwrap_err().status(), Status::Invalid, "{bad}");
    }
    for n in 0..40usize {
        let data: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
        assert_eq!(base64url_decode(&base64url_encode(&data)).expect("round trip"), data);
        assert_eq!(hex_decode(&hex_encode(&data)).expect("round trip"), data);
    }
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

#[test]
fn rfc3339_reads_what_it_writes() {
    let ns = rfc3339_parse("2026-11-23T09:00:00.25+01:00").expect("parse");
    assert_eq!(rfc3339_format(ns, 3).expect("format"), "2026-11-23T08:00:00.250Z");
    assert_eq!(rfc3339_parse("2026-02-30T00:00:00Z").unwrap_err().status(), Status::Invalid);
    assert_eq!(rfc3339_parse("2026-11-23t08:00:00z").unwrap_err().status(), Status::Invalid);
    assert_eq!(rfc3339_format(0, 2).unwrap_err().status(), Status::Invalid);
}

#[test]
fn a_manual_clock_moves_only_when_told() {
    let c = Clock::manual(1_000_000_000, 5).expect("clock");
    assert_eq!((c.wall_ns(), c.mono_ns()), (1_000_000_000, 5));
    c.advance(Duration::from_millis(2)).expect("advance");
    assert_eq!((c.wall_ns(), c.mono_ns()), (1_002_000_000, 2_000_005));
    c.advance_ns(-2_000_000).expect("wall back");
    assert_eq!((c.wall_ns(), c.mono_ns()), (1_000_000_000, 2_000_005), "monotonic never goes back");
    let other = c.clone();
    other.set_wall_ns(7).expect("set");
    assert_eq!(c.wall_ns(), 7, "clones are one clock");
    assert!(prodready::system_wall_ns() > 1_700_000_000_000_000_000);
}
