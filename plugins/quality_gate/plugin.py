"""The pytest hooks: read the threshold, decide after the loop, write outputs."""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from quality_gate import coverage_xml, outputs, threshold
from quality_gate.changed import changed_files

if TYPE_CHECKING:
    from collections.abc import Generator

DEFAULT_JSON = "reports/gate.json"
DEFAULT_JUNIT = "reports/junit.xml"
DEFAULT_COVERAGE_XML = "reports/coverage.xml"
DEFAULT_MAX_ANNOTATIONS = 10
NOT_MEASURED = "coverage was not measured (no --cov, or pytest-cov is not installed)"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the gate's options."""
    group = parser.getgroup("quality-gate", "coverage quality gate")
    group.addoption(
        threshold.OPTION,
        dest="gate_fail_under",
        default=None,
        metavar="PERCENT",
        help="fail below this total coverage (overrides $QUALITY_GATE_FAIL_UNDER and coverage's fail_under)",
    )
    group.addoption(
        "--no-gate",
        dest="gate_off",
        action="store_true",
        help="switch the gate off for this run (coverage is then not required)",
    )
    group.addoption(
        "--gate-json",
        dest="gate_json",
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the machine-readable verdict (default {DEFAULT_JSON})",
    )
    group.addoption(
        "--gate-max-annotations",
        dest="gate_max_annotations",
        type=int,
        default=DEFAULT_MAX_ANNOTATIONS,
        metavar="N",
        help="at most N uncovered-range warnings on GitHub Actions (default 10)",
    )


def _inactive(config: pytest.Config) -> bool:
    """Nothing to decide when only collecting, or inside an xdist worker."""
    return bool(config.option.collectonly) or hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Silence pytest-cov's own fail-under: the gate is the one verdict.

    A threshold from the command line or the environment must not be
    overruled by pytest-cov reading coverage's config. pytest-cov reads this
    option only after the test loop, so setting it here takes effect.
    """
    namespace = early_config.known_args_namespace
    if hasattr(namespace, "cov_fail_under"):
        namespace.cov_fail_under = 0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the threshold early (a usage error) and switch JUnit on."""
    if _inactive(config):
        return
    if config.option.xmlpath is None:
        config.option.xmlpath = str(config.rootpath / DEFAULT_JUNIT)
    if config.option.gate_off:
        config.pluginmanager.register(Gate(config, None), "quality-gate")
        return
    try:
        chosen = _threshold(config)
    except (threshold.ThresholdError, ValueError) as error:
        raise pytest.UsageError(f"quality gate: {error}") from None
    config.pluginmanager.register(Gate(config, chosen), "quality-gate")


def _coverage_config(config: pytest.Config) -> tuple[float, int, str | None]:
    """fail_under, precision and the config file, read the way coverage reads them."""
    import coverage  # noqa: PLC0415 - only needed once the gate is on

    config_file: str | bool = getattr(config.option, "cov_config", None) or True
    cov = coverage.Coverage(config_file=config_file)
    name = cov.config.config_file
    shown_name = os.path.relpath(name, config.rootpath) if name else None
    return float(cov.config.fail_under), int(cov.config.precision), shown_name


def _threshold(config: pytest.Config) -> threshold.Threshold:
    fail_under, precision, config_file = _coverage_config(config)
    return threshold.resolve(config.option.gate_fail_under, dict(os.environ), fail_under, precision, config_file)


class Gate:
    """Per-run state: outcome counts, the measured data, the verdict."""

    def __init__(self, config: pytest.Config, chosen: threshold.Threshold | None) -> None:
        self.config = config
        self.threshold = chosen
        self.counts = outputs.Counts()
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.verdict: outputs.Verdict | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count outcomes the way pytest's summary line does."""
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                self.counts.skipped += report.skipped
                self.counts.passed += report.passed
            else:
                self.counts.passed += report.passed
                self.counts.failed += report.failed
                self.counts.skipped += report.skipped
        elif report.failed:
            self.counts.errors += 1
        elif report.skipped:
            self.counts.skipped += 1

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that fails to import is an error too."""
        if report.failed:
            self.counts.errors += 1

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self) -> Generator[None, object, object]:
        """Decide once pytest-cov (an inner wrapper) has combined its data."""
        try:
            return (yield)
        finally:
            if self.threshold is not None:
                self.verdict = self._decide(self.threshold, time.monotonic() - self.started)

    def _decide(self, chosen: threshold.Threshold, duration: float) -> outputs.Verdict:
        measured = _measured(self.config, self.started_wall)
        if isinstance(measured, str):
            return outputs.Verdict(
                status="not-measured",
                reason=measured,
                threshold=chosen,
                counts=self.counts,
                duration=duration,
                python=platform.python_version(),
            )
        total, files = measured
        ok = threshold.passes(total, chosen)
        return outputs.Verdict(
            status="passed" if ok else "failed",
            reason="" if ok else "total coverage is below the threshold",
            total=total,
            files=files,
            threshold=chosen,
            counts=self.counts,
            duration=duration,
            python=platform.python_version(),
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Fail the run, then write gate.json, annotations and the summary."""
        verdict = self.verdict
        if verdict is None:
            return
        verdict.duration = time.monotonic() - self.started
        if not verdict.ok and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        path = Path(self.config.option.gate_json)
        if not path.is_absolute():
            path = self.config.rootpath / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(outputs.to_json(verdict), indent=2) + "\n", encoding="utf-8")
        if os.environ.get("GITHUB_ACTIONS") == "true":
            self._report_to_github(verdict)

    def _report_to_github(self, verdict: outputs.Verdict) -> None:
        changed = changed_files(os.environ.get("GITHUB_BASE_REF", ""), self.config.rootpath)
        limit = max(self.config.option.gate_max_annotations, 0)
        writer = self.config.get_terminal_writer()
        writer.line()  # workflow commands must start a line; the progress bar may not end one
        for line in outputs.workflow_annotations(verdict, changed, limit):
            writer.line(line)
        summary = os.environ.get("GITHUB_STEP_SUMMARY", "")
        if summary:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(outputs.summary_markdown(verdict))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:  # noqa: ANN401 - pytest's type is private
        """The gate line, after pytest-cov's table."""
        if self.threshold is None:
            terminalreporter.write_sep("-", "quality gate: off (--no-gate)")
            return
        verdict = self.verdict
        if verdict is None:  # pragma: no cover - interrupted collection; tested in a subprocess
            return
        terminalreporter.write_sep("-", "quality gate")
        terminalreporter.write_line(outputs.headline(verdict), green=verdict.ok, red=not verdict.ok, bold=True)
        terminalreporter.write_line(f"threshold from {verdict.threshold.source}")
        if verdict.reason == NOT_MEASURED:
            terminalreporter.write_line("run with --cov (pytest-cov), or pass --no-gate to switch the gate off")


def _measured(config: pytest.Config, started: float) -> tuple[float, list[outputs.FileCoverage]] | str:
    """Total and per-file figures from the coverage XML, or why there are none.

    When pytest-cov was asked for XML, its file is read (coverage.py has
    analysed the files once already); otherwise the gate asks coverage.py to
    write the XML to ``reports/coverage.xml`` and reads that.
    """
    plugin = config.pluginmanager.get_plugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    if plugin is None or getattr(plugin, "_disabled", False) or cov is None:
        return NOT_MEASURED
    reports = getattr(config.option, "cov_report", None)
    if isinstance(reports, dict) and "xml" in reports:
        written = Path(config.invocation_params.dir, reports["xml"] or "coverage.xml")
        if written.is_file() and written.stat().st_mtime >= started:
            try:
                return coverage_xml.read(written, config.rootpath)
            except coverage_xml.UnreadableReportError as error:
                return f"coverage data could not be read: {error}"
    target = config.rootpath / DEFAULT_COVERAGE_XML
    target.parent.mkdir(parents=True, exist_ok=True)
    import coverage  # noqa: PLC0415
    from coverage.exceptions import CoverageWarning  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            # Warnings such as "module never imported" are the test run's
            # business; under filterwarnings=error they must not crash the gate.
            warnings.simplefilter("ignore", CoverageWarning)
            cov.xml_report(outfile=str(target))
        return coverage_xml.read(target, config.rootpath)
    except (coverage.CoverageException, coverage_xml.UnreadableReportError) as error:
        return f"coverage data could not be read: {error}"
