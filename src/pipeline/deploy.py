"""The verified deployment: resolve once, pull by digest, verify, run, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline import docker, registry
from pipeline import markdown as md
from pipeline.errors import CheckFailed, PipelineError
from pipeline.verify import Verified

if TYPE_CHECKING:
    from pipeline.profile import Run
    from pipeline.settings import WaitBudget

CD_MARKER = "<!-- service-pipeline:cd-report -->"


@dataclass
class Step:
    """One stage of the deployment as the report shows it."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    command: str = ""
    output: str = ""
    exit_code: int | None = None


@dataclass
class Deployment:
    """The CD report's data (written as JSON, rendered as Markdown)."""

    image: str
    environment: str
    digest: str = ""
    verification: str = "not run"
    verified: dict[str, str] | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every step passed (and there was at least one)."""
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``cd-report.json``."""
        return {**asdict(self), "ok": self.ok}


def deploy(
    image: str,
    environment: str,
    verify: Callable[[str], Verified] | None,
    *,
    runs: tuple[Run, ...],
    timeout: float = 60,
    registry_token: str = "",
    unverified_reason: str = "switched off explicitly (--no-verify)",
    budget: WaitBudget | None = None,
) -> Deployment:
    """Run every stage; a failure stops the rest and is recorded, never raised.

    ``verify`` is None only when verification was switched off explicitly,
    and the report says so. ``runs`` are the service profile's smoke test and
    bad-input run (``Profile.runs``).
    """
    result = Deployment(image=image, environment=environment)
    try:
        started = time.monotonic()
        ref = registry.resolve(registry.parse_reference(image), registry_token, budget=budget)
        result.digest = ref.digest
        resolved = Step("resolve", ok=True, detail=f"{image} -> {ref.digest}", seconds=time.monotonic() - started)
        result.steps.append(resolved)
        pull = docker.docker("pull", "--quiet", ref.pinned, timeout=600)
        result.steps.append(
            Step("pull", ok=True, detail="pulled by digest", seconds=pull.seconds, command=" ".join(pull.argv))
        )
    except PipelineError as error:
        result.steps.append(Step("resolve and pull", ok=False, detail=str(error)))
        return result
    if verify is None:
        result.verification = f"not verified: {unverified_reason}"
    else:
        started = time.monotonic()
        try:
            verified = verify(ref.digest)
        except PipelineError as error:
            result.verification = f"failed: {error}"
            result.steps.append(Step("verify", ok=False, detail=str(error), seconds=time.monotonic() - started))
            return result
        result.verification = "verified"
        result.verified = verified.to_json()
        elapsed = time.monotonic() - started
        result.steps.append(Step("verify", ok=True, detail=verified.signer_workflow, seconds=elapsed))
    for wanted in runs:
        result.steps.append(_smoke(ref.pinned, wanted, timeout))
    return result


def _smoke(image: str, wanted: Run, timeout: float) -> Step:
    run = docker.run_hardened(image, list(wanted.args), timeout)
    shown = " ".join(run.argv)
    name, expected, code = wanted.label, wanted.output, wanted.exit_code
    if run.timed_out:
        return Step(name, ok=False, detail=f"timed out after {timeout:g}s", seconds=run.seconds, command=shown)
    out = run.stdout.strip()
    ok = run.exit_code == code and (expected is None or out == expected)
    want = f"exit {code}" + (f", output {expected!r}" if expected is not None else "")
    detail = f"expected {want}; got exit {run.exit_code}, output {out[:80]!r}"
    return Step(
        name,
        ok=ok,
        detail=detail,
        seconds=run.seconds,
        command=shown,
        output=(run.stdout + run.stderr)[-2000:],
        exit_code=run.exit_code,
    )


def render(result: Deployment, run_url: str = "") -> str:
    """The CD comment and summary."""
    icon, word = (":rocket:", "succeeded") if result.ok else (":x:", "failed")
    head = f"## {icon} Deployment to {md.code(result.environment, 40)} {word}"
    if run_url:
        head += f" · [run]({run_url})"
    lines = [
        CD_MARKER,
        head,
        "",
        f"- image: {md.code(result.image, 200)}",
        f"- digest: {md.code(result.digest or 'unresolved', 80)}",
        f"- verification: {md.inline(result.verification, 500)}",
    ]
    if result.verification != "verified" and result.steps and result.digest:
        lines += [
            "",
            "> [!WARNING]",
            "> **NOT VERIFIED.** This image ran without a verified attestation: nothing shows that this "
            f"repository's CI built it ({md.inline(result.verification, 300)}).",
        ]
    if result.verified:
        lines.append(f"- signer: {md.code(result.verified.get('signer_workflow', ''), 300)}")
        lines.append(f"- issuer: {md.code(result.verified.get('issuer', ''), 200)}")
        lines.append(f"- run: {md.inline(result.verified.get('run_uri', ''), 300)}")
    rows = [
        [
            ":white_check_mark:" if s.ok else ":x:",
            md.inline(s.name, 40),
            md.inline(s.detail, 300),
            "" if s.exit_code is None else str(s.exit_code),
            f"{s.seconds:.2f}s",
        ]
        for s in result.steps
    ]
    lines += ["", md.table(["", "Step", "Detail", "Exit", "Time"], rows, "lllrr")]
    commands = [s.command for s in result.steps if s.command]
    if commands:
        lines += ["", "<details><summary>Commands</summary>", "", md.code_block("\n".join(commands)), "", "</details>"]
    return "\n".join(lines) + "\n"


def require_ok(result: Deployment) -> None:
    """Exit 1 (through the entry point) when the deployment failed."""
    if not result.ok:
        failed = next(s for s in result.steps if not s.ok)
        raise CheckFailed(f"deployment failed at {failed.name}: {failed.detail}")
