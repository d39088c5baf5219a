"""Opaque sessions, single-use and refresh tokens, in memory and in PostgreSQL."""
import pytest

import prodready as p


@pytest.fixture(params=["memory", "postgres"])
def sessions(request):
    if request.param == "memory":
        store = p.TokenStore.memory(1000)
    else:
        pool = p.Pool(request.getfixturevalue("pg_conninfo"), max_size=2)
        pool.migrate_stores()
        assert pool.migrate_stores() == 0  # idempotent
        store = p.TokenStore.postgres(pool)
    return p.Sessions(store, "sess")


def test_session_lifecycle(sessions):
    t = sessions.create("user-42")
    assert t.startswith("sess_")
    assert sessions.validate(t) == "user-42"
    t2 = sessions.rotate(t)
    with pytest.raises(p.InvalidToken):
        sessions.validate(t)
    assert sessions.validate(t2) == "user-42"
    sessions.revoke(t2)
    with pytest.raises(p.InvalidToken):
        sessions.validate(t2)
    with pytest.raises(p.InvalidToken):
        sessions.validate("sess_not-a-token")
    a, b = sessions.create("u7"), sessions.create("u7")
    assert sessions.revoke_subject("u7") >= 2
    for x in (a, b):
        with pytest.raises(p.InvalidToken):
            sessions.validate(x)


def test_single_use_and_refresh(sessions):
    r = sessions.issue_single_use("reset", "user-1", ttl=600, binding="hash-v1")
    assert sessions.consume_single_use("reset", r, binding="hash-v1") == "user-1"
    with pytest.raises(p.InvalidToken):
        sessions.consume_single_use("reset", r, binding="hash-v1")  # once only
    # a changed binding (the password changed) kills the link, and that consumes it
    r2 = sessions.issue_single_use("reset", "user-1", ttl=600, binding="hash-v1")
    with pytest.raises(p.InvalidToken):
        sessions.consume_single_use("reset", r2, binding="hash-v2")
    with pytest.raises(p.InvalidToken):
        sessions.consume_single_use("reset", r2, binding="hash-v1")
    first = sessions.issue_refresh("user-2")
    second, who = sessions.rotate_refresh(first)
    assert who == "user-2" and second != first
    with pytest.raises(p.InvalidToken) as e:
        sessions.rotate_refresh(first)  # reuse: the family dies
    assert e.value.reused is True
    with pytest.raises(p.InvalidToken):
        sessions.rotate_refresh(second)
