//! The pool and the stores against the real PostgreSQL of scripts/pg-temp.
mod common;

use prodready::{
    Algorithm, Clock, Error, Isolation, Keyring, LimiterConfig, Login, LoginGuard, Migration, Pool, PoolConfig,
    Refresh, Revocations, Sessions, SharedLimiter, Status, TokenStore, TxOptions,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn pool(conninfo: &str) -> Pool {
    let mut cfg = PoolConfig::new(conninfo).expect("config");
    cfg.max_size(8).and_then(|c| c.application_name("prodready-rust-test")).expect("settings");
    Pool::new(&cfg).expect("pool")
}

/// A table of this test's own (tests of one binary run in parallel).
fn table(p: &Pool, name: &str, columns: &str) {
    p.execute(&format!("DROP TABLE IF EXISTS {name}"), &[]).expect("drop");
    p.execute(&format!("CREATE TABLE {name} ({columns})"), &[]).expect("create");
}

#[test]
fn queries_take_parameters_and_typed_values_come_back() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    table(&p, "rs_q", "id bigint PRIMARY KEY, name text, score float8, ok bool, data bytea, at timestamptz, u uuid");
    let n = p
        .execute(
            "INSERT INTO rs_q VALUES ($1, $2, $3, $4, $5, '2026-11-23T08:00:00Z', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
            &[&1i64, &"O'Brien; DROP TABLE rs_q", &2.5f64, &true, &b"\x00\x01\xff".as_slice()],
        )
        .expect("insert");
    assert_eq!(n, 1);
    p.execute("INSERT INTO rs_q (id, name) VALUES ($1, $2)", &[&2i64, &None::<&str>]).expect("null");
    let rows = p.query("SELECT * FROM rs_q ORDER BY id", &[]).expect("select");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.columns()[..3], ["id", "name", "score"]);
    let r = rows.get(0).unwrap();
    assert_eq!(r.i64("id").unwrap(), Some(1));
    assert_eq!(r.str("name").unwrap(), Some("O'Brien; DROP TABLE rs_q"), "a parameter, never SQL");
    assert_eq!(r.f64(2).unwrap(), Some(2.5));
    assert_eq!(r.bool("ok").unwrap(), Some(true));
    assert_eq!(r.bytea("data").unwrap(), Some(vec![0, 1, 255]));
    assert_eq!(r.timestamp_us("at").unwrap(), Some(1_795_420_800_000_000));
    assert_eq!(r.uuid("u").unwrap().unwrap()[0], 0xa0);
    let r2 = rows.get(1).unwrap();
    assert_eq!(r2.str("name").unwrap(), None);
    assert_eq!(r2.i64("score").unwrap(), None);
    assert_eq!(r.i64("name").unwrap_err().status(), Status::Invalid, "text is not an integer");
    assert_eq!(r.str("nope").unwrap_err().status(), Status::Invalid);
    assert!(rows.get(2).is_none());
    assert_eq!(rows.iter().count(), 2);
    let e = p.execute("INSERT INTO rs_q (id, name) VALUES ($1, $2)", &[&3i64, &"a\0b"]).unwrap_err();
    assert_eq!(e.status(), Status::Invalid, "{e}");
}

#[test]
fn database_errors_carry_status_and_sqlstate() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    table(&p, "rs_e", "id int PRIMARY KEY");
    p.execute("INSERT INTO rs_e VALUES (1)", &[]).unwrap();
    let e = p.execute("INSERT INTO rs_e VALUES (1)", &[]).unwrap_err();
    assert_eq!((e.status(), e.sqlstate()), (Status::Conflict, Some("23505")));
    assert!(e.is_client_error());
    let e = p.query("SELECT * FROM no_such_table", &[]).unwrap_err();
    assert_eq!((e.status(), e.sqlstate()), (Status::Db, Some("42P01")));
    assert!(e.to_string().contains("no_such_table"), "{e}");
    assert_eq!(p.query("SELECT 1; SELECT 2", &[]).unwrap_err().status(), Status::Db, "one statement only");
    let e = Pool::connect("host=/nonexistent-dir connect_timeout=1").unwrap_err();
    assert!(matches!(e.status(), Status::Db | Status::Timeout), "{e}");
    assert_eq!(PoolConfig::new("host='unterminated").unwrap_err().status(), Status::Invalid);
    let mut cfg = PoolConfig::new(&ci).unwrap();
    let e = cfg.max_size(0).unwrap_err();
    assert!(e.detail().unwrap_or("").contains("max_size"), "{e}");
}

#[test]
fn transactions_commit_roll_back_and_return_the_closure_error() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    table(&p, "rs_t", "id int PRIMARY KEY, v text");
    let n: u64 = p.transaction(|tx| tx.execute("INSERT INTO rs_t VALUES (1, 'a'), (2, 'b')", &[])).expect("commit");
    assert_eq!(n, 2);
    #[derive(Debug)]
    enum AppError {
        Db(Error),
        NotAllowed,
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Db(e)
        }
    }
    let r: Result<(), AppError> = p.transaction(|tx| {
        tx.execute("INSERT INTO rs_t VALUES (3, 'c')", &[])?;
        Err(AppError::NotAllowed)
    });
    assert!(matches!(r, Err(AppError::NotAllowed)), "{r:?}");
    let r: Result<(), AppError> = p.transaction(|tx| {
        tx.execute("INSERT INTO rs_t VALUES (1, 'dup')", &[])?;
        Ok(())
    });
    assert!(matches!(r, Err(AppError::Db(ref e)) if e.status() == Status::Conflict), "{r:?}");
    let count = p.query("SELECT count(*) FROM rs_t", &[]).unwrap().get(0).unwrap().i64(0).unwrap();
    assert_eq!(count, Some(2), "both failed transactions rolled back");

    // A panic inside rolls back and reaches the caller.
    let p2 = p.clone();
    let panicked = std::thread::spawn(move || {
        let _: Result<(), Error> = p2.transaction(|tx| {
            tx.execute("INSERT INTO rs_t VALUES (4, 'p')", &[])?;
            panic!("bug in the closure");
        });
    })
    .join();
    assert!(panicked.is_err());
    assert_eq!(
        p.query("SELECT count(*) FROM rs_t WHERE id = 4", &[]).unwrap().get(0).unwrap().i64(0).unwrap(),
        Some(0)
    );

    // A savepoint's failure is undone alone.
    let r: Result<(), Error> = p.transaction(|tx| {
        tx.execute("INSERT INTO rs_t VALUES (5, 'kept')", &[])?;
        let inner: Result<(), Error> = tx.savepoint(|sp| {
            sp.execute("INSERT INTO rs_t VALUES (1, 'dup')", &[])?;
            Ok(())
        });
        assert_eq!(inner.unwrap_err().status(), Status::Conflict);
        Ok(())
    });
    r.expect("the outer transaction commits");
    assert_eq!(p.query("SELECT v FROM rs_t WHERE id = 5", &[]).unwrap().get(0).unwrap().str(0).unwrap(), Some("kept"));
}

#[test]
fn serializable_transfers_from_threads_are_retried_and_lose_nothing() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    table(&p, "rs_acct", "id int PRIMARY KEY, balance bigint");
    p.execute("INSERT INTO rs_acct SELECT g, 1000 FROM generate_series(1, 4) g", &[]).unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (p, runs) = (p.clone(), Arc::clone(&runs));
            std::thread::spawn(move || {
                let opts = TxOptions::new()
                    .and_then(|o| o.isolation(Isolation::Serializable))
                    .and_then(|o| o.max_attempts(100))
                    .expect("opts");
                for i in 0..15i64 {
                    let (src, dst) = ((t + i) % 4 + 1, (t + i + 1) % 4 + 1);
                    p.transaction_with(&opts, |tx| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let b = tx
                            .query("SELECT balance FROM rs_acct WHERE id = $1", &[&src])?
                            .get(0)
                            .unwrap()
                            .i64(0)?
                            .unwrap();
                        tx.execute("UPDATE rs_acct SET balance = $1 WHERE id = $2", &[&(b - 10), &src])?;
                        tx.execute("UPDATE rs_acct SET balance = balance + 10 WHERE id = $1", &[&dst])?;
                        Ok::<_, Error>(())
                    })
                    .expect("transfer");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let total = p.query("SELECT sum(balance)::bigint FROM rs_acct", &[]).unwrap().get(0).unwrap().i64(0).unwrap();
    assert_eq!(total, Some(4000), "no transfer lost or doubled");
    assert!(runs.load(Ordering::Relaxed) >= 60);
}

#[test]
fn migrations_apply_once_and_refuse_an_edited_one() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    // A set and a table of this run's own: a database reused by a later
    // run has the earlier run's versions recorded.
    let set = format!("rs-test-{}", std::process::id());
    let create = format!("CREATE TABLE rs_m_{0} (id int); INSERT INTO rs_m_{0} VALUES (1)", std::process::id());
    let insert = format!("INSERT INTO rs_m_{} VALUES (2)", std::process::id());
    let m1 = [Migration { version: 1, name: "create", sql: &create }];
    assert_eq!(p.migrate(&set, &m1).expect("first"), 1);
    assert_eq!(p.migrate(&set, &m1).expect("again"), 0, "idempotent");
    let edited = [Migration { version: 1, name: "create", sql: "CREATE TABLE rs_m_other (id bigint)" }];
    let e = p.migrate(&set, &edited).unwrap_err();
    assert_eq!(e.status(), Status::Conflict, "{e}");
    assert!(e.detail().unwrap_or("").contains("checksum differs"), "{e}");
    let m2 = [m1[0], Migration { version: 2, name: "more", sql: &insert }];
    assert_eq!(p.migrate(&set, &m2).expect("second"), 1);
    assert!(p.migrate_stores().expect("stores") <= 16);
    assert_eq!(p.migrate_stores().expect("stores again"), 0);
}

#[test]
fn sessions_in_postgresql_are_shared_by_instances() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let (a, b) = (pool(&ci), pool(&ci));
    a.migrate_stores().expect("schema");
    let sa = Sessions::new(&TokenStore::postgres(&a).expect("store a"), "sess").expect("a");
    let sb = Sessions::new(&TokenStore::postgres(&b).expect("store b"), "sess").expect("b");
    let t = sa.create("pg-user").expect("create on a");
    assert_eq!(sb.validate(&t).expect("seen on b"), "pg-user");
    sb.revoke(&t).expect("revoke on b");
    assert_eq!(sa.validate(&t).unwrap_err().status(), Status::BadToken, "revoked everywhere");
    let r = sa.issue_refresh("pg-user").unwrap();
    assert!(matches!(sb.rotate_refresh(&r).unwrap(), Refresh::Rotated { .. }));
    assert!(matches!(sa.rotate_refresh(&r).unwrap(), Refresh::Reused { .. }), "reuse seen across instances");
    let one = sa.issue_single_use("reset", "pg-user", Duration::from_secs(60), b"h").unwrap();
    assert_eq!(sb.consume_single_use("reset", &one, b"h").unwrap(), "pg-user");
    assert_eq!(sa.consume_single_use("reset", &one, b"h").unwrap_err().status(), Status::BadToken);
}

#[test]
fn a_shared_limit_holds_across_pools_and_threads() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let (a, b) = (pool(&ci), pool(&ci));
    a.migrate_stores().expect("schema");
    let mut cfg = LimiterConfig::new().unwrap();
    cfg.rule("rs-shared", 20, Duration::from_secs(3600), Algorithm::Exact).unwrap();
    let la = Arc::new(SharedLimiter::new(&cfg, &a).expect("a"));
    let lb = Arc::new(SharedLimiter::new(&cfg, &b).expect("b"));
    let key = format!("k-{}", std::process::id());
    let admitted = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let l = if i % 2 == 0 { Arc::clone(&la) } else { Arc::clone(&lb) };
            let (admitted, key) = (Arc::clone(&admitted), key.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    if l.check(&[key.as_str()], 1).expect("check").allowed {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(admitted.load(Ordering::Relaxed), 20, "one limit for both instances");
    let d = la.check(&[key.as_str()], 1).unwrap();
    assert!(!d.allowed);
    assert!(la.headers(&d).iter().any(|(n, v)| *n == "RateLimit" && v.contains("r=0")));
    let (d, r) = la.reserve(&["other-key"], 5).expect("reserve");
    assert!(d.allowed);
    r.expect("reservation").refund().expect("refund");
}

#[test]
fn the_login_guard_in_postgresql_meets_one_account_limit() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let (a, b) = (pool(&ci), pool(&ci));
    a.migrate_stores().expect("schema");
    let account = format!("acct-{}", std::process::id());
    let mut guards = Vec::new();
    for p in [&a, &b] {
        let mut g = LoginGuard::new(1024).expect("guard");
        g.set_limits(1000, Duration::from_secs(3600), 4, Duration::from_secs(900))
            .and_then(|g| g.set_backoff(100, Duration::from_millis(1), Duration::from_millis(1)))
            .and_then(|g| g.set_postgres(p))
            .expect("configure");
        guards.push(g);
    }
    let mut allowed = 0;
    for i in 0..12 {
        let g = &guards[i % 2];
        let source = format!("10.0.0.{i}");
        if let Login::Allowed(att) = g.check(account.as_bytes(), source.as_bytes()).expect("check") {
            allowed += 1;
            att.failure().expect("failure");
        }
    }
    assert_eq!(allowed, 4, "four failures per account across both instances");
}

#[test]
fn a_revocation_in_one_instance_reaches_the_other() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let (a, b) = (pool(&ci), pool(&ci));
    a.migrate_stores().expect("schema");
    let (ra, rb) = (Revocations::postgres(&a).unwrap(), Revocations::postgres(&b).unwrap());
    rb.set_refresh(Duration::from_millis(10), Duration::from_secs(30)).unwrap();
    let jti = format!("jti-{}", std::process::id());
    rb.check(&jti).expect("not revoked");
    ra.revoke_jti(&jti, prodready::system_wall_ns() + 60_000_000_000).expect("revoke");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(rb.check(&jti).unwrap_err().status(), Status::BadToken);
    let _ = Keyring::new(); // the list plugs into a Verifier as in tests/tokens.rs
}

#[test]
fn copy_streams_and_rows_arrive_one_at_a_time() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    table(&p, "rs_copy", "id int, v text");
    let c = p.acquire().expect("acquire");
    let chunks: Vec<Vec<u8>> = (0..100).map(|i| format!("{i}\tv{i}\n").into_bytes()).collect();
    assert_eq!(c.copy_in("COPY rs_copy FROM STDIN", chunks.iter().map(Vec::as_slice)).expect("copy in"), 100);
    let mut out = Vec::new();
    assert_eq!(
        c.copy_out("COPY (SELECT * FROM rs_copy ORDER BY id) TO STDOUT", |b| out.extend_from_slice(b))
            .expect("copy out"),
        100
    );
    assert!(out.starts_with(b"0\tv0\n1\tv1\n"));
    let mut sum = 0i64;
    let rows = c
        .query_each("SELECT id FROM rs_copy", &[], |r| {
            sum += r.i64(0)?.unwrap_or(0);
            Ok(())
        })
        .expect("each");
    assert_eq!((rows, sum), (100, 4950));
    let stopped = c.query_each("SELECT id FROM rs_copy", &[], |_| Err(Error::new(Status::Limited)));
    assert_eq!(stopped.unwrap_err().status(), Status::Limited);
}

#[test]
fn listeners_hear_notifications() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let p = pool(&ci);
    let heard: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let h = Arc::clone(&heard);
    let l = prodready::Listener::new(&PoolConfig::new(&ci).unwrap(), move |n| {
        if let Some(n) = n {
            h.lock().unwrap().push((n.channel.to_string(), n.payload.to_string()));
        }
    })
    .expect("listener");
    l.listen("rs_chan").expect("listen");
    p.acquire().unwrap().notify("rs_chan", "hello").expect("notify");
    for _ in 0..1000 {
        if !heard.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(heard.lock().unwrap().as_slice(), &[("rs_chan".to_string(), "hello".to_string())]);
}

#[test]
fn deadlines_bound_every_wait() {
    let ci = match common::pg() {
        Some(ci) => ci,
        None => return,
    };
    let mut cfg = PoolConfig::new(&ci).unwrap();
    cfg.max_size(1)
        .and_then(|c| c.acquire_timeout(Duration::from_millis(100)))
        .and_then(|c| c.query_timeout(Duration::from_millis(300)))
        .unwrap();
    let p = Pool::new(&cfg).expect("pool");
    let held = p.acquire().expect("the only connection");
    let t0 = std::time::Instant::now();
    assert_eq!(p.acquire().unwrap_err().status(), Status::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(5));
    drop(held);
    assert_eq!(p.query("SELECT pg_sleep(5)", &[]).unwrap_err().status(), Status::Timeout);
    assert!(p.metric(prodready::pg::Metric::ACQUIRE_TIMEOUTS) >= 1);
    assert!(p.prometheus("prd_pg").unwrap().contains("prd_pg"));
    p.close(Duration::from_secs(1)).expect("close");
    assert_eq!(p.acquire().unwrap_err().status(), Status::Closed);
    let _ = Clock::manual(0, 0);
}
