"""Limiter, reservations and the login guard from Python."""
import threading

import pytest

import prodready as p


def test_exact_limit_and_headers():
    lim = p.Limiter([p.Rule("ip", 3, 60)])
    seen = [lim.check("10.0.0.1") for _ in range(5)]
    assert [d.allowed for d in seen] == [True, True, True, False, False]
    assert [d.remaining for d in seen[:3]] == [2, 1, 0]
    denied = seen[-1]
    h = denied.headers(lim)
    assert h["RateLimit-Policy"] == '"ip";q=3;w=60'
    assert h["RateLimit"].startswith('"ip";r=0;t=')
    assert int(h["Retry-After"]) >= 1
    assert '"status":429' in denied.problem_json(lim)
    assert "Retry-After" not in seen[0].headers(lim)
    assert lim.check("10.0.0.2").allowed  # another key, its own budget
    assert lim.check(b"\x00\xff").allowed  # keys are bytes


def test_threads_never_exceed_the_limit():
    lim = p.Limiter([p.Rule("global", 500, 60)])
    allowed = []

    def hammer():
        n = 0
        for _ in range(400):
            n += lim.check("k").allowed
        allowed.append(n)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500


def test_several_rules_and_key_errors():
    lim = p.Limiter([p.Rule("user", 2, 60), p.Rule("ip", 10, 60, "counter")])
    assert lim.check(("alice", "10.0.0.1")).allowed
    assert lim.check(("alice", "10.0.0.1")).allowed
    d = lim.check(("alice", "10.0.0.1"))
    assert not d.allowed and d.rule == 0 and d.limit == 2
    with pytest.raises(p.InvalidInput):
        lim.check(("a", "b", "c"))
    with pytest.raises(p.InvalidInput):
        p.Limiter([p.Rule("x", 1, 60, "nope")])
    with pytest.raises(p.InvalidInput):
        p.Limiter([])
    assert p.Limiter([p.Rule("g", 2, 60, "gcra", burst=2)]).check("k").allowed


def test_reservations_commit_and_refund():
    lim = p.Limiter([p.Rule("jobs", 2, 60)])
    with lim.reserve("q") as r:
        assert r.decision.allowed and r.decision.remaining == 1
    with pytest.raises(RuntimeError):
        with lim.reserve("q"):
            raise RuntimeError("the job failed: its unit comes back")
    assert lim.peek("q").remaining == 0  # one kept, one refunded: one left to take
    with lim.reserve("q"):
        pass
    with pytest.raises(p.RateLimited) as e:
        lim.reserve("q")
    assert not e.value.decision.allowed


def test_login_guard_locks_out_and_settles():
    g = p.LoginGuard(64, source_attempts=100, source_window=60, account_failures=3,
                     account_window=600)
    for i in range(3):
        with g.attempt("alice", f"10.0.0.{i}") as a:
            a.failure()
    with pytest.raises(p.RateLimited) as e:
        g.attempt("alice", "10.0.0.99")
    assert e.value.decision.rule == 1 and e.value.decision.retry_after_ms > 0
    assert "RateLimit" in e.value.decision.headers(g)
    g.unlock("alice")
    a = g.attempt("alice", "10.0.0.99")
    a.success()
    with pytest.raises(p.InvalidInput):
        a.failure()  # settled once
    with pytest.raises(KeyError):
        with g.attempt("bob", "10.0.0.5"):
            raise KeyError("the user store failed: abandoned, not a failure")


def test_shared_limit_in_postgres_across_limiters(pg_conninfo):
    """Two limiters on one database (two instances of a service) share one
    limit; the login guard on the pool shares the account's failures."""
    pools = [p.Pool(pg_conninfo, max_size=2) for _ in range(2)]
    pools[0].migrate_stores()
    lims = [p.Limiter([p.Rule("py-shared", 5, 60)], pool=pl) for pl in pools]
    allowed = sum(lims[i % 2].check("client-9").allowed for i in range(12))
    assert allowed == 5
    d = lims[1].check("client-9")
    assert not d.allowed and "RateLimit" in d.headers(lims[1])
    with lims[0].reserve("jobs-1") as r:
        assert r.decision.allowed
    with pytest.raises(ValueError):
        with lims[1].reserve("jobs-2"):
            raise ValueError("refunded")
    assert lims[0].peek("jobs-2").remaining == 4
    guards = [p.LoginGuard(64, source_attempts=100, source_window=60, account_failures=3,
                           account_window=600, pool=pl) for pl in pools]
    for i in range(3):
        with guards[i % 2].attempt("py-erin", f"10.1.0.{i}") as a:
            a.failure()
    with pytest.raises(p.RateLimited):
        guards[1].attempt("py-erin", "10.1.0.77")


def test_local_lease_never_exceeds_the_count(pg_conninfo):
    pool = p.Pool(pg_conninfo, max_size=2)
    pool.migrate_stores()
    lim = p.Limiter([p.Rule("py-leased", 50, 60, "counter")], pool=pool, lease=(5, 5))
    allowed = sum(lim.check("hot-key").allowed for _ in range(80))
    # never over the count; at most one lease's units (5) held back unspent
    assert 45 <= allowed <= 50
    assert lim.local_checks > 0  # some checks skipped the round trip
    with pytest.raises(p.InvalidInput):
        p.Limiter([p.Rule("x", 1, 60)], lease=(1, 1))  # only for a shared limiter
    with pytest.raises(p.InvalidInput):
        p.Limiter([p.Rule("y", 1, 60)], pool=pool, lease=(60, 1))  # over 10 s
