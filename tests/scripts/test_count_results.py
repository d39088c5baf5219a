"""scripts/count-meson-results: what scripts/test reports. A case or a
suite that did not run is never counted as passed."""
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def count(tmp_path, entries):
    log = tmp_path / "testlog.json"
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    p = subprocess.run([str(ROOT / "scripts" / "count-meson-results"), str(log)],
                       capture_output=True, text=True, check=True)
    return tuple(int(x) for x in p.stdout.split()), p.stderr


def test_passes_failures_and_skips(tmp_path):
    tap = "1..4\nok 1 - a\nok 2 - b # SKIP\nnot ok 3 - c\nok 4 - d\n"
    (p, f), err = count(tmp_path, [{"name": "unit", "result": "FAIL", "stdout": tap}])
    assert (p, f) == (2, 2)
    assert "SKIPPED: 1 cases of unit" in err


def test_a_suite_skipped_whole_is_a_failure(tmp_path):
    (p, f), err = count(tmp_path, [{"name": "pg", "result": "SKIP", "stdout": ""},
                                   {"name": "core", "result": "OK", "stdout": "ok 1 - x\n"}])
    assert (p, f) == (1, 1)
    assert "FAILED: pg (SKIP)" in err


def test_a_crash_without_tap_is_one_failure(tmp_path):
    (p, f), _ = count(tmp_path, [{"name": "x", "result": "TIMEOUT", "stdout": "ok 1 - a\n"}])
    assert (p, f) == (1, 1)
