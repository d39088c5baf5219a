"""The redacting logger and the logging.Handler."""
import json
import logging
import os

import prodready as p


def collect(level=p.DEBUG, **kw):
    lines = []
    return lines, p.Logger(sink=lines.append, level=level, **kw)


def test_handler_types_extra_fields_and_redacts():
    lines, lg = collect()
    log = logging.getLogger("prodready.test.handler")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(p.LogHandler(lg))
    log.warning("login failed for %s", "bob",
                extra={"user": "bob", "password": "hunter2", "attempt": 3, "ratio": 0.5,
                       "ok": False, "ctx": {"api_key": "k-123", "ip": "10.0.0.1"},
                       "tags": ["a", 1], "weird": object(), "nan": float("nan")})
    rec = json.loads(lines[-1])
    assert rec["level"] == "warn" and rec["msg"] == "login failed for bob"
    assert rec["logger"] == "prodready.test.handler"
    assert rec["user"] == "bob" and rec["attempt"] == 3 and rec["ratio"] == 0.5
    assert rec["ok"] is False and rec["tags"] == ["a", 1]
    assert rec["password"] == "[REDACTED]" and rec["ctx"]["api_key"] == "[REDACTED]"
    assert rec["ctx"]["ip"] == "10.0.0.1" and rec["nan"] == "nan"
    assert "hunter2" not in lines[-1] and "k-123" not in lines[-1]
    try:
        raise ValueError("password=hunter2 in a message")
    except ValueError:
        log.exception("boom")
    rec = json.loads(lines[-1])
    assert rec["level"] == "error" and "ValueError" in rec["exception"]
    assert "hunter2" not in lines[-1]  # redacted by value inside the traceback text
    log.critical("down")
    assert json.loads(lines[-1])["level"] == "fatal"


def test_levels_and_direct_calls(tmp_path):
    lines, lg = collect(level=p.WARN)
    lg.info("dropped")
    lg.warn("kept", token="v4.local.abcdef", n=2)
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["token"] == "[REDACTED]" and rec["n"] == 2
    lg.set_level(p.DEBUG)
    assert lg.enabled(p.DEBUG)
    path = tmp_path / "app.log"
    flog = p.Logger(sink=str(path), redact_keys=["customer_ref"])
    flog.info("to a file", customer_ref="c-9", user="x")
    flog.close()
    rec = json.loads(path.read_text().splitlines()[0])
    assert rec["customer_ref"] == "[REDACTED]" and rec["user"] == "x"
    r, w = os.pipe()
    fdlog = p.Logger(sink=w)
    fdlog.info("to an fd")
    fdlog.close()
    os.close(w)
    assert b'"msg":"to an fd"' in os.read(r, 65536)
    os.close(r)


def test_a_failing_sink_does_not_break_logging():
    def bad(line):
        raise RuntimeError("sink down")
    lg = p.Logger(sink=bad)
    lg.info("still fine")  # the exception stays in Python, never unwinds into C
