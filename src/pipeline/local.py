"""The pipeline on one machine: the same stages as CI and CD, end to end.

GitHub is not there, so reports go to files; GHCR is a registry on
127.0.0.1; signing needs GitHub's OIDC token, so verification is reported as
not possible offline instead of pretending.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline import docker, image
from pipeline.errors import CheckFailed

LOCAL_REPOSITORY = "local/sample-app"


@dataclass
class Stage:
    """One row of the final table."""

    name: str
    ok: bool = False
    seconds: float = 0.0
    note: str = ""


def _sh(*argv: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, check=False, env=env)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        raise CheckFailed(f"`{' '.join(argv)}` exited {result.returncode}")


def _git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10  # noqa: S607
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out if len(out) == 40 else "0" * 40


def run_local(*, container: bool, reports: Path) -> int:
    """Run every stage, print progress and times; exit 1 if any stage failed."""
    if container:
        missing = docker.available()
        if missing:
            print(f"error: {missing}. Or run without containers: hatch run pipeline --no-container",  # noqa: T201
                  file=sys.stderr)
            return 1
    for stale in reports.glob("*"):
        if stale.is_file():
            stale.unlink()
    reports.mkdir(parents=True, exist_ok=True)
    hatch = shutil.which("hatch") or "hatch"
    registry = os.environ.get("LOCAL_REGISTRY", "127.0.0.1:5000")
    base = os.environ.get("LOCAL_BASE_IMAGE", "local/debian-python:bookworm")
    sha = _git_sha()
    ref = image.image_ref(registry, LOCAL_REPOSITORY, sha, "local")
    state: dict[str, str] = {}

    def build() -> None:
        _sh("docker", "build", "--quiet", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
            "--build-arg", f"VCS_REF={sha}", *[a for t in ref.references for a in ("-t", t)], ".")

    def push() -> None:
        for tag in ref.references:
            _sh("docker", "push", "--quiet", tag)
        from pipeline import registry as reg  # noqa: PLC0415

        digest = reg.resolve(reg.parse_reference(f"{ref.name}:sha-{sha}")).digest
        state["digest"] = digest
        _sh(sys.executable, "-m", "pipeline", "image-json", "--name", ref.name,
            "--tags", " ".join(ref.references), "--digest", digest, "--pushed", "true",
            "--output", str(reports / "image.json"))

    def sbom() -> None:
        pinned = f"{ref.name}@{state['digest']}"
        _sh("syft", "scan", "-q", f"registry:{pinned}", "-o", f"cyclonedx-json={reports / 'sbom.json'}",
            env={**os.environ, "SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_CHECK_FOR_APP_UPDATE": "false"})

    def deploy() -> None:
        _sh(sys.executable, "-m", "pipeline", "deploy", "--image", f"{ref.name}@{state['digest']}",
            "--environment", "local", "--no-verify", "--output", str(reports / "cd-report.json"))

    stages: list[tuple[str, object, str]] = [
        ("lint", lambda: _sh(hatch, "run", "lint"), ""),
        ("tests (matrix, gate)", lambda: _sh(hatch, "run", "test-all"), ""),
        ("combined coverage", lambda: _sh(sys.executable, "-m", "pipeline", "combine-coverage", str(reports)), ""),
        ("wheel", lambda: _sh(hatch, "build", "-t", "wheel", "dist"), ""),
    ]
    if container:
        stages += [
            ("image", build, f"base {base}"),
            ("push", push, f"registry {registry}"),
            ("SBOM", sbom, "syft, CycloneDX"),
            ("deploy", deploy, "verification not possible offline (no Sigstore signing here)"),
        ]
    stages.append(("CI report", lambda: _sh(sys.executable, "-m", "pipeline", "report", "--reports",
                                            str(reports), "--sha", sha, "--branch", "local"), ""))
    results: list[Stage] = []
    failed = False
    for name, action, note in stages:
        stage = Stage(name, note=note)
        results.append(stage)
        if failed and name != "CI report":
            stage.note = "skipped: an earlier stage failed"
            continue
        print(f"\n>>> {name}", flush=True)  # noqa: T201
        started = time.monotonic()
        try:
            action()  # type: ignore[operator]
            stage.ok = True
        except CheckFailed as error:
            stage.note = str(error)
            failed = True
        stage.seconds = time.monotonic() - started
    _table(results)
    return 1 if failed else 0


def _table(results: list[Stage]) -> None:
    print("\n| stage | result | seconds | note |\n| --- | --- | ---: | --- |")  # noqa: T201
    for s in results:
        print(f"| {s.name} | {'ok' if s.ok else 'FAILED' if s.seconds else '-'} | {s.seconds:.1f} | {s.note} |")  # noqa: T201
    print(f"total: {sum(s.seconds for s in results):.1f}s; reports in reports/ci-report.md, reports/cd-report.md")  # noqa: T201
