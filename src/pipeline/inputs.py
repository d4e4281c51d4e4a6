"""Read the CI report's input files into plain data, never crashing.

Every loader returns either the data or a ``Missing`` that says why, so the
report can show "missing: <reason>" instead of failing the job that reports
on other failures.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from pipeline import jobfiles
from pipeline.errors import InputError
from pipeline.jobfiles import AttestationRecord, GateResult, ImageFacts, gate_result, read_image

_PYTHON_SUFFIX = re.compile(r"-(\d+\.\d+)\.(?:json|xml)$")


@dataclass(frozen=True)
class Missing:
    """An input that could not be used, and why."""

    reason: str


@dataclass(frozen=True)
class TestCase:
    """One JUnit test case."""

    name: str
    seconds: float
    outcome: str  # passed, failed, error, skipped
    message: str = ""


@dataclass
class Interpreter:
    """What one matrix cell produced."""

    python: str
    gate: GateResult | Missing
    tests: list[TestCase] | Missing


@dataclass
class CoverageTotal:
    """The combined coverage across the matrix."""

    percent: float
    files: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class ReportInputs:
    """Everything the CI report renders."""

    interpreters: list[Interpreter]
    coverage: CoverageTotal | Missing
    image: ImageFacts | Missing
    sbom: int | Missing
    attestation: AttestationRecord | Missing
    trivy: list[Finding] | Missing
    artifacts: list[tuple[str, str]] | Missing
    sha: str = ""
    run_url: str = ""
    branch: str = ""


def _json(path: Path) -> Any | Missing:  # noqa: ANN401 - any JSON value
    if not path.exists():
        return Missing(f"{path.name} was not produced")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return Missing(f"{path.name} is unreadable: {type(error).__name__}")


def _gate(path: Path) -> GateResult | Missing:
    """A cell's ``gate-X.Y.json`` through its one reader; anything wrong is shown, not raised."""
    data = _object(path)
    if isinstance(data, Missing):
        return data
    try:
        return gate_result(data, path)
    except InputError as error:
        return Missing(str(error))


def _image(path: Path) -> ImageFacts | Missing:
    """``image.json`` through its one reader; anything wrong is shown, not raised."""
    if not path.exists():
        return Missing(f"{path.name} was not produced")
    try:
        return read_image(path)
    except InputError as error:
        return Missing(str(error).replace(str(path), path.name))


def _object(path: Path) -> dict[str, Any] | Missing:
    data = _json(path)
    if isinstance(data, Missing) or isinstance(data, dict):
        return data
    return Missing(f"{path.name} is not a JSON object")


def load_junit(path: Path) -> list[TestCase] | Missing:
    """Test cases of a JUnit XML file (pytest's flavour)."""
    if not path.exists():
        return Missing(f"{path.name} was not produced")
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own job's file, no DTDs expanded
    except (OSError, ET.ParseError) as error:
        return Missing(f"{path.name} is unreadable: {type(error).__name__}")
    cases = []
    for case in root.iter("testcase"):
        name = "::".join(p for p in (case.get("classname", ""), case.get("name", "")) if p)
        try:
            seconds = float(case.get("time", "0"))
        except ValueError:
            seconds = 0.0
        outcome, message = "passed", ""
        for tag, kind in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                outcome = kind
                message = node.get("message", "") or (node.text or "")
                break
        cases.append(TestCase(name, seconds, outcome, message))
    return cases


def load_coverage_xml(path: Path) -> CoverageTotal | Missing:
    """Total and per-file figures through the quality gate's own reader.

    One parser and one formula (lines and branches, as coverage.py counts) for
    the gate and the report, so "files below the threshold" compares like
    with like.
    """
    from quality_gate.coverage_xml import UnreadableReportError, read  # noqa: PLC0415

    if not path.exists():
        return Missing(f"{path.name} was not produced (coverage not combined)")
    try:
        percent, files = read(path, path.parent)
    except UnreadableReportError as error:
        return Missing(f"{path.name} is unreadable: {str(error).rsplit(': ', 1)[-1]}")
    return CoverageTotal(percent, [(f.path, f.percent) for f in files])


def count_sbom(path: Path) -> int | Missing:
    """Components of a CycloneDX document, or packages of an SPDX one."""
    data = _object(path)
    if isinstance(data, Missing):
        return data
    for key in ("components", "packages"):
        if isinstance(data.get(key), list):
            return len(data[key])
    if data.get("bomFormat") == "CycloneDX":  # a valid document that lists nothing
        return 0
    return Missing(f"{path.name} is neither CycloneDX nor SPDX JSON")


@dataclass(frozen=True)
class Finding:
    """One vulnerability Trivy reported."""

    id: str
    severity: str
    package: str
    installed: str = ""
    fixed: str = ""
    title: str = ""


def load_trivy(path: Path) -> list[Finding] | Missing:
    """Every vulnerability of a Trivy JSON report (an empty list: none found)."""
    data = _object(path)
    if isinstance(data, Missing):
        return data
    return [
        Finding(
            id=str(vuln.get("VulnerabilityID", "?")),
            severity=str(vuln.get("Severity", "UNKNOWN")).upper(),
            package=str(vuln.get("PkgName", "?")),
            installed=str(vuln.get("InstalledVersion", "")),
            fixed=str(vuln.get("FixedVersion", "")),
            title=str(vuln.get("Title", "")),
        )
        for result in data.get("Results") or []
        for vuln in (result or {}).get("Vulnerabilities") or []
        if isinstance(vuln, dict)
    ]


def load_attestation(path: Path) -> AttestationRecord | Missing:
    """``attestation.json`` as the attest job's outputs recorded it."""
    if not path.exists():
        return Missing(f"{path.name} was not produced")
    try:
        return jobfiles.read_attestation(path)
    except InputError as error:
        return Missing(f"{path.name} is unreadable: {str(error).rsplit(': ', 1)[-1]}")


def load_artifacts(path: Path) -> list[tuple[str, str]] | Missing:
    """``[{"name": ..., "url": ...}]`` as written by the workflow."""
    data = _json(path)
    if isinstance(data, Missing):
        return data
    if not isinstance(data, list) or not all(isinstance(i, dict) and "name" in i and "url" in i for i in data):
        return Missing(f"{path.name} is not a list of name/url objects")
    return [(str(i["name"]), str(i["url"])) for i in data]


def load(directory: Path, sha: str = "", run_url: str = "", branch: str = "") -> ReportInputs:
    """Everything under ``directory`` by its conventional file name."""
    pythons = sorted(
        {m.group(1) for p in directory.glob("*-*.*") if (m := _PYTHON_SUFFIX.search(p.name))},
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    interpreters = [
        Interpreter(
            python,
            _gate(directory / f"gate-{python}.json"),
            load_junit(directory / f"junit-{python}.xml"),
        )
        for python in pythons
    ]
    return ReportInputs(
        interpreters=interpreters,
        coverage=load_coverage_xml(directory / "coverage.xml"),
        image=_image(directory / "image.json"),
        sbom=count_sbom(directory / "sbom.json"),
        attestation=load_attestation(directory / "attestation.json"),
        trivy=load_trivy(directory / "trivy.json"),
        artifacts=load_artifacts(directory / "artifacts.json"),
        sha=sha,
        run_url=run_url,
        branch=branch,
    )
