"""The CI report: pure rendering of the run's files into one Markdown body."""

from __future__ import annotations

from typing import Any

from pipeline import markdown as md
from pipeline.inputs import CoverageTotal, Interpreter, Missing, ReportInputs, TestCase
from quality_gate.threshold import Threshold, passes, shown

CI_MARKER = "<!-- service-pipeline:ci-report -->"
COMMENT_LIMIT = 65_536
MAX_FAILURES = 30
SLOWEST = 5
TOP_FINDINGS = 10
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def _missing(what: str, item: Missing) -> str:
    return f"_{what}: missing ({md.inline(item.reason)})_"


def _threshold(inputs: ReportInputs) -> tuple[float, int] | None:
    for interp in inputs.interpreters:
        if not isinstance(interp.gate, Missing) and interp.gate.threshold is not None:
            return interp.gate.threshold, interp.gate.precision
    return None


def _tests(interp: Interpreter) -> list[TestCase]:
    return interp.tests if isinstance(interp.tests, list) else []


def combined_verdict(inputs: ReportInputs) -> tuple[bool | None, str]:
    """(passed?, text) for the combined coverage against the threshold."""
    threshold = _threshold(inputs)
    if isinstance(inputs.coverage, Missing):
        return None, _missing("combined coverage", inputs.coverage)
    if threshold is None:
        return None, "_threshold: missing (no gate result was produced)_"
    value, precision = threshold
    total = inputs.coverage.percent
    # The gate's own rule (coverage.py's comparison at the display precision).
    ok = passes(total, Threshold(value, precision, "gate"))
    figures = f"{shown(total, precision)}% vs threshold {shown(value, precision)}%"
    return ok, f"{':white_check_mark:' if ok else ':x:'} **Coverage gate**: {figures}"


def overall(inputs: ReportInputs) -> bool:
    """Green only when every cell passed its gate, no test failed, and combined passed."""
    if not inputs.interpreters:
        return False
    for interp in inputs.interpreters:
        if isinstance(interp.gate, Missing) or interp.gate.verdict != "passed":
            return False
        if isinstance(interp.tests, Missing):
            return False
        if any(t.outcome in ("failed", "error") for t in interp.tests):
            return False
    ok, _ = combined_verdict(inputs)
    return ok is True


def _headline(inputs: ReportInputs) -> str:
    ok = overall(inputs)
    icon, word = (":white_check_mark:", "passed") if ok else (":x:", "failed")
    parts = [f"## {icon} CI {word}"]
    if inputs.sha:
        parts.append(f"for {md.code(inputs.sha[:12])}")
    if inputs.branch:
        parts.append(f"on {md.code(inputs.branch, 80)}")
    line = " ".join(parts)
    if inputs.run_url:
        line += f" · [run]({inputs.run_url})"
    return f"{CI_MARKER}\n{line}"


def _matrix(inputs: ReportInputs) -> str:
    if not inputs.interpreters:
        return "_test results: missing (no gate-<python>.json or junit-<python>.xml found)_"
    rows = []
    for interp in inputs.interpreters:
        gate = interp.gate
        if isinstance(gate, Missing):
            counts: dict[str, Any] = {}
            cov, duration, verdict = "missing", "?", md.inline(gate.reason, 80)
        else:
            counts = gate.tests
            cov = f"{gate.total_display or '?'}%"
            duration = f"{gate.duration:.1f}s"
            verdict = {"passed": ":white_check_mark:", "failed": ":x:"}.get(
                gate.verdict, ":warning: " + md.inline(gate.verdict, 40)
            )
        rows.append(
            [
                f"Python {md.inline(interp.python, 10)}",
                str(counts.get("passed", "?")),
                str(int(counts.get("failed", 0) or 0) + int(counts.get("errors", 0) or 0)) if counts else "?",
                str(counts.get("skipped", "?")),
                duration,
                cov,
                verdict,
            ]
        )
    return md.table(
        ["Interpreter", "Passed", "Failed", "Skipped", "Duration", "Coverage", "Gate"],
        rows,
        "lrrrrrl",
    )


def _failures(inputs: ReportInputs, budget: int = COMMENT_LIMIT) -> str:
    """As many failures as fit in ``budget`` characters (at most MAX_FAILURES), then a count.

    Failures matter most after the verdict: they are never dropped as a
    section, only shortened, so a huge report still names the first ones.
    """
    failed = [
        (interp.python, t) for interp in inputs.interpreters for t in _tests(interp) if t.outcome in ("failed", "error")
    ]
    if not failed:
        return "**Failed tests**: none"
    head = f"**Failed tests** ({len(failed)})\n"
    blocks: list[str] = []
    used = len(head) + 80  # room for the "… and N more" line
    for python, test in failed[:MAX_FAILURES]:
        block = "\n".join(
            [
                "<details>",
                f"<summary>{md.inline(test.name, 200)} (Python {md.inline(python, 10)}, {test.outcome})</summary>",
                "",
                md.code_block(test.message or "(no message)", 1500),
                "",
                "</details>",
            ]
        )
        if used + len(block) + 1 > budget:
            break
        blocks.append(block)
        used += len(block) + 1
    lines = [head, *blocks]
    if len(failed) > len(blocks):
        lines.append(f"… and {len(failed) - len(blocks)} more in the JUnit artifacts.")
    return "\n".join(lines)


def _slowest(inputs: ReportInputs) -> str:
    tests = [(t.seconds, t.name, i.python) for i in inputs.interpreters for t in _tests(i)]
    if not tests:
        return "**Slowest tests**: no test results"
    top = sorted(tests, key=lambda x: (-x[0], x[1]))[:SLOWEST]
    rows = [[md.inline(name, 150), md.inline(py, 10), f"{sec:.2f}s"] for sec, name, py in top]
    return f"**{SLOWEST} slowest tests**\n\n" + md.table(["Test", "Python", "Time"], rows, "llr")


def _weak_files(inputs: ReportInputs) -> str:
    threshold = _threshold(inputs)
    if isinstance(inputs.coverage, CoverageTotal) and threshold is not None:
        weak = sorted((rate, name) for name, rate in inputs.coverage.files if rate < threshold[0])
        if not weak:
            return "**Files below the threshold**: none"
        rows = [[f"{md.code(name, 150)}", f"{rate:.2f}%"] for rate, name in weak]
        return (
            f"<details>\n<summary>Files below the threshold ({len(weak)})</summary>\n\n"
            + md.table(["File", "Coverage"], rows, "lr")
            + "\n\n</details>"
        )
    return "**Files below the threshold**: unknown (no combined coverage or threshold)"


def _artifacts(inputs: ReportInputs) -> str:
    if isinstance(inputs.artifacts, Missing):
        return _missing("artifacts", inputs.artifacts)
    links = [f"[{md.inline(name, 80)}]({url})" for name, url in inputs.artifacts if url.startswith("https://")]
    return "**Artifacts**: " + (", ".join(links) if links else "none")


def _image(inputs: ReportInputs, verify_hint: str) -> str:
    image = inputs.image
    if isinstance(image, Missing):
        return _missing("image", image)
    raw_name = image.name or "?"
    name = md.code(raw_name)
    tags = ", ".join(f"{md.code(t, 130)}" for t in image.tags)
    digest = image.digest
    if not image.pushed:
        reason = md.inline(image.reason or "not pushed", 200)
        return f"**Image** {name}: built, not pushed ({reason})"
    lines = [f"**Image** {name}", "", f"- tags: {tags or 'none'}", f"- digest: {md.code(digest, 80)}"]
    pinned = f"{raw_name}@{digest}"
    lines += ["", "```sh", f"docker pull {pinned}", verify_hint.format(digest=digest, image=pinned), "```"]
    return "\n".join(lines)


def _sbom(inputs: ReportInputs) -> str:
    if isinstance(inputs.sbom, Missing):
        return _missing("SBOM", inputs.sbom)
    return f"**SBOM**: {inputs.sbom} components"


def _attestation(inputs: ReportInputs) -> str:
    att = inputs.attestation
    if isinstance(att, Missing):
        return _missing("attestation", att)
    url = att.url
    ident = md.code(att.id or "?", 80)
    link = f" · [view]({url})" if url.startswith("https://") else ""
    return f"**Attestation**: {ident}{link}"


def _trivy(inputs: ReportInputs) -> str:
    trivy = inputs.trivy
    if isinstance(trivy, Missing):
        return _missing("Trivy scan", trivy)
    findings = trivy
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    head = (
        "**Trivy** (informational): " + ", ".join(f"{counts[s]} {s.lower()}" for s in SEVERITIES if counts[s])
        if findings
        else "**Trivy** (informational): no vulnerabilities found"
    )
    if not findings:
        return head
    order = {s: i for i, s in enumerate(SEVERITIES)}
    top = sorted(findings, key=lambda f: (order.get(f.severity, 9), f.id))[:TOP_FINDINGS]
    rows = [
        [
            md.inline(f.severity, 10),
            md.inline(f.id, 40),
            md.inline(f.package, 60),
            md.inline(f.installed, 40),
            md.inline(f.fixed or "-", 40),
        ]
        for f in top
    ]
    return head + "\n\n" + md.table(["Severity", "ID", "Package", "Installed", "Fixed"], rows)


def render(
    inputs: ReportInputs,
    limit: int = COMMENT_LIMIT,
    verify_hint: str = "hatch run ci verify --digest {digest}",
) -> str:
    """The whole report, cut to ``limit`` characters by dropping low-priority parts."""
    _, gate_text = combined_verdict(inputs)
    headline, matrix = _headline(inputs), _matrix(inputs)
    # What the failures may use: the limit less the three parts above them and
    # room for the "cut to fit" note.
    budget = limit - len(headline) - len(matrix) - len(gate_text) - 400
    sections = [  # display order; the number is the priority when cutting
        ("verdict", headline, 0),
        ("interpreters", matrix, 1),
        ("gate", gate_text, 2),
        ("failed tests", _failures(inputs, budget), 3),
        ("slowest tests", _slowest(inputs), 10),
        ("files below the threshold", _weak_files(inputs), 8),
        ("artifacts", _artifacts(inputs), 7),
        ("image", _image(inputs, verify_hint), 4),
        ("SBOM", _sbom(inputs), 6),
        ("attestation", _attestation(inputs), 5),
        ("Trivy", _trivy(inputs), 9),
    ]
    return md.fit(sections, limit, "_Cut to fit GitHub's size limit: {}._")
