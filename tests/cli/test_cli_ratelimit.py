"""prodready ratelimit replay against an exact reference on random traces."""
import random

import pytest


def reference(lines, limit, window):
    """allowed iff fewer than `limit` were allowed in (t - window, t]."""
    admitted = {}
    out = []
    for t, key in lines:
        times = admitted.setdefault(key, [])
        inside = sum(1 for a in times if t - window < a <= t)
        if inside < limit:
            times.append(t)
            out.append("allow")
        else:
            out.append("deny")
    return out


def trace(seed, n, keys, max_gap):
    rnd = random.Random(seed)
    t = rnd.randrange(0, 10**6)
    lines = []
    for _ in range(n):
        t += rnd.choice([0, 0, 1, rnd.randrange(0, max_gap)])
        lines.append((t, rnd.choice(keys)))
    return lines


@pytest.mark.parametrize("seed,limit,window_ms,window_arg", [
    (1, 1, 1000, "1s"), (2, 3, 1000, "1000ms"), (3, 10, 60000, "1m"), (4, 5, 250, "250ms"),
    (5, 100, 3600000, "1h"), (6, 2, 86400000, "1d"),
])
def test_exact_replay_matches_reference(cli, seed, limit, window_ms, window_arg):
    keys = ["10.0.0.1", "10.0.0.2", "user:alice", "key with spaces", "ü-key"]
    lines = trace(seed, 3000, keys, max(2, window_ms // limit * 2))
    text = "".join(f"{t} {k}\n" for t, k in lines)
    p = cli("ratelimit", "replay", "--limit", str(limit), "--window", window_arg, stdin=text)
    assert p.returncode == 0, p.stderr
    got = p.stdout.decode().split("\n")[:-1]
    want = reference(lines, limit, window_ms)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"line {i}: {lines[i]} got {g} want {w}"


def test_counter_replay_never_exceeds_twice_the_limit(cli):
    lines = trace(9, 5000, ["k"], 20)
    text = "".join(f"{t} {k}\n" for t, k in lines)
    p = cli("ratelimit", "replay", "--limit", "20", "--window", "1s", "--algorithm", "counter",
            stdin=text)
    assert p.returncode == 0
    got = p.stdout.decode().split()
    allowed = [t for (t, _), g in zip(lines, got) if g == "allow"]
    j = 0
    for i, t in enumerate(allowed):
        while allowed[j] <= t - 1000:
            j += 1
        assert i - j + 1 < 40


def test_crlf_and_blank_lines(cli):
    p = cli("ratelimit", "replay", "--limit", "1", "--window", "1s", stdin="0 a\r\n\n5 a\r\n1000 a\n")
    assert p.stdout == b"allow\ndeny\nallow\n"


@pytest.mark.parametrize("args,stdin", [
    (["replay"], ""),
    (["replay", "--limit", "0", "--window", "1s"], ""),
    (["replay", "--limit", "5", "--window", "1 s"], ""),
    (["replay", "--limit", "5", "--window", "10"], ""),
    (["replay", "--limit", "5", "--window", "1s", "--algorithm", "leaky"], ""),
    (["replay", "--limit", "5", "--window", "1s"], "abc key\n"),
    (["replay", "--limit", "5", "--window", "1s"], "12\n"),
    (["replay", "--limit", "5", "--window", "1s"], "-5 key\n"),
    (["replay", "--limit", "2000000", "--window", "1s"], ""),
    (["bogus"], ""),
])
def test_usage_errors(cli, args, stdin):
    p = cli("ratelimit", *args, stdin=stdin)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert len(p.stderr.decode().splitlines()) == 1
