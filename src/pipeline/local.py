"""The pipeline on one machine: the same stages as CI and CD, end to end.

GitHub is not there, so the reports go to files; GHCR is replaced by a
registry on 127.0.0.1; signing needs GitHub's OIDC token, so the deployment
is not verified and the CD report says so plainly instead of pretending.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import build, cells, deploy, docker, image, inputs, jobfiles, matrix, report
from pipeline.errors import CheckFailed, PipelineError
from pipeline.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

LOCAL_REPOSITORY = "local/sample-app"
NOT_VERIFIED = "not possible offline: Sigstore signing needs GitHub's OIDC token"


@dataclass
class Stage:
    """One row of the final table."""

    name: str
    action: Callable[[], str]
    status: str = "not run"
    seconds: float = 0.0
    note: str = ""


def _run(*argv: str) -> str:
    """A subprocess whose output streams to the terminal; non-zero fails the stage."""
    result = subprocess.run(argv, check=False)
    if result.returncode != 0:
        raise CheckFailed(f"`{' '.join(argv)}` exited {result.returncode}")
    return ""


def _git_sha() -> str:
    """HEAD, or zeros outside a git checkout (a tarball of the repository)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "0" * 40
    return out if len(out) == 40 else "0" * 40


class LocalPipeline:
    """State shared by the stages: names, the digest, the reports folder."""

    def __init__(self, reports: Path, *, container: bool) -> None:
        self.reports = reports
        self.container = container
        self.hatch = shutil.which("hatch") or "hatch"
        settings = Settings.from_env(dict(os.environ))
        self.registry = settings.local_registry
        self.base = settings.local_base_image
        self.sha = _git_sha()
        self.ref = image.image_ref(self.registry, LOCAL_REPOSITORY, self.sha, "local")
        self.digest = ""

    def stages(self) -> list[Stage]:
        """CI's stages, then CD's; the container ones only with an engine."""
        stages = [
            Stage("lint", lambda: _run(self.hatch, "run", "lint")),
            Stage("tests (matrix, gate)", self.test_matrix),
            Stage(
                "combined coverage",
                lambda: _run(sys.executable, "-m", "pipeline", "combine-coverage", str(self.reports)),
            ),
            Stage("wheel", lambda: _run(self.hatch, "build", "-t", "wheel")),
        ]
        if self.container:
            stages += [
                Stage("image", self.build_image),
                Stage("push", self.push_image),
                Stage("SBOM", self.sbom),
                Stage("deploy", self.deploy),
            ]
        return stages

    def test_matrix(self) -> str:
        """The suite with the gate on every interpreter, the cells side by side.

        The Docker end-to-end tests are left to `hatch run test` (once): on
        GitHub's runners they skip, and here the container stages below do
        the same for real. Four more runs would prove nothing new.
        """
        pythons = matrix.read_matrix()
        matrix.require_pythons(pythons)
        # Create missing environments one at a time before the cells start together.
        _run(self.hatch, "env", "create", matrix.ENV)
        result = cells.run_cells(self.hatch, pythons, ["-m", "not e2e"], self.reports)
        print(cells.describe(result), flush=True)
        failed = [cell.python for cell in result if not cell.ok]
        if failed:
            raise CheckFailed(f"the suite failed on Python {', '.join(failed)} (logs in {self.reports})")
        return f"Python {', '.join(pythons)} side by side; e2e tests: in `hatch run test` and below"

    def build_image(self) -> str:
        """Build from the working tree on the local base (the build reaches PyPI via the host)."""
        from sample_app import __version__  # noqa: PLC0415

        build.build(
            self.ref.references,
            base=self.base,
            revision=self.sha,
            version=__version__,
            host_network=True,
            created=build.commit_time(self.sha),
        )
        return f"base {self.base}"

    def push_image(self) -> str:
        """Push every tag to the local registry; from here on only the digest is used."""
        self.digest = build.push(self.ref.references)
        facts = jobfiles.ImageFacts(self.ref.name, self.ref.tags, self.digest, True, f"local registry {self.registry}")
        jobfiles.write_image(self.reports / "image.json", facts)
        return f"{self.ref.name}@{self.digest}"

    def sbom(self) -> str:
        """Describe the pushed digest, as CI does."""
        count = build.sbom(
            f"registry:{self.ref.name}@{self.digest}", self.reports / "sbom.json", insecure_registry=True
        )
        return f"{count} components"

    def deploy(self) -> str:
        """Deploy by digest; unverified, and the report says why."""
        result = deploy.deploy(f"{self.ref.name}@{self.digest}", "local", None)
        result.verification = NOT_VERIFIED
        (self.reports / "cd-report.md").write_text(deploy.render(result), encoding="utf-8")
        (self.reports / "cd-report.json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        deploy.require_ok(result)
        return "2 3 -> 5, 2 abc -> exit 2; " + NOT_VERIFIED.split(":", maxsplit=1)[0]

    def write_ci_report(self) -> None:
        """Always written, also after a failed stage: it shows what is missing, and why."""
        data = inputs.load(self.reports, self.sha, "", "local")
        data.attestation = inputs.Missing(NOT_VERIFIED.replace("not possible offline", "no attestation offline"))
        data.trivy = inputs.Missing("Trivy runs on GitHub Actions only (it cannot be installed here)")
        data.artifacts = inputs.Missing(f"a local run keeps its files in {self.reports}")
        (self.reports / "ci-report.md").write_text(report.render(data), encoding="utf-8")


PLATFORM_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-platform.sh"


def _platform_up(script: Path) -> str:
    """Bring the container platform up with its own script; "" when it answers after."""
    print(f">>> container platform: bash {script} up", flush=True)
    try:
        result = subprocess.run(
            [shutil.which("bash") or "/bin/bash", str(script), "up"],
            stdout=subprocess.PIPE,
            text=True,
            timeout=1800,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"`bash {script} up` could not run ({type(error).__name__})"
    if result.returncode != 0:
        return f"`bash {script} up` failed (exit {result.returncode}; its log is above)"
    for line in result.stdout.splitlines():  # LOCAL_REGISTRY=..., as the script prints them
        key, sep, value = line.partition("=")
        if sep and key.startswith("LOCAL_") and key.replace("_", "").isalnum():
            os.environ[key] = value
    return docker.available()


def preflight(*, container: bool, platform_script: Path | None) -> str:
    """Everything missing before any stage runs, as one message ("" when ready).

    The interpreters of the matrix are run, not only found. Without a Docker
    engine, the platform script brings one up when this user may (root), the
    same script and idempotence as `.ci/run`; otherwise the message names the
    one command to run.
    """
    problems = []
    try:
        missing = matrix.missing_pythons(matrix.read_matrix())
    except PipelineError as error:
        problems.append(str(error))
    else:
        if missing:
            try:
                matrix.require_pythons(list(missing))
            except CheckFailed as error:
                problems.append(str(error))
    if container and docker.available():
        can_start = platform_script is not None and platform_script.is_file() and os.geteuid() == 0
        absent = _platform_up(platform_script) if can_start and platform_script else docker.available()
        if absent:
            where = platform_script or PLATFORM_SCRIPT
            problems.append(
                f"{absent}; bring the container platform up with `sudo bash {where} up`, "
                "or run the rest without containers: hatch run pipeline --no-container"
            )
    return "; ".join(problems)


def run_local(*, container: bool, reports: Path, platform_script: Path | None = None) -> int:
    """Run every stage with progress and times; exit 1 if any failed."""
    missing = preflight(container=container, platform_script=platform_script)
    if missing:
        print(f"error: nothing ran: {missing}", file=sys.stderr)
        return 1
    reports.mkdir(parents=True, exist_ok=True)
    for stale in reports.iterdir():
        if stale.is_file():
            stale.unlink()
    pipeline = LocalPipeline(reports, container=container)
    stages = pipeline.stages()
    failed = False
    for stage in stages:
        if failed:
            stage.status = "skipped"
            continue
        print(f"\n>>> {stage.name}", flush=True)
        started = time.monotonic()
        try:
            stage.note = stage.action()
            stage.status = "ok"
        except PipelineError as error:
            stage.status, stage.note, failed = "FAILED", str(error), True
        stage.seconds = time.monotonic() - started
        print(f"<<< {stage.name}: {stage.status} in {stage.seconds:.1f}s", flush=True)
    pipeline.write_ci_report()
    if not container:
        print("containers skipped (--no-container): no image, push, SBOM or deployment")
    print(summary_table(stages))
    print(f"reports: {reports / 'ci-report.md'}" + (f", {reports / 'cd-report.md'}" if container else ""))
    return 1 if failed else 0


def summary_table(stages: list[Stage]) -> str:
    """The final table, in Markdown so it can be pasted into an issue."""
    rows = ["| stage | result | seconds | note |", "| --- | --- | ---: | --- |"]
    rows += [f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.note} |" for s in stages]
    rows.append(f"| total | | {sum(s.seconds for s in stages):.1f} | |")
    return "\n".join(rows)
