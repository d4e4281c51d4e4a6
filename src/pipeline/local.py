"""The pipeline on one machine: the same stages as CI and CD, end to end.

GitHub is not there, so the reports go to files; GHCR is replaced by a
registry on 127.0.0.1, and GitHub's Sigstore by the local test authority
(``pipeline.authority``): the image is attested with sigstore's own signer,
the bundle stored next to it in the registry, and the deployment verifies it
against the local trust root alone, with the identity a CI run would have.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import (
    attest,
    build,
    cells,
    deploy,
    docker,
    image,
    inputs,
    jobfiles,
    matrix,
    referrers,
    registry,
    report,
    signing,
    verify,
)
from pipeline import profile as service_profile
from pipeline.errors import CheckFailed, PipelineError
from pipeline.settings import LOCAL_SIGSTORE, Settings
from pipeline.trust import Trust

if TYPE_CHECKING:
    from collections.abc import Callable

LOCAL_REPOSITORY = "local/sample-app"
# The branch a local run's image is tagged as (``local``, ``local-sha-<commit>``).
LOCAL_BRANCH = "local"


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
    return build.checked_out_commit() or "0" * 40


def _git_ref() -> str:
    """The checked-out branch as a ref (what a push to it would sign as); main when detached."""
    try:
        out = subprocess.run(
            ["git", "symbolic-ref", "--quiet", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out if out.startswith("refs/heads/") and " " not in out else "refs/heads/main"


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
        self.ref = image.image_ref(self.registry, LOCAL_REPOSITORY, self.sha, LOCAL_BRANCH)
        self.digest = ""
        self.trust = Trust(local_url=settings.local_sigstore or LOCAL_SIGSTORE)
        # The identity a CI run of this commit would sign with; the run id is
        # this run's own, so a bundle of an earlier run is not accepted.
        self.run = signing.Workflow(
            repository=LOCAL_REPOSITORY, ref=_git_ref(), sha=self.sha, run_id=str(int(time.time()))
        )
        self.attestation = ""

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
                Stage("attest", self.attest),
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
        service = service_profile.load()
        build.build(
            self.ref.references,
            service.context,
            dockerfile=service.dockerfile,
            base=self.base,
            revision=self.sha,
            version=service.version(),
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

    def attest(self) -> str:
        """SLSA provenance of the pushed digest, signed as this run, stored next to the image."""
        made = attest.attest(
            attest.image_subject(self.ref.name, self.digest),
            trust=self.trust,
            run=self.run,
            output=self.reports / "provenance.sigstore.json",
            referrer_of=self.ref.name,
        )
        self.attestation = made.referrer
        return f"signed as {self.run.workflow_ref}; referrer {made.referrer[:19]}…"

    def deploy(self) -> str:
        """Deploy by digest, verified from the registry against the local trust root alone."""
        expected = verify.Expectations(
            repository=self.run.repository,
            ref=self.run.ref,
            repository_id=self.run.repository_id,
            run_id=self.run.run_id,
            issuer=self.trust.issuer,
        )
        verifier = self.trust.verifier()

        def check(digest: str) -> verify.Verified:
            bundles = referrers.find(registry.parse_reference(f"{self.ref.name}@{digest}"))
            return verify.verify_any(bundles, expected, digest.removeprefix("sha256:"), verifier)

        runs = service_profile.load().runs
        result = deploy.deploy(f"{self.ref.name}@{self.digest}", "local", check, runs=runs)
        (self.reports / "cd-report.md").write_text(deploy.render(result), encoding="utf-8")
        (self.reports / "cd-report.json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        deploy.require_ok(result)
        done = ", ".join(
            f"{' '.join(r.args)} -> {r.output if r.output is not None else 'exit ' + str(r.exit_code)}" for r in runs
        )
        return f"{done}; {result.verification} against {self.trust.describe()}"

    def write_ci_report(self) -> None:
        """Always written, also after a failed stage: it shows what is missing, and why."""
        data = inputs.load(self.reports, self.sha, "", "local")
        data.attestation = (
            jobfiles.AttestationRecord(self.attestation)
            if self.attestation
            else inputs.Missing("not attested: the run stopped before the attest stage")
        )
        data.trivy = inputs.Missing("Trivy runs on GitHub Actions only (it cannot be installed here)")
        data.artifacts = inputs.Missing(f"a local run keeps its files in {self.reports}")
        (self.reports / "ci-report.md").write_text(report.render(data), encoding="utf-8")


PLATFORM_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-platform.sh"


def _platform_missing() -> str:
    """What of the container platform does not answer ("" when all does)."""
    absent = docker.available()
    if absent:
        return absent
    url = Settings.from_env(dict(os.environ)).local_sigstore or LOCAL_SIGSTORE
    try:
        with urllib.request.urlopen(f"{url}/trusted_root.json", timeout=5):  # noqa: S310 - a loopback URL, checked
            return ""
    except OSError:
        return f"no local Sigstore authority answers on {url}"


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
    return _platform_missing()


def preflight(*, container: bool, platform_script: Path | None) -> str:
    """Everything missing before any stage runs, as one message ("" when ready).

    The interpreters of the matrix are run, not only found. Without a Docker
    engine or the local Sigstore authority, the platform script brings them
    up when this user may (root), the same script and idempotence as
    `.ci/run`; otherwise the message names the one command to run.
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
    if container and _platform_missing():
        can_start = platform_script is not None and platform_script.is_file() and os.geteuid() == 0
        absent = _platform_up(platform_script) if can_start and platform_script else _platform_missing()
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
    failed = run_stages(stages)
    pipeline.write_ci_report()
    if not container:
        print("containers skipped (--no-container): no image, push, SBOM or deployment")
    print(summary_table(stages))
    print(f"reports: {reports / 'ci-report.md'}" + (f", {reports / 'cd-report.md'}" if container else ""))
    return 1 if failed else 0


def run_stages(stages: list[Stage]) -> bool:
    """Run each stage with progress and time; after a failure the rest are skipped. True if one failed."""
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
        except (PipelineError, subprocess.CalledProcessError) as error:
            stage.status, stage.note, failed = "FAILED", _one_line(error), True
        stage.seconds = time.monotonic() - started
        print(f"<<< {stage.name}: {stage.status} in {stage.seconds:.1f}s", flush=True)
    return failed


def _one_line(error: BaseException) -> str:
    """A failed stage's note: a command's exit and the end of its stderr, or the error."""
    if isinstance(error, subprocess.CalledProcessError):
        return f"`{' '.join(map(str, error.cmd))}` exited {error.returncode}: {str(error.stderr).strip()[-200:]}"
    return str(error)


def summary_table(stages: list[Stage]) -> str:
    """The final table, in Markdown so it can be pasted into an issue."""
    rows = ["| stage | result | seconds | note |", "| --- | --- | ---: | --- |"]
    rows += [f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.note} |" for s in stages]
    rows.append(f"| total | | {sum(s.seconds for s in stages):.1f} | |")
    return "\n".join(rows)
