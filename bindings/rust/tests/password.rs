//! Password hashing, against other implementations' hashes and across threads.
mod common;

use prodready::{PasswordPolicy, PasswordStat, RehashReason, Secret, Status};
use std::process::Command;
use std::sync::Arc;

fn low() -> PasswordPolicy {
    let mut p = PasswordPolicy::new().expect("policy");
    p.set_params(1, 1024, 1).expect("params");
    p
}

const BACKENDS: [&str; 7] =
    ["own-avx512", "own-avx2", "own-ssse3", "own-sse2", "own-portable", "libsodium", "libargon2"];

#[test]
fn backend_is_named_and_arenas_can_be_given_back() {
    assert!(BACKENDS.contains(&prodready::password::backend()), "{}", prodready::password::backend());
    let mut p = low();
    p.set_arena_idle(std::time::Duration::ZERO).expect("arena idle");
    p.set_arena_idle(std::time::Duration::from_secs(5)).expect("arena idle");
    let phc = p.hash("pw").expect("hash");
    p.verify(&phc, "pw").expect("verify");
    // Our backend keeps the arena of the last hash (the libraries keep none).
    if prodready::password::backend().starts_with("own-") {
        assert!(p.stat(PasswordStat::ArenaKib) >= 1024);
    }
}

#[test]
fn hash_verify_and_mismatch() {
    let p = low();
    let phc = p.hash("correct horse").expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
    p.verify(&phc, "correct horse").expect("match");
    assert_eq!(p.verify(&phc, "correct horsf").unwrap_err().status(), Status::Mismatch);
    // Passwords are bytes: NUL and invalid UTF-8 are kept, not cut.
    let odd = b"a\0b\xff";
    let h2 = p.hash(odd).expect("hash bytes");
    p.verify(&h2, odd).expect("bytes match");
    assert_eq!(p.verify(&h2, b"a").unwrap_err().status(), Status::Mismatch);
}

#[test]
fn malformed_capped_and_refused_hashes_are_errors_not_mismatches() {
    let p = low();
    assert_eq!(p.verify("$argon2id$garbage", "pw").unwrap_err().status(), Status::Invalid);
    let huge = "$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    assert_eq!(p.verify(huge, "pw").unwrap_err().status(), Status::TooBig);
    let bcrypt = "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
    assert_eq!(p.verify(bcrypt, "pw").unwrap_err().status(), Status::Unsupported);
    assert_eq!(p.verify("has\0nul", "pw").unwrap_err().status(), Status::Invalid);
    assert_eq!(PasswordPolicy::with_preset("nope").unwrap_err().status(), Status::Invalid);
    assert_eq!(low().set_params(0, 1024, 1).unwrap_err().status(), Status::Invalid);
    let long = vec![b'x'; 4097];
    assert_eq!(p.hash(&long).unwrap_err().status(), Status::Invalid);
}

#[test]
fn needs_rehash_says_why_and_upgrade_replaces_the_hash() {
    let weak = low();
    let strong = PasswordPolicy::new().expect("owasp");
    let phc = weak.hash("pw").expect("hash");
    assert_eq!(weak.needs_rehash(&phc).expect("answer"), None);
    assert_eq!(strong.needs_rehash(&phc).expect("answer"), Some(RehashReason::WeakerParams));
    assert_eq!(RehashReason::WeakerParams.to_string(), "weaker params");
    let new = strong.verify_and_upgrade(&phc, "pw").expect("verified").expect("upgraded");
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
    assert_eq!(strong.verify_and_upgrade(&new, "pw").expect("verified"), None);
    assert_eq!(strong.verify_and_upgrade(&phc, "wrong").unwrap_err().status(), Status::Mismatch);
}

#[test]
fn dummy_verification_always_mismatches() {
    let p = low();
    assert_eq!(p.verify_dummy("anything").unwrap_err().status(), Status::Mismatch);
    assert!(p.stat(PasswordStat::Completed) >= 1);
}

#[test]
fn peppers_rotate() {
    let mut p = low();
    p.set_pepper("v1", &Secret::from_bytes(&[7u8; 32]).expect("pepper")).expect("set");
    let phc = p.hash("pw").expect("hash");
    assert!(phc.contains("keyid=v1"), "{phc}");
    p.verify(&phc, "pw").expect("match");
    assert_eq!(low().verify(&phc, "pw").unwrap_err().status(), Status::NotFound);
    let mut q = low();
    q.set_pepper("v2", &Secret::from_bytes(&[8u8; 32]).expect("pepper")).expect("set");
    q.add_retired_pepper("v1", &Secret::from_bytes(&[7u8; 32]).expect("pepper")).expect("retired");
    q.verify(&phc, "pw").expect("retired pepper verifies");
    assert_eq!(q.needs_rehash(&phc).expect("answer"), Some(RehashReason::OtherPepper));
}

#[test]
fn legacy_crypt_hashes_migrate_only_when_allowed() {
    let o = common::python("import crypt; print(crypt.crypt('old pw', crypt.mksalt(crypt.METHOD_SHA512)))", b"");
    let legacy = common::text(&o);
    assert!(legacy.starts_with("$6$"), "{legacy}");
    let mut p = low();
    assert_eq!(p.verify(&legacy, "old pw").unwrap_err().status(), Status::Unsupported);
    p.set_allow_legacy(true).expect("allow");
    p.verify(&legacy, "old pw").expect("legacy match");
    assert_eq!(p.verify(&legacy, "new pw").unwrap_err().status(), Status::Mismatch);
    assert_eq!(p.needs_rehash(&legacy).expect("answer"), Some(RehashReason::LegacyFormat));
}

#[test]
fn hashes_of_other_implementations_verify_here() {
    // The reference implementation's CLI (Debian's argon2 package).
    let o = common::run(
        Command::new("argon2").args(["somesaltsomesalt", "-id", "-t", "2", "-k", "1024", "-p", "1", "-e"]),
        b"reference pw",
    );
    assert!(o.status.success(), "argon2 CLI: {}", String::from_utf8_lossy(&o.stderr));
    let reference = common::text(&o);
    let p = low();
    p.verify(&reference, "reference pw").expect("the reference CLI's hash verifies");
    assert_eq!(p.verify(&reference, "reference pv").unwrap_err().status(), Status::Mismatch);

    // The Python binding's hash here, and this crate's there.
    let o = common::python(
        "import sys, prodready as p; print(p.PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1).hash(sys.stdin.read()))",
        "über pw".as_bytes(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    p.verify(&common::text(&o), "über pw").expect("Python's hash verifies in Rust");
    let ours = p.hash("über pw").expect("hash");
    let o =
        common::python(&format!("import prodready as p; print(p.PasswordHasher().verify({ours:?}, 'über pw'))"), b"");
    assert_eq!(common::text(&o), "True", "{}", String::from_utf8_lossy(&o.stderr));
    // And the C command.
    assert!(common::c(&["password", "verify", &ours], "über pw".as_bytes()).status.success());
}

#[test]
fn one_policy_is_shared_by_threads() {
    let p = Arc::new(low());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                for i in 0..5 {
                    let pw = format!("pw-{t}-{i}");
                    let phc = p.hash(&pw).expect("hash");
                    p.verify(&phc, &pw).expect("match");
                    assert_eq!(p.verify(&phc, "other").unwrap_err().status(), Status::Mismatch);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert!(p.stat(PasswordStat::Completed) >= 60);
    assert_eq!(p.stat(PasswordStat::InFlight), 0);
}
