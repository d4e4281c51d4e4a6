"""The test matrix on one machine: every interpreter at once, one log each.

On GitHub each cell of the matrix is a job of its own and they run side by
side. Run one after the other here, four cells each pay pytest-xdist's start
and its idle tail; run together with one process each, they keep both cores
busy for the same work (the CHANGELOG has the figures).
Interleaved output would be unreadable, so each cell writes a log, and the
summary lines of every cell, or the whole log of a failed one, are printed
when all are done.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline import matrix
from pipeline.errors import CheckFailed

# pytest's last line ("=== 287 passed in 9.5s ===").
_SUMMARY = re.compile(r"^=+ (?P<text>.+ in [0-9.]+s.*?) =+$")
_POLL = 0.05


@dataclass
class Cell:
    """One interpreter's run."""

    python: str
    log: Path
    exit_code: int = -1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Passed, gate included (a cell's exit status is pytest's)."""
        return self.exit_code == 0


def cell_argv(hatch: str, python: str, pytest_args: list[str]) -> list[str]:
    """The cell's command: the matrix environment's own ``run`` script, one process."""
    return [hatch, "run", f"{matrix.ENV}.py{python}:run", "-n", "0", *pytest_args]


def gate_line(gate_json: Path) -> str:
    """The gate's verdict, from the machine-readable result it wrote for this cell."""
    import json  # noqa: PLC0415

    from quality_gate.outputs import headline_from_json  # noqa: PLC0415

    try:
        data = json.loads(gate_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"Quality gate: no result ({gate_json.name} was not written)"
    return headline_from_json(data) if isinstance(data, dict) else "Quality gate: its result file is not an object"


def summary_lines(log_text: str, gate_json: Path) -> list[str]:
    """What a reader needs from a passing cell: the gate's verdict and pytest's last tally."""
    tally: list[str] = []
    for line in log_text.splitlines():
        if match := _SUMMARY.match(line.strip()):
            tally = [match["text"]]
    return [gate_line(gate_json), *tally]


def run_cells(hatch: str, pythons: list[str], pytest_args: list[str], logs: Path) -> list[Cell]:
    """Start every cell, wait for all, and return them in matrix order.

    If starting one fails or the run is interrupted, the cells already started
    are stopped: nothing is left running behind the pipeline.
    """
    logs.mkdir(parents=True, exist_ok=True)
    cells = [Cell(python, logs / f"test-{python}.log") for python in pythons]
    running: dict[int, subprocess.Popen[bytes]] = {}
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        try:
            for index, cell in enumerate(cells):
                handle = stack.enter_context(cell.log.open("wb"))
                running[index] = subprocess.Popen(
                    cell_argv(hatch, cell.python, pytest_args),
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a group of its own: hatch, pytest and its children
                )
            while running:
                for index, process in list(running.items()):
                    if (code := process.poll()) is not None:
                        cells[index].exit_code = code
                        cells[index].seconds = time.monotonic() - started
                        del running[index]
                time.sleep(_POLL)
        except OSError as error:
            raise CheckFailed(f"cannot start {hatch}: {error.strerror or error}") from None
        finally:
            for process in running.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return cells


def describe(cells: list[Cell]) -> str:
    """The terminal report: summary lines for each cell, the whole log of a failed one.

    A failure's traceback sits above pytest's coverage table and summary, so
    no fixed tail of the log is sure to hold it.
    """
    out = []
    for cell in cells:
        text = cell.log.read_text(encoding="utf-8", errors="replace")
        status = "ok" if cell.ok else f"FAILED (exit {cell.exit_code})"
        out.append(f"--- Python {cell.python}: {status} in {cell.seconds:.1f}s, log {cell.log}")
        if cell.ok:
            out += [f"    {line}" for line in summary_lines(text, cell.log.with_name(f"gate-{cell.python}.json"))]
        else:
            out += text.splitlines()
    return "\n".join(out)
