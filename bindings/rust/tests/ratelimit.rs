//! Limiters, reservations, headers and the login guard, on manual clocks.
mod common;

use prodready::{
    Algorithm, Clock, Limiter, LimiterConfig, Lockout, LockoutKind, Login, LoginCounter, LoginGuard, Status,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn limiter(limit: u64, window: Duration, clock: &Clock) -> Limiter {
    let mut cfg = LimiterConfig::new().expect("config");
    cfg.rule("per-ip", limit, window, Algorithm::Exact).and_then(|c| c.clock(clock)).expect("rule");
    Limiter::new(&cfg).expect("limiter")
}

#[test]
fn an_exact_window_admits_n_and_says_when_to_retry() {
    let clock = Clock::manual(0, 1_000_000_000).expect("clock");
    let lim = limiter(3, Duration::from_secs(60), &clock);
    for left in [2, 1, 0] {
        let d = lim.check(&["10.0.0.1"]).expect("check");
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (3, left));
    }
    let d = lim.check(&["10.0.0.1"]).expect("check");
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Some(Duration::from_secs(60)));
    assert!(lim.check(&["10.0.0.2"]).expect("other key").allowed, "keys are separate");
    let headers = lim.headers(&d);
    assert_eq!(headers[0], ("RateLimit-Policy", "\"per-ip\";q=3;w=60".to_string()));
    assert_eq!(headers[1], ("RateLimit", "\"per-ip\";r=0;t=60".to_string()));
    assert_eq!(headers[2], ("Retry-After", "60".to_string()));
    let body = lim.problem_json(&d).expect("problem body");
    assert!(body.contains("violated-policies"), "{body}");
    assert_eq!(lim.problem_json(&lim.peek(&["10.0.0.9"], 1).expect("peek")), None);
    clock.advance(Duration::from_secs(60)).expect("advance");
    assert!(lim.check(&["10.0.0.1"]).expect("check").allowed, "the window slid");
    assert_eq!(lim.key_count(0), 2);
}

#[test]
fn bad_input_is_an_error_and_denial_is_not() {
    let clock = Clock::manual(0, 0).expect("clock");
    let lim = limiter(1, Duration::from_secs(1), &clock);
    assert_eq!(lim.check::<&str>(&[]).unwrap_err().status(), Status::Invalid, "one key per rule");
    assert_eq!(lim.check(&["a", "b"]).unwrap_err().status(), Status::Invalid);
    assert_eq!(lim.check(&[vec![0u8; 1025]]).unwrap_err().status(), Status::Invalid);
    assert_eq!(lim.check_cost(&["a"], 0).unwrap_err().status(), Status::Invalid);
    let d = lim.check_cost(&["a"], 2).expect("over the limit is a denial");
    assert!(!d.allowed);
    assert_eq!(d.retry_after, None, "a cost over the limit can never pass");
    let mut cfg = LimiterConfig::new().unwrap();
    assert_eq!(
        cfg.rule("bad name!", 1, Duration::from_secs(1), Algorithm::Exact).unwrap_err().status(),
        Status::Invalid
    );
    assert_eq!(Limiter::new(&cfg).unwrap_err().status(), Status::Invalid, "no rules");
}

#[test]
fn reservations_commit_refund_and_refund_on_panic() {
    let clock = Clock::manual(0, 1_000_000).expect("clock");
    let lim = limiter(2, Duration::from_secs(60), &clock);
    let (d, r) = lim.reserve(&["k"], 1).expect("reserve");
    assert!(d.allowed);
    r.expect("reservation").refund().expect("refund");
    let (_, r) = lim.reserve(&["k"], 2).expect("reserve");
    r.expect("both units").commit().expect("commit");
    let (d, r) = lim.reserve(&["k"], 1).expect("reserve");
    assert!(!d.allowed && r.is_none());

    let lim2 = Arc::new(limiter(1, Duration::from_secs(60), &clock));
    let l = Arc::clone(&lim2);
    let panicked = std::thread::spawn(move || {
        let (_, r) = l.reserve(&["p"], 1).expect("reserve");
        let _held = r.expect("reservation");
        panic!("the work failed");
    })
    .join();
    assert!(panicked.is_err());
    assert!(lim2.check(&["p"]).expect("check").allowed, "a panic refunded the reservation");
}

#[test]
fn threads_sharing_a_limiter_never_exceed_it() {
    let clock = Clock::manual(0, 1_000_000).expect("clock");
    let lim = Arc::new(limiter(1000, Duration::from_secs(3600), &clock));
    let admitted = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lim, admitted) = (Arc::clone(&lim), Arc::clone(&admitted));
            std::thread::spawn(move || {
                for _ in 0..500 {
                    if lim.check(&["shared"]).expect("check").allowed {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(admitted.load(Ordering::Relaxed), 1000, "exactly the limit of 2000 attempts");
}

#[test]
fn the_login_guard_backs_off_and_reports_lockouts() {
    let clock = Clock::manual(0, 1_000_000_000).expect("clock");
    let seen: Arc<Mutex<Vec<Lockout>>> = Arc::default();
    let mut g = LoginGuard::new(1024).expect("guard");
    let s = Arc::clone(&seen);
    g.set_clock(&clock)
        .and_then(|g| g.set_backoff(2, Duration::from_secs(1), Duration::from_secs(60)))
        .and_then(|g| g.on_lockout(move |l| s.lock().unwrap().push(l)))
        .expect("configure");
    for _ in 0..2 {
        match g.check(b"alice", b"203.0.113.7").expect("check") {
            Login::Allowed(a) => a.failure().expect("failure"),
            Login::Denied(d) => panic!("free failures denied: {d:?}"),
        }
    }
    match g.check(b"alice", b"203.0.113.7").expect("check") {
        Login::Denied(d) => {
            assert_eq!(d.rule, 2, "the backoff rule");
            assert_eq!(d.retry_after, Some(Duration::from_secs(1)));
            let h = g.headers(&d);
            assert_eq!(h[2].0, "Retry-After");
        }
        Login::Allowed(_) => panic!("the third attempt must wait"),
    }
    {
        let l = seen.lock().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].kind, l[0].account.as_slice()), (LockoutKind::Backoff, &b"alice"[..]));
        assert_eq!(l[0].source_fingerprint.len(), 16, "a fingerprint, never the address");
    }
    // Another source is not held back by this one's failures.
    match g.check(b"alice", b"198.51.100.1").expect("check") {
        Login::Allowed(a) => a.success().expect("success"),
        Login::Denied(_) => panic!("another source must not wait"),
    }
    clock.advance(Duration::from_secs(1)).expect("advance");
    match g.check(b"alice", b"203.0.113.7").expect("check") {
        Login::Allowed(a) => {
            assert!(a.decision().allowed);
            a.abandon().expect("abandon")
        }
        Login::Denied(d) => panic!("after the wait: {d:?}"),
    }
    assert!(g.count(LoginCounter::Denied) >= 1);
    assert!(g.policy_header().contains("login-source"));
}

#[test]
fn an_unsettled_attempt_counts_as_a_failure() {
    let clock = Clock::manual(0, 1_000_000_000).expect("clock");
    let mut g = LoginGuard::new(64).expect("guard");
    g.set_clock(&clock).and_then(|g| g.set_backoff(1, Duration::from_secs(5), Duration::from_secs(60))).expect("cfg");
    match g.check(b"bob", b"src").expect("check") {
        Login::Allowed(a) => drop(a), // forgotten: the safe side is a failure
        Login::Denied(_) => panic!("first attempt"),
    }
    assert!(matches!(g.check(b"bob", b"src").expect("check"), Login::Denied(_)), "the dropped attempt counted");
    g.unlock(b"bob").expect("unlock");
    assert!(matches!(g.check(b"bob", b"src").expect("check"), Login::Allowed(_)));
}
