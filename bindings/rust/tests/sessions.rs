//! Sessions, single-use tokens and refresh families in memory.
mod common;

use prodready::{opaque_digest, opaque_token, Clock, Refresh, SessionKind, Sessions, Status, TokenStore};
use std::sync::Arc;
use std::time::Duration;

fn sessions(clock: &Clock) -> Sessions {
    let mut s = Sessions::new(&TokenStore::memory(1000).expect("store"), "sess").expect("sessions");
    s.set_clock(clock).and_then(|s| s.set_timeouts(Duration::from_secs(60), Duration::from_secs(600))).expect("cfg");
    s
}

#[test]
fn a_session_lives_slides_rotates_and_ends() {
    let clock = Clock::manual(1_800_000_000_000_000_000, 1).expect("clock");
    let s = sessions(&clock);
    let t = s.create("user-1").expect("create");
    assert!(t.starts_with("sess_"), "{t}");
    assert_eq!(s.validate(&t).expect("valid"), "user-1");
    clock.advance(Duration::from_secs(50)).unwrap();
    assert_eq!(s.validate(&t).expect("slid"), "user-1");
    clock.advance(Duration::from_secs(50)).unwrap();
    let t2 = s.rotate(&t).expect("rotate");
    assert_eq!(s.validate(&t).unwrap_err().status(), Status::BadToken, "the old token stops at once");
    assert_eq!(s.validate(&t2).expect("new"), "user-1");
    clock.advance(Duration::from_secs(61)).unwrap();
    assert_eq!(s.validate(&t2).unwrap_err().status(), Status::Expired, "idle timeout");
    let t3 = s.create("user-1").unwrap();
    s.revoke(&t3).expect("logout");
    assert_eq!(s.validate(&t3).unwrap_err().status(), Status::BadToken);
    assert_eq!(s.revoke(&t3).unwrap_err().status(), Status::BadToken);
    assert_eq!(s.validate("sess_garbage").unwrap_err().status(), Status::BadToken);
    assert_eq!(s.create("").unwrap_err().status(), Status::Invalid);
    assert_eq!(s.create(&"x".repeat(257)).unwrap_err().status(), Status::Invalid);
}

#[test]
fn a_subject_lists_and_ends_its_sessions() {
    let clock = Clock::manual(1_800_000_000_000_000_000, 1).expect("clock");
    let s = sessions(&clock);
    let a = s.create("u").unwrap();
    let _b = s.create("u").unwrap();
    let _r = s.issue_refresh("u").unwrap();
    s.create("someone else").unwrap();
    let list = s.list("u").expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|i| i.kind == SessionKind::Refresh).count(), 1);
    assert!(list.iter().all(|i| i.id.len() == 32 && !a.contains(&i.id)));
    assert_eq!(s.revoke_id("someone else", &list[0].id).unwrap_err().status(), Status::NotFound);
    s.revoke_id("u", &list[0].id).expect("revoke by id");
    assert_eq!(s.list("u").unwrap().len(), 2);
    assert!(
        s.revoke_subject("u").expect("everywhere") >= 2,
        "the session and the family (a family may hold more records)"
    );
    assert!(s.list("u").unwrap().is_empty());
}

#[test]
fn single_use_tokens_work_once_and_die_with_their_binding() {
    let clock = Clock::manual(1_800_000_000_000_000_000, 1).expect("clock");
    let s = sessions(&clock);
    let t = s.issue_single_use("reset", "u", Duration::from_secs(900), b"hash-v1").expect("issue");
    assert_eq!(s.consume_single_use("verify", &t, b"hash-v1").unwrap_err().status(), Status::BadToken);
    let t = s.issue_single_use("reset", "u", Duration::from_secs(900), b"hash-v1").unwrap();
    assert_eq!(
        s.consume_single_use("reset", &t, b"hash-v2").unwrap_err().status(),
        Status::BadToken,
        "binding changed"
    );
    let t = s.issue_single_use("reset", "u", Duration::from_secs(900), b"hash-v1").unwrap();
    assert_eq!(s.consume_single_use("reset", &t, b"hash-v1").expect("once"), "u");
    assert_eq!(s.consume_single_use("reset", &t, b"hash-v1").unwrap_err().status(), Status::BadToken);
    let t = s.issue_single_use("reset", "u", Duration::from_secs(900), b"").unwrap();
    clock.advance(Duration::from_secs(901)).unwrap();
    assert_eq!(s.consume_single_use("reset", &t, b"").unwrap_err().status(), Status::Expired);
}

#[test]
fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let clock = Clock::manual(1_800_000_000_000_000_000, 1).expect("clock");
    let s = Arc::new(sessions(&clock));
    let first = s.issue_refresh("u").expect("issue");
    let second = match s.rotate_refresh(&first).expect("rotate") {
        Refresh::Rotated { token, subject } => {
            assert_eq!(subject, "u");
            token
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(s.rotate_refresh(&first).expect("answer"), Refresh::Reused { subject: "u".into() });
    assert_eq!(s.rotate_refresh(&second).unwrap_err().status(), Status::BadToken, "the family is revoked");

    // Of threads presenting one current token at once, exactly one rotates.
    let t = s.issue_refresh("v").unwrap();
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let (s, t) = (Arc::clone(&s), t.clone());
            std::thread::spawn(move || s.rotate_refresh(&t))
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().expect("thread")).collect();
    let rotated = results.iter().filter(|r| matches!(r, Ok(Refresh::Rotated { .. }))).count();
    assert_eq!(rotated, 1, "{results:?}");
}

#[test]
fn opaque_tokens_carry_a_checksum() {
    let (t, digest) = opaque_token("api").expect("token");
    assert!(t.starts_with("api_"));
    assert_eq!(opaque_digest("api", &t).expect("digest"), digest);
    let mut typo = t.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(opaque_digest("api", std::str::from_utf8(&typo).unwrap()).unwrap_err().status(), Status::BadToken);
    assert_eq!(opaque_digest("sess", &t).unwrap_err().status(), Status::BadToken);
}
