//! The logger: redaction, fields, children, sinks and threads.
mod common;

use prodready::{info, parse_traceparent, warn, Level, LogCounter, Logger, SecretString, Status, Value};
use std::sync::{Arc, Mutex};

fn captured() -> (Logger, Arc<Mutex<Vec<String>>>) {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut lg = Logger::new().expect("logger");
    let sink = Arc::clone(&lines);
    lg.set_callback(move |l| sink.lock().unwrap().push(l.to_string())).expect("callback");
    (lg, lines)
}

#[test]
fn secrets_are_redacted_by_key_value_and_type() {
    let (lg, lines) = captured();
    let pw = SecretString::from("s3cret-value".to_string());
    lg.info(
        "signup",
        &[
            ("user", "alice".into()),
            ("password", "hunter2".into()),
            ("note", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345".into()),
            ("pin", Value::from(&pw)),
            ("attempt", 2.into()),
            ("ok", true.into()),
            ("ratio", 0.5.into()),
            ("missing", Value::from(None::<&str>)),
            ("status", Status::Limited.into()),
            ("extra", Value::Json(r#"{"api_key":"zzz","n":[1,2]}"#)),
        ],
    );
    let l = lines.lock().unwrap();
    assert_eq!(l.len(), 1);
    let line = &l[0];
    for secret in ["hunter2", "abcdefghijklmnopqrstuvwxyz012345", "s3cret-value", "zzz"] {
        assert!(!line.contains(secret), "{secret} leaked: {line}");
    }
    for shown in [
        r#""user":"alice""#,
        r#""attempt":2"#,
        r#""ok":true"#,
        r#""ratio":0.5"#,
        r#""missing":null"#,
        r#""status":{"code":5,"name":"ELIMITED""#,
        r#""n":[1,2]"#,
        r#""msg":"signup""#,
    ] {
        assert!(line.contains(shown), "{shown} missing: {line}");
    }
    assert!(line.starts_with('{') && line.ends_with('}'));
}

#[test]
fn macros_children_and_traceparents() {
    let (lg, lines) = captured();
    let n = 3u32;
    info!(lg, "hello", user = "bob", n = n);
    warn!(lg, "careful");
    let child = lg.with(&[("request_id", "r-1".into())]).expect("child");
    child.info("inside", &[]);
    let traced = lg.with_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("traced");
    traced.info("traced", &[]);
    assert_eq!(
        lg.with_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").unwrap_err().status(),
        Status::Invalid
    );
    lg.debug("not at info", &[]);
    let l = lines.lock().unwrap();
    assert_eq!(l.len(), 4, "{l:?}");
    assert!(l[0].contains(r#""user":"bob""#) && l[0].contains(r#""n":3"#));
    assert!(l[1].contains(r#""level":"warn""#));
    assert!(l[2].contains(r#""request_id":"r-1""#));
    assert!(l[3].contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    let tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("parse");
    assert_eq!((tp.span_id.as_str(), tp.flags), ("00f067aa0ba902b7", 1));
    assert_eq!(lg.count(LogCounter::Lines(Level::Info)), 3);
}

#[test]
fn a_shared_logger_cannot_be_reconfigured_but_its_level_can_move() {
    let (mut lg, lines) = captured();
    let other = lg.clone();
    assert_eq!(lg.redact_key("employee_id").unwrap_err().status(), Status::Invalid);
    other.set_level(Level::Error).expect("level");
    lg.warn("dropped", &[]);
    assert!(lines.lock().unwrap().is_empty());
    drop(other);
    lg.redact_key("employee_id").expect("configurable again");
    lg.set_level(Level::Info).unwrap();
    lg.info("x", &[("employee_id", "E123".into())]);
    assert!(!lines.lock().unwrap()[0].contains("E123"));
}

#[test]
fn scrubbing_redacts_lines_and_keeps_json_valid() {
    let lg = Logger::new().expect("logger");
    let out = lg.scrub_line(r#"{"secret_key":"hunter2","msg":"ok"}"#).expect("scrub");
    assert!(!out.contains("hunter2") && out.contains(r#""msg":"ok""#), "{out}");
    let mut s = lg.scrubber();
    assert!(s.next_line("-----BEGIN RSA PRIVATE KEY-----").is_ok());
    let body = s.next_line("MIIEowIBAAKCAQEAsecretbody").expect("body");
    assert!(!body.contains("secretbody"), "{body}");
    assert!(lg.redaction_counts().iter().any(|(name, _)| name == "pem_private_key"));
}

#[test]
fn threads_log_whole_lines() {
    let (lg, lines) = captured();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let lg = lg.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    lg.info("tick", &[("thread", t.into()), ("i", i.into()), ("pad", "x".repeat(300).as_str().into())]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let l = lines.lock().unwrap();
    assert_eq!(l.len(), 1000);
    assert!(l.iter().all(|x| x.starts_with('{') && x.ends_with('}') && x.matches("\"msg\"").count() == 1));
}
