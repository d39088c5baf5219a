"""prodready log scrub: JSON lines redacted, text lines scrubbed, nothing dropped."""
import json

import pytest


def scrub(cli, text, *args):
    p = cli("log", "scrub", *args, stdin=text)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def test_json_lines_keys_at_any_depth(cli):
    lines = [
        {"level": "info", "msg": "login", "user": "bob", "password": "hunter2"},
        {"req": {"headers": {"Authorization": "Bearer abc.def.ghi", "Cookie": "sid=1"}}},
        {"items": [{"API_KEY": "k-1"}, {"ok": True}], "n": 3, "x": None},
    ]
    out = scrub(cli, "".join(json.dumps(l) + "\n" for l in lines)).splitlines()
    assert len(out) == 3
    parsed = [json.loads(o) for o in out]
    assert parsed[0]["password"] == "[REDACTED]" and parsed[0]["user"] == "bob"
    assert parsed[1]["req"]["headers"]["Authorization"] == "[REDACTED]"
    assert parsed[1]["req"]["headers"]["Cookie"] == "[REDACTED]"
    assert parsed[2]["items"][0]["API_KEY"] == "[REDACTED]"
    assert parsed[2]["items"][1]["ok"] is True and parsed[2]["n"] == 3 and parsed[2]["x"] is None


@pytest.mark.parametrize("secret,line", [
    ("hunter2", "db connect host=x password=hunter2 dbname=y"),
    ("s3cret", "GET /cb?code=1&token=s3cret HTTP/1.1"),
    ("pa55", "url=postgres://app:pa55@db:5432/x"),
    ("eyJzdWIiOiIxIn0", "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
    ("4111111111111111", "paid with 4111111111111111 today"),
    ("dXNlcjpwYXNz", "Authorization: Basic dXNlcjpwYXNz"),
])
def test_text_lines_scrubbed_not_dropped(cli, secret, line):
    out = scrub(cli, line + "\n")
    assert out.endswith("\n") and out.count("\n") == 1
    assert secret not in out
    assert "[REDACTED]" in out


def test_values_inside_json_strings(cli):
    line = json.dumps({"msg": "retrying with password=topsecret", "dsn": "postgresql://u:pw123@h/db"})
    out = json.loads(scrub(cli, line + "\n"))
    assert "topsecret" not in out["msg"] and "pw123" not in out["dsn"]


def test_rules_file(cli, tmp_path):
    rules = tmp_path / "rules"
    rules.write_text("# extra keys\nemail\nuser.address.street  \n\n")
    line = json.dumps({"email": "a@b.c", "user": {"address": {"street": "Main", "city": "X"}}})
    out = json.loads(scrub(cli, line + "\n", "--rules", str(rules)))
    assert out["email"] == "[REDACTED]"
    assert out["user"]["address"]["street"] == "[REDACTED]"
    assert out["user"]["address"]["city"] == "X"


def test_binary_and_invalid_utf8_lines_survive(cli):
    data = b'{"password":"x","k":"\xff"}\nplain \xfe text\n\n'
    p = cli("log", "scrub", stdin=data)
    assert p.returncode == 0
    assert p.stdout.count(b"\n") == 3
    first = p.stdout.split(b"\n")[0]
    assert b'"x"' not in first and b"[REDACTED]" in first  # invalid UTF-8: scrubbed as text


def test_usage(cli):
    cli.usage_error("log")
    cli.usage_error("log", "tail")
    cli.usage_error("log", "scrub", "--rules")
    cli.usage_error("log", "scrub", "--rules", "/nonexistent/rules")


def test_never_key_blind_and_state_across_lines(cli, tmp_path):
    lines = [
        b'{"secret_key":"hunter2","name":"Jos\xe9"}',                 # Latin-1: not JSON to jansson
        b'{"secret_key":"hunter2","n":123456789012345678901234567890}',  # above 2^64
        b'2024-05-01T10:00:00Z stdout F {"secret_key":"hunter2"}',     # container runtime prefix
        b'["-----BEGIN RSA PRIVATE KEY-----\\nMIIEhunter2"]',           # top-level array
        b'-----BEGIN PRIVATE KEY-----',                                # a key over several lines
        b'MIIEvQhunter2AgEAMA0',
        b'-----END PRIVATE KEY-----',
        b'after',
    ]
    p = cli("log", "scrub", stdin=b"\n".join(lines) + b"\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout.split(b"\n")
    assert len(out) == len(lines) + 1 and out[-1] == b""
    assert b"hunter2" not in p.stdout
    assert json.loads(out[3]) == ["[REDACTED]"]       # valid JSON stays valid
    assert out[7] == b"after"
    rules = tmp_path / "rules"
    rules.write_text("# only these pass\nallow user\n")
    got = scrub(cli, '{"user":"bob","ip":"10.0.0.1"}\n', "--rules", str(rules))
    assert json.loads(got) == {"user": "bob", "ip": "[REDACTED]"}


def test_rules_patterns_and_stats(cli, tmp_path):
    rules = tmp_path / "rules"
    rules.write_text("# the application's own shapes\n"
                     "pattern employee_id \\bEMP-\\d{6}\\b\n"
                     "pattern ticket TCK#[0-9]{4,8}\n"
                     "email\n")
    lines = [json.dumps({"msg": "by EMP-123456, not EMP-1234567", "email": "a@b.c",
                         "note": "TCK#12345 done"}),
             "text EMP-000001 password=hunter2"]
    p = cli("log", "scrub", "--rules", str(rules), "--stats", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().splitlines()
    first = json.loads(out[0])
    assert first["msg"] == "by [REDACTED], not EMP-1234567"
    assert first["email"] == "[REDACTED]" and first["note"] == "[REDACTED] done"
    assert out[1] == "text [REDACTED] password=[REDACTED]"
    stats = json.loads(p.stderr.decode().strip().splitlines()[-1])
    assert stats["redactions"] == {"employee_id": 2, "ticket": 1, "user_key": 1,
                                   "named_secret": 1}
    assert stats["text_lines"] == 1


@pytest.mark.parametrize("line,why", [
    ("pattern x", "not a usable pattern"),
    ("pattern Bad-Name EMP-\\d{6}", "not a usable pattern"),
    ("pattern p ab+", "not a usable pattern"),          # can match 3 characters
    ("pattern p [a-z]{2,999}", "not a usable pattern"),  # a repetition above 256
    ("pattern jwt EMP-\\d{6}", "already taken"),
])
def test_rules_bad_patterns_exit_2(cli, tmp_path, line, why):
    rules = tmp_path / "rules"
    rules.write_text(line + "\n")
    p = cli("log", "scrub", "--rules", str(rules), stdin="x\n")
    assert p.returncode == 2
    assert why in p.stderr.decode()
