//! PASETO v4 and PASERK against the official vectors; issuing and
//! verification with typed rejections; rotation across threads; tokens
//! exchanged with the C command.
mod common;

use prodready::token::v4;
use prodready::{Claims, Clock, IssueOptions, Key, KeyKind, Keyring, Purpose, Status, Verifier};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn official_paseto_v4_vectors() {
    let rows = common::vector_rows(
        "paseto-v4.json",
        &["name", "expect-fail", "key", "public-key", "token", "payload", "footer", "implicit-assertion"],
    );
    assert_eq!(rows.len(), 17);
    let mut checked = 0;
    for r in rows {
        let name = r[0].clone().unwrap();
        let fail = r[1].as_deref() == Some("true");
        let token = r[4].clone().unwrap_or_default();
        let footer = r[6].clone().unwrap_or_default();
        let implicit = r[7].clone().unwrap_or_default();
        let out = if let Some(k) = &r[2] {
            let key = Key::from_hex(KeyKind::Local, k).expect("local key");
            v4::decrypt(&key, &token, None, implicit.as_bytes(), 0)
        } else {
            let key = Key::from_hex(KeyKind::Public, r[3].as_deref().unwrap()).expect("public key");
            v4::verify(&key, &token, None, implicit.as_bytes(), 0)
        };
        if fail {
            let e = out.expect_err(&name);
            assert_eq!(e.status(), Status::BadToken, "{name}");
            assert!(e.detail().is_some(), "{name}: the library's reason");
        } else {
            let d = out.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(String::from_utf8(d.payload).unwrap(), r[5].clone().unwrap(), "{name}");
            assert_eq!(String::from_utf8(d.footer).unwrap(), footer, "{name}");
        }
        checked += 1;
    }
    assert_eq!(checked, 17);
}

#[test]
fn official_paserk_vectors() {
    for (file, kind) in
        [("k4.local.json", KeyKind::Local), ("k4.public.json", KeyKind::Public), ("k4.secret.json", KeyKind::Secret)]
    {
        for r in common::vector_rows(&format!("paserk/{file}"), &["name", "expect-fail", "key", "paserk"]) {
            let name = r[0].clone().unwrap();
            let fail = r[1].as_deref() == Some("true");
            let paserk = r[3].clone().unwrap_or_default();
            let parsed = Key::from_paserk(&paserk);
            if fail {
                let by_hex = r[2].as_deref().map(|k| Key::from_hex(kind, k));
                assert!(parsed.is_err() || matches!(by_hex, Some(Err(_))), "{name} must fail");
                continue;
            }
            let key = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(key.kind(), kind, "{name}");
            assert_eq!(key.to_paserk().expose(), paserk, "{name}");
            let from_hex = Key::from_hex(kind, r[2].as_deref().unwrap()).expect("hex key");
            assert_eq!(from_hex.to_paserk().expose(), paserk, "{name}");
        }
    }
    for (file, kind) in
        [("k4.lid.json", KeyKind::Local), ("k4.pid.json", KeyKind::Public), ("k4.sid.json", KeyKind::Secret)]
    {
        for r in common::vector_rows(&format!("paserk/{file}"), &["name", "expect-fail", "key", "paserk"]) {
            let name = r[0].clone().unwrap();
            if r[1].as_deref() == Some("true") {
                if let Some(k) = &r[2] {
                    if let Ok(key) = Key::from_hex(kind, k) {
                        assert_ne!(Some(key.id()), r[3], "{name} must fail");
                    }
                }
                continue;
            }
            let key = Key::from_hex(kind, r[2].as_deref().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(Some(key.id()), r[3], "{name}");
        }
    }
}

#[test]
fn a_key_never_prints_its_material() {
    let k = Key::generate(KeyKind::Local).expect("key");
    let paserk = k.to_paserk();
    let debug = format!("{k:?}");
    assert!(!debug.contains(&paserk.expose()[9..]), "{debug}");
    assert!(debug.contains(&k.id()));
    assert!(!format!("{paserk:?}").contains(&paserk.expose()[9..]));
}

fn ring(kind: KeyKind) -> (Keyring, Key) {
    let ring = Keyring::new().expect("ring");
    let key = Key::generate(kind).expect("key");
    ring.add(&key, true).expect("add");
    (ring, key)
}

#[test]
fn issue_and_verify_with_typed_rejections() {
    let (ring, _) = ring(KeyKind::Local);
    let clock = Clock::manual(1_800_000_000_000_000_000, 0).expect("clock");
    let mut claims = Claims::new().expect("claims");
    claims
        .ttl(Duration::from_secs(60))
        .and_then(|c| c.string("sub", "alice"))
        .and_then(|c| c.string("iss", "auth"))
        .and_then(|c| c.json("roles", r#"["admin",{"scope":1}]"#))
        .and_then(|c| c.int("n", -5))
        .expect("claims");
    let token = ring
        .issue_with(
            Purpose::Local,
            &claims,
            &IssueOptions { implicit: b"ctx", clock: Some(&clock), ..IssueOptions::default() },
        )
        .expect("issue");
    let mut v = Verifier::new(&ring, Purpose::Local).expect("verifier");
    v.clock(&clock).and_then(|v| v.issuer("auth")).and_then(|v| v.leeway(Duration::ZERO, Duration::ZERO)).expect("cfg");
    let ok = v.verify_with_implicit(&token, b"ctx").expect("valid");
    assert!(ok.claims_json().contains(r#""roles":["admin",{"scope":1}]"#), "{}", ok.claims_json());
    assert!(ok.claims_json().contains(r#""n":-5"#));
    assert_eq!(ok.expiry_ns(), 1_800_000_060_000_000_000);
    assert!(std::str::from_utf8(ok.footer()).unwrap().contains(&ring_kid(&ring, &token)));

    let e = v.verify_with_implicit(&token, b"other").unwrap_err();
    assert_eq!(e.status(), Status::BadToken);
    assert!(e.detail().is_some());
    assert_eq!(v.verify(&format!("{token}x")).unwrap_err().status(), Status::BadToken);
    clock.advance(Duration::from_secs(61)).expect("advance");
    assert_eq!(v.verify_with_implicit(&token, b"ctx").unwrap_err().status(), Status::Expired);
    clock.advance_ns(-120_000_000_000).expect("back");
    assert_eq!(v.verify_with_implicit(&token, b"ctx").unwrap_err().status(), Status::NotYet);

    let mut other_iss = Verifier::new(&ring, Purpose::Local).expect("verifier");
    other_iss.issuer("elsewhere").and_then(|v| v.clock(&clock)).expect("cfg");
    clock.advance(Duration::from_secs(60)).expect("forward");
    assert_eq!(other_iss.verify_with_implicit(&token, b"ctx").unwrap_err().status(), Status::BadToken);
    // No expiry: issuing refuses.
    assert_eq!(ring.issue(Purpose::Local, &Claims::new().unwrap()).unwrap_err().status(), Status::Invalid);
    // Reserved claim names and bad JSON are refused.
    assert_eq!(Claims::new().unwrap().string("exp", "x").unwrap_err().status(), Status::Invalid);
    assert_eq!(Claims::new().unwrap().json("a", "{").unwrap_err().status(), Status::Invalid);
    assert_eq!(Claims::new().unwrap().json("a", r#"{"k":1,"k":2}"#).unwrap_err().status(), Status::Invalid);
}

fn ring_kid(_ring: &Keyring, token: &str) -> String {
    // The footer is the token's last part: base64url of {"kid":"k4.lid..."}.
    let footer = token.rsplit('.').next().unwrap();
    let text = String::from_utf8(prodready::encoding::base64url_decode(footer).unwrap()).unwrap();
    text.split('"').nth(3).unwrap().to_string()
}

#[test]
fn public_tokens_verify_with_the_public_half_only() {
    let (ring, secret) = ring(KeyKind::Secret);
    let mut c = Claims::new().unwrap();
    c.ttl(Duration::from_secs(60)).unwrap();
    let token = ring.issue(Purpose::Public, &c).expect("sign");
    assert!(token.starts_with("v4.public."));
    let verify_ring = Keyring::new().unwrap();
    verify_ring.add(&secret.public_key().expect("public"), false).expect("add public");
    Verifier::new(&verify_ring, Purpose::Public).unwrap().verify(&token).expect("verified");
    assert_eq!(
        Verifier::new(&verify_ring, Purpose::Local).unwrap().verify(&token).unwrap_err().status(),
        Status::BadToken
    );
    assert_eq!(verify_ring.add(&secret.public_key().unwrap(), true).unwrap_err().status(), Status::Invalid);
}

#[test]
fn keys_rotate_while_threads_verify() {
    let (ring, first) = ring(KeyKind::Local);
    let mut c = Claims::new().unwrap();
    c.ttl(Duration::from_secs(600)).unwrap();
    let old_token = ring.issue(Purpose::Local, &c).unwrap();
    let v = Arc::new(Verifier::new(&ring, Purpose::Local).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (v, stop, done, t) = (Arc::clone(&v), Arc::clone(&stop), Arc::clone(&done), old_token.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) || n == 0 {
                    v.verify(&t).expect("the retired key still verifies");
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                n
            })
        })
        .collect();
    // Each rotation happens while verifications go on: wait for some
    // between rotations (threads may start late on a busy machine).
    let mut made = Vec::new();
    for _ in 0..10 {
        let before = done.load(Ordering::Relaxed);
        while done.load(Ordering::Relaxed) < before + 3 {
            std::thread::yield_now();
        }
        let k = Key::generate(KeyKind::Local).unwrap();
        ring.add(&k, true).unwrap();
        made.push((k.id(), ring.issue(Purpose::Local, &c).unwrap()));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        assert!(w.join().expect("thread") > 0);
    }
    for (_, t) in &made {
        v.verify(t).expect("every key of the ring verifies");
    }
    ring.remove(&first.id()).expect("remove");
    assert_eq!(v.verify(&old_token).unwrap_err().status(), Status::BadToken);
    assert_eq!(ring.remove(&first.id()).unwrap_err().status(), Status::NotFound);
    assert_eq!(ring.len(), 10);
}

#[test]
fn tokens_cross_with_the_c_command() {
    let local = common::text(&common::c(&["keygen", "local"], b""));
    let key = Key::from_paserk(&local).expect("C key");
    // C issues, Rust verifies.
    let o = common::c(
        &[
            "token",
            "issue",
            "--purpose",
            "local",
            "--key",
            &local,
            "--ttl",
            "5m",
            "--claim",
            "sub=bob",
            "--implicit",
            "ctx",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ring = Keyring::new().unwrap();
    ring.add(&key, true).unwrap();
    let v = Verifier::new(&ring, Purpose::Local).unwrap();
    let got = v.verify_with_implicit(&common::text(&o), b"ctx").expect("C's token verifies in Rust");
    assert!(got.claims_json().contains(r#""sub":"bob""#));
    // Rust issues, C verifies; and C rejects it with another implicit.
    let mut c = Claims::new().unwrap();
    c.ttl(Duration::from_secs(300)).unwrap().string("sub", "carol").unwrap();
    let ours = ring.issue_with(Purpose::Local, &c, &IssueOptions { implicit: b"ctx", ..Default::default() }).unwrap();
    let o = common::c(&["token", "verify", "--purpose", "local", "--key", &local, "--implicit", "ctx", &ours], b"");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(common::text(&o).contains(r#""sub":"carol""#));
    let o = common::c(&["token", "verify", "--purpose", "local", "--key", &local, &ours], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("rejected: invalid\n"));
    // Public: C signs with its secret key, Rust verifies with the public key.
    let keys = common::text(&common::c(&["keygen", "public"], b""));
    let mut it = keys.split_whitespace();
    let (secret, public) = (it.next().unwrap(), it.next().unwrap());
    let o = common::c(&["token", "issue", "--purpose", "public", "--key", secret, "--ttl", "1m"], b"");
    let pr = Keyring::new().unwrap();
    pr.add(&Key::from_paserk(public).unwrap(), false).unwrap();
    Verifier::new(&pr, Purpose::Public).unwrap().verify(&common::text(&o)).expect("C's public token");
}

#[test]
fn revocation_lists_end_tokens_early() {
    let (ring, _) = ring(KeyKind::Local);
    let list = prodready::Revocations::local().expect("list");
    let mut v = Verifier::new(&ring, Purpose::Local).unwrap();
    v.revocations(&list).unwrap();
    let mut c = Claims::new().unwrap();
    c.ttl(Duration::from_secs(60)).unwrap();
    let t = ring.issue(Purpose::Local, &c).unwrap();
    let ok = v.verify(&t).expect("not revoked yet");
    list.revoke(&ok).expect("revoke");
    let e = v.verify(&t).unwrap_err();
    assert_eq!((e.status(), e.detail()), (Status::BadToken, Some("revoked")));
    assert_eq!(list.len(), 1);

    // On a manual clock: a revocation is kept until a day after the
    // token's expiry, then forgotten.
    let clock = Clock::manual(1_800_000_000_000_000_000, 1).expect("clock");
    let timed = prodready::Revocations::local().expect("list");
    timed.set_clock(&clock).expect("clock");
    timed.revoke_jti("j-1", clock.wall_ns() + 1_000_000_000).expect("revoke");
    assert_eq!(timed.check("j-1").unwrap_err().status(), Status::BadToken);
    timed.check("j-2").expect("another jti");
    clock.advance(Duration::from_secs(2 * 86_400)).expect("advance");
    timed.check("j-1").expect("forgotten a day after the token expired");
}
