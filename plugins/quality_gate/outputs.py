"""Pure rendering of the gate's verdict: JSON, Markdown, workflow commands.

The escaping rules are GitHub's (toolkit ``command.ts``). They live here so
the plugin folder stays self-contained; the pipeline helpers reuse them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from quality_gate.threshold import Threshold, shown


@dataclass
class Counts:
    """Test outcomes as pytest reports them."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0


@dataclass(frozen=True)
class FileCoverage:
    """One measured file."""

    path: str
    statements: int
    missing: int
    percent: float
    missing_lines: tuple[int, ...]

    @property
    def missing_ranges(self) -> list[tuple[int, int]]:
        """Uncovered lines as (first, last) runs."""
        return line_ranges(self.missing_lines)


@dataclass
class Verdict:
    """Everything the gate decided, ready to be written out."""

    threshold: Threshold
    status: str  # "passed", "failed" or "not-measured"
    reason: str
    total: float | None = None
    files: list[FileCoverage] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    duration: float = 0.0
    python: str = ""

    @property
    def ok(self) -> bool:
        """True when the gate lets the run pass."""
        return self.status == "passed"

    def below(self) -> list[FileCoverage]:
        """Files under the threshold, worst first."""
        low = [f for f in self.files if f.percent < self.threshold.value]
        return sorted(low, key=lambda f: (f.percent, f.path))


def line_ranges(lines: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    """Collapse sorted line numbers into inclusive runs."""
    runs: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if runs and line == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return runs


def _ranges_text(runs: list[tuple[int, int]]) -> list[str]:
    return [str(a) if a == b else f"{a}-{b}" for a, b in runs]


def to_json(verdict: Verdict) -> dict[str, Any]:
    """The machine-readable result (``gate.json``), read by the CI report."""
    t = verdict.threshold
    return {
        "schema": 1,
        "verdict": verdict.status,
        "reason": verdict.reason,
        "threshold": t.value,
        "precision": t.precision,
        "threshold_source": t.source,
        "total": verdict.total,
        "total_display": None if verdict.total is None else shown(verdict.total, t.precision),
        "python": verdict.python,
        "tests": asdict(verdict.counts),
        "duration_seconds": round(verdict.duration, 3),
        "files": [
            {
                "path": f.path,
                "statements": f.statements,
                "missing": f.missing,
                "percent": f.percent,
                "missing_lines": _ranges_text(f.missing_ranges),
            }
            for f in verdict.files
        ],
    }


def headline(verdict: Verdict) -> str:
    """One line for the terminal and the annotations."""
    t = verdict.threshold
    goal = f"{shown(t.value, t.precision)}%"
    if verdict.total is None:
        return f"Quality gate FAILED: {verdict.reason} (threshold {goal})"
    total = f"{shown(verdict.total, t.precision)}%"
    if verdict.ok:
        return f"Quality gate passed: coverage {total} >= {goal}"
    return f"Quality gate FAILED: coverage {total} is below the threshold of {goal}"


def headline_from_json(data: dict[str, Any]) -> str:
    """The same line, from ``gate.json`` (for whoever reads the result, not the run)."""
    try:
        limit = Threshold(float(data["threshold"]), int(data["precision"]), str(data.get("threshold_source", "")))
        total = None if data.get("total") is None else float(data["total"])
        verdict = Verdict(limit, str(data["verdict"]), str(data.get("reason", "")), total)
    except (KeyError, TypeError, ValueError):
        return "Quality gate: its result file is not what the gate writes"
    return headline(verdict)


def markdown_escape(text: str) -> str:
    """Make a file path inert in Markdown tables and HTML."""
    for char in "\\`*_[]<>|@#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def summary_markdown(verdict: Verdict) -> str:
    """The job summary section: verdict, total versus threshold, weak files."""
    t = verdict.threshold
    icon = ":white_check_mark:" if verdict.ok else ":x:"
    lines = [
        f"### {icon} {headline(verdict)}",
        "",
        f"Python {verdict.python}; threshold {shown(t.value, t.precision)}% from {t.source}.",
        "",
    ]
    below = verdict.below()
    if below:
        lines += ["| File | Statements | Missing | Coverage |", "| --- | ---: | ---: | ---: |"]
        lines += [
            f"| `{markdown_escape(f.path)}` | {f.statements} | {f.missing} | {shown(f.percent, t.precision)}% |"
            for f in below
        ]
        lines.append("")
    return "\n".join(lines) + "\n"


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: object) -> str:
    """Render ``::kind prop=value,...::message`` with everything escaped."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def workflow_annotations(verdict: Verdict, changed: set[str] | None, limit: int) -> list[str]:
    """The verdict annotation first, then uncovered ranges of changed files.

    GitHub shows at most 10 warnings per step, so the widest ranges go first
    and the list is cut at ``limit``.
    """
    out = [command("notice" if verdict.ok else "error", headline(verdict), title="Quality gate")]
    if not changed:
        return out
    ranges = [(f.path, a, b) for f in verdict.files if f.path in changed for a, b in f.missing_ranges]
    ranges.sort(key=lambda r: (-(r[2] - r[1]), r[0], r[1]))
    for path, first, last in ranges[:limit]:
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        out.append(
            command(
                "warning",
                f"{lines} not covered by tests",
                file=path,
                line=first,
                endLine=last,
                title="Uncovered code",
            )
        )
    return out
