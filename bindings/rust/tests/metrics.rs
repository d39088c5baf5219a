//! Every module's counters in the Prometheus text format, through the
//! safe layer: the values follow the objects' use, bad prefixes are errors.
mod common;

use prodready::{
    Algorithm, Clock, Limiter, LimiterConfig, Logger, Login, LoginGuard, PasswordPolicy, Revocations, Status,
};
use std::time::Duration;

#[test]
fn each_module_writes_its_counters() {
    let mut pol = PasswordPolicy::new().expect("policy");
    pol.set_params(1, 1024, 1).expect("params");
    pol.hash("correct horse").expect("hash");
    pol.hash("battery staple").expect("hash");
    let t = pol.prometheus("app_pw_").expect("text");
    assert!(t.contains("# TYPE app_pw_hashes_total counter\napp_pw_hashes_total 2\n"), "{t}");
    assert_eq!(pol.prometheus("bad prefix").unwrap_err().status(), Status::Invalid);

    let clock = Clock::manual(0, 1_000_000_000).expect("clock");
    let mut cfg = LimiterConfig::new().expect("config");
    cfg.rule("per-ip", 1, Duration::from_secs(60), Algorithm::Exact).and_then(|c| c.clock(&clock)).expect("rule");
    let lim = Limiter::new(&cfg).expect("limiter");
    assert!(lim.check(&["10.0.0.1"]).expect("check").allowed);
    assert!(lim.check(&["10.0.0.2"]).expect("check").allowed);
    let t = lim.prometheus("prodready_ratelimit_").expect("text");
    assert!(t.contains("prodready_ratelimit_keys{rule=\"per-ip\"} 2\n"), "{t}");

    let g = LoginGuard::new(64).expect("guard");
    match g.check(b"alice", b"203.0.113.7").expect("check") {
        Login::Allowed(a) => a.failure().expect("failure"),
        Login::Denied(d) => panic!("denied: {d:?}"),
    }
    let t = g.prometheus("prodready_login_").expect("text");
    assert!(t.contains("prodready_login_attempts_total{result=\"allowed\"} 1\n"), "{t}");

    let mut lg = Logger::new().expect("logger");
    lg.set_callback(|_| {}).expect("callback");
    lg.info("one", &[]);
    let t = lg.prometheus("prodready_log_").expect("text");
    assert!(t.contains("prodready_log_lines_total{level=\"info\"} 1\n"), "{t}");

    let rv = Revocations::local().expect("list");
    rv.revoke_jti("jti-1", i64::MAX / 2).expect("revoke");
    let t = rv.prometheus("prodready_token_revocations_").expect("text");
    assert!(t.contains("prodready_token_revocations_entries 1\n"), "{t}");
}
