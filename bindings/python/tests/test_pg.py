"""The pool against a real PostgreSQL: parameters, results, errors, and
transactions that re-run on serialization failures."""
import threading

import pytest

import prodready as p


@pytest.fixture(scope="module")
def pool(pg_conninfo):
    with p.Pool(pg_conninfo, max_size=4, application_name="prd_python_tests") as pl:
        pl.execute("DROP TABLE IF EXISTS py_t, py_acct")
        pl.execute("CREATE TABLE py_t (id int PRIMARY KEY, name text, b bytea, f float8, ok bool)")
        pl.execute("CREATE TABLE py_acct (id int PRIMARY KEY, balance int NOT NULL)")
        yield pl


def test_parameters_and_rows(pool):
    n = pool.execute("INSERT INTO py_t VALUES ($1, $2, $3, $4, $5)", 1, "über; DROP TABLE py_t --",
                     b"\x00\xff", 0.25, True)
    assert n == 1
    row = pool.fetch_one("SELECT id, name, encode(b, 'hex') AS hex, f, ok FROM py_t WHERE id = $1", 1)
    assert row == {"id": "1", "name": "über; DROP TABLE py_t --", "hex": "00ff", "f": "0.25",
                   "ok": "t"}
    pool.execute("INSERT INTO py_t (id) VALUES ($1)", 2)
    rows = pool.fetch("SELECT id, name FROM py_t ORDER BY id")
    assert rows == [{"id": "1", "name": "über; DROP TABLE py_t --"}, {"id": "2", "name": None}]
    assert pool.fetch_one("SELECT 1 AS x WHERE false") is None
    with pytest.raises(p.InvalidInput):
        pool.execute("SELECT $1", "nul\x00inside")


def test_errors_carry_sqlstate(pool):
    with pytest.raises(p.Conflict) as e:
        pool.execute("INSERT INTO py_t (id) VALUES (1)")
    assert "23505" in str(e.value)
    with pytest.raises(p.ProdreadyError) as e:
        pool.fetch("SELECT * FROM no_such_table")
    assert "42P01" in str(e.value)


def test_transaction_commits_rolls_back_and_reraises(pool):
    pool.execute("INSERT INTO py_acct VALUES (1, 100), (2, 0) ON CONFLICT DO NOTHING")

    @pool.transaction
    def move(tx, amount):
        tx.execute("UPDATE py_acct SET balance = balance - $1 WHERE id = 1", amount)
        tx.execute("UPDATE py_acct SET balance = balance + $1 WHERE id = 2", amount)
        return "moved"

    assert move(10) == "moved"

    @pool.transaction(isolation="repeatable read")
    def fails(tx):
        tx.execute("UPDATE py_acct SET balance = 0")
        raise LookupError("the application changed its mind")

    with pytest.raises(LookupError):
        fails()
    total = pool.fetch_one("SELECT sum(balance) AS s, min(balance) AS m FROM py_acct")
    assert total == {"s": "100", "m": "10"}


def test_serialization_failures_rerun_the_function(pool):
    pool.execute("UPDATE py_acct SET balance = 50 WHERE id IN (1, 2)")
    runs = []

    @pool.transaction(isolation="serializable", max_attempts=50)
    def transfer(tx, src, dst):
        runs.append(1)
        bal = int(tx.fetch_one("SELECT balance FROM py_acct WHERE id = $1", src)["balance"])
        tx.execute("UPDATE py_acct SET balance = $1 WHERE id = $2", bal - 1, src)
        tx.execute("UPDATE py_acct SET balance = balance + 1 WHERE id = $1", dst)

    errors = []

    def worker(i):
        try:
            for _ in range(10):
                transfer(1 + i % 2, 2 - i % 2)
        except Exception as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pool.fetch_one("SELECT sum(balance) AS s FROM py_acct")["s"] == "100"  # nothing lost
    assert len(runs) >= 40  # every transfer ran at least once; conflicts ran again


def test_bad_config_names_the_setting(pg_conninfo):
    with pytest.raises(p.InvalidInput) as e:
        p.Pool(pg_conninfo, max_size=0)
    assert "max_size" in str(e.value)
