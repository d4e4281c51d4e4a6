"""The matrix cells run side by side, each with its own log."""

import time
from pathlib import Path

import pytest

from pipeline import cells
from pipeline.errors import CheckFailed

# A stand-in for hatch: `$2` is `test.pyX.Y:run`. Cell 3.10 waits until cell
# 3.11 has started, and the other way round: run one after the other, they
# would never finish (each gives up after 20 s and fails).
CELL = r"""#!/bin/sh
python=${2#test.py}; python=${python%:run}
# Written, then renamed: the test never reads a half-written file.
echo $$ > "$CELLS/$python.pid.tmp" && mv "$CELLS/$python.pid.tmp" "$CELLS/$python.pid"
touch "$CELLS/$python.started"
other=3.11; [ "$python" = 3.11 ] && other=3.10
waited=0
while [ ! -e "$CELLS/$other.started" ]; do
  sleep 0.05; waited=$((waited + 1))
  [ "$waited" -gt 400 ] && { echo "never saw $other start"; exit 3; }
done
if [ -n "$HANG" ]; then
  sleep 60 &
  echo $! > "$CELLS/$python.child.tmp" && mv "$CELLS/$python.child.tmp" "$CELLS/$python.child"
  wait
fi
echo "args: $*"
echo "===== 12 passed in 0.50s ====="
echo "Quality gate: this line of the log is not what is reported"
printf '{"verdict": "passed", "threshold": 90, "precision": 2, "total": 100.0}' > "$REPORTS/gate-$python.json"
[ "$python" = "$FAIL" ] && { echo "E   assert 1 == 2"; exit 1; }
exit 0
"""


def gone(pid, within=10.0):
    """Dead within a few seconds: a signal is delivered when its target next runs.

    A zombie counts as dead: an orphan waits there for init to reap it.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def hatch(tmp_path, monkeypatch):
    script = tmp_path / "hatch"
    script.write_text(CELL)
    script.chmod(0o755)
    monkeypatch.setenv("CELLS", str(tmp_path))
    monkeypatch.setenv("REPORTS", str(tmp_path / "logs"))
    monkeypatch.delenv("FAIL", raising=False)
    monkeypatch.delenv("HANG", raising=False)
    return str(script)


def test_cells_run_side_by_side_with_a_log_each(hatch, tmp_path):
    result = cells.run_cells(hatch, ["3.10", "3.11"], ["-m", "not e2e"], tmp_path / "logs")
    assert [(cell.python, cell.exit_code) for cell in result] == [("3.10", 0), ("3.11", 0)]
    assert all(cell.seconds > 0 for cell in result)
    log = (tmp_path / "logs" / "test-3.11.log").read_text()
    assert "args: run test.py3.11:run -n 0 -m not e2e" in log
    assert cells.describe(result).splitlines()[1:3] == [
        "    Quality gate passed: coverage 100.00% >= 90.00%",
        "    12 passed in 0.50s",
    ]


def test_a_failed_cell_shows_its_log_and_the_others_their_summary(hatch, tmp_path, monkeypatch):
    monkeypatch.setenv("FAIL", "3.11")
    result = cells.run_cells(hatch, ["3.10", "3.11"], [], tmp_path)
    assert [cell.ok for cell in result] == [True, False]
    text = cells.describe(result)
    assert f"--- Python 3.11: FAILED (exit 1) in {result[1].seconds:.1f}s, log {tmp_path / 'test-3.11.log'}" in text
    assert "E   assert 1 == 2" in text
    assert "args:" in text.split("--- Python 3.11")[1]  # the whole log of the failed cell
    assert "args:" not in text.split("--- Python 3.11")[0]  # only the summary of the other


def test_an_interrupted_run_leaves_no_cell_running(hatch, tmp_path, monkeypatch):
    monkeypatch.setenv("HANG", "1")
    real_sleep = cells.time.sleep

    def interrupt_once_both_hang(seconds):
        if all((tmp_path / f"{python}.child").exists() for python in ("3.10", "3.11")):
            raise KeyboardInterrupt
        real_sleep(seconds)

    with monkeypatch.context() as patch:  # undone before `gone` sleeps
        patch.setattr(cells.time, "sleep", interrupt_once_both_hang)
        with pytest.raises(KeyboardInterrupt):
            cells.run_cells(hatch, ["3.10", "3.11"], [], tmp_path)
    for python in ("3.10", "3.11"):
        for what in ("pid", "child"):  # the cell and what it started (pytest, under hatch)
            assert gone(int((tmp_path / f"{python}.{what}").read_text()))


def test_a_hatch_that_cannot_start_is_one_clear_error(tmp_path):
    with pytest.raises(CheckFailed, match=r"cannot start /nonexistent/hatch: No such file or directory"):
        cells.run_cells("/nonexistent/hatch", ["3.10"], [], tmp_path)


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("=== 3 passed in 1.00s ===\n", ["3 passed in 1.00s"]),
        ("= 1 failed, 2 passed, 1 warning in 2.5s (0:00:02) =\n", ["1 failed, 2 passed, 1 warning in 2.5s (0:00:02)"]),
        ("==== slowest 3 durations ====\n", []),
        ("=== 1 passed in 1.0s ===\n=== 2 passed in 2.0s ===\n", ["2 passed in 2.0s"]),
        ("garbage\n\x00\n", []),
    ],
)
def test_summary_lines(log, expected, tmp_path):
    assert cells.summary_lines(log, tmp_path / "gate-3.12.json") == [
        "Quality gate: no result (gate-3.12.json was not written)",
        *expected,
    ]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            '{"verdict": "passed", "threshold": 90, "precision": 2, "total": 95.5}',
            "Quality gate passed: coverage 95.50% >= 90.00%",
        ),
        (
            '{"verdict": "failed", "threshold": 90, "precision": 2, "total": 89.9}',
            "Quality gate FAILED: coverage 89.90% is below the threshold of 90.00%",
        ),
        (
            '{"verdict": "not-measured", "reason": "no data", "threshold": 90, "precision": 2, "total": null}',
            "Quality gate FAILED: no data (threshold 90.00%)",
        ),
        ('{"verdict": "passed"}', "Quality gate: its result file is not what the gate writes"),
        ("[1]", "Quality gate: its result file is not an object"),
        ("{not json", "Quality gate: no result (gate-3.12.json was not written)"),
    ],
)
def test_the_gate_line_comes_from_the_gate_json(tmp_path, data, line):
    (tmp_path / "gate-3.12.json").write_text(data)
    assert cells.gate_line(tmp_path / "gate-3.12.json") == line
