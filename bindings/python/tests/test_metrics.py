"""Each object's counters as Prometheus text, read back with the text format's rules."""
import time

import pytest

import prodready as p


def samples(text):
    """{name{labels}: value} of every sample line; HELP/TYPE lines checked to
    come before their samples."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            name = key.split("{")[0]
            family = next((name[:-len(sfx)] for sfx in ("_bucket", "_sum", "_count")
                           if name.endswith(sfx) and name[:-len(sfx)] in typed), name)
            assert family in typed, line
            out[key] = float(value)
    return out


def test_in_memory_objects():
    h = p.PasswordHasher(time_cost=1, memory_cost=1024)
    h.hash("pw")
    assert samples(h.prometheus())["prodready_password_hashes_total"] == 1
    assert "svc_hashes_total" in samples(h.prometheus("svc_"))
    with pytest.raises(p.InvalidInput):
        h.prometheus("bad prefix")
    h.close()
    with pytest.raises(p.InvalidInput):
        h.prometheus()

    lim = p.Limiter([p.Rule("ip", 1, 60)])
    lim.check("k")
    assert samples(lim.prometheus())['prodready_ratelimit_keys{rule="ip"}'] == 1

    guard = p.LoginGuard()
    assert samples(guard.prometheus())['prodready_login_lockouts_total{kind="account"}'] == 0

    lines = []
    log = p.Logger(sink=lines.append)
    log.info("hello")
    assert samples(log.prometheus())['prodready_log_lines_total{level="info"}'] == 1
    log.close()

    rev = p.Revocations()
    rev.revoke("jti-1", time.time() + 60)
    assert samples(rev.prometheus())["prodready_token_revocations_entries"] == 1


def test_pool_and_shared_limiter(pg_conninfo):
    pool = p.Pool(pg_conninfo, max_size=2)
    try:
        pool.migrate_stores()
        text = pool.prometheus("app_db_")
        assert samples(text) and all(k.startswith("app_db_") for k in samples(text))
        lim = p.Limiter([p.Rule("ip", 5, 60)], pool=pool)
        lim.check("k")
        assert samples(lim.prometheus())["prodready_ratelimit_pg_failures_total"] == 0
        del lim
    finally:
        pool.close()
