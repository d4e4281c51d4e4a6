"""CD's gate on a ``workflow_run`` event: act only on what CI itself vouched for.

Everything in the event is untrusted text; it is validated before any use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.grammar import SHA

if TYPE_CHECKING:
    from pipeline.profile import Profile

CI_PATH = ".github/workflows/ci.yml"
DEPENDABOT = "dependabot[bot]"
# ASCII digits only, no leading zero: str.isdigit() also takes "²" and "٣",
# which would then reach URLs and step outputs.
_NUMBER = re.compile(r"[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Decision:
    """Whether to act, why, and the validated values CD then uses."""

    act: bool
    reason: str
    sha: str = ""
    run_id: str = ""
    run_attempt: str = ""
    event: str = ""
    environment: str = ""
    fork_head: str = ""
    ref: str = ""
    pull_requests: str = ""  # the PR numbers the event names, comma-separated digits

    def outputs(self) -> dict[str, str]:
        """Step outputs (only validated strings)."""
        return {
            "act": "true" if self.act else "false",
            "reason": self.reason,
            "sha": self.sha,
            "run-id": self.run_id,
            "run-attempt": self.run_attempt,
            "event": self.event,
            "environment": self.environment,
            "fork-head": self.fork_head,
            "ref": self.ref,
            "pull-requests": self.pull_requests,
        }


def _get(data: Any, *keys: str) -> Any:  # noqa: ANN401 - walking JSON
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def decide(event: dict[str, Any], repository: str, profile: Profile) -> Decision:
    """Success, same repository, CI's own workflow, and an environment for it in the profile.

    A push deploys to the environment its branch has in
    ``[tool.service-pipeline.environments]`` (``main`` -> production, ``develop``
    -> staging by default), a same-repository pull request to its
    ``pull-requests`` one; anything else is not deployed, and says why.
    """
    run = event.get("workflow_run")
    if not isinstance(run, dict):
        return Decision(act=False, reason="not a workflow_run event")
    if run.get("conclusion") != "success":
        return Decision(act=False, reason=f"CI concluded {str(run.get('conclusion'))[:20]!r}")
    if str(_get(run, "head_repository", "full_name")) != repository:
        return Decision(act=False, reason="the run's head repository is not this repository")
    path = str(run.get("path", ""))
    if path != CI_PATH and not path.startswith(CI_PATH + "@"):
        return Decision(act=False, reason="the run is not this repository's CI workflow")
    sha, run_id = str(run.get("head_sha", "")), str(run.get("id", ""))
    attempt = str(run.get("run_attempt", "1"))
    if not SHA.fullmatch(sha) or not _NUMBER.fullmatch(run_id) or not _NUMBER.fullmatch(attempt):
        return Decision(act=False, reason="head_sha or run id is malformed")
    trigger = run.get("event")
    branch = str(run.get("head_branch", ""))
    actors = {str(_get(run, key, "login")) for key in ("actor", "triggering_actor")}
    if trigger == "pull_request" and (DEPENDABOT in actors or branch.startswith("dependabot/")):
        # CI builds and tests Dependabot's PRs but never pushes their image.
        return Decision(act=False, reason="Dependabot pull request: CI pushed no image to deploy")
    owner = str(_get(run, "head_repository", "owner", "login"))
    if trigger == "push":
        environment = profile.environment_for_branch(branch)
        if not environment:
            return Decision(act=False, reason=f"push to {branch[:60]!r}, which the profile deploys nowhere")
        return Decision(
            True, f"push to {branch}", sha, run_id, attempt, "push", environment, ref=f"refs/heads/{branch}"
        )
    if trigger == "pull_request":
        if not profile.pull_request_environment:
            return Decision(act=False, reason="the profile deploys pull requests nowhere")
        fork_head = f"{owner}:{branch}" if re.fullmatch(r"[\w.-]+:[\w./-]+", f"{owner}:{branch}") else ""
        named = run.get("pull_requests")
        numbers = [
            str(pr["number"])
            for pr in (named if isinstance(named, list) else [])
            if isinstance(pr, dict) and type(pr.get("number")) is int and pr["number"] > 0
        ]
        return Decision(
            True,
            "pull request",
            sha,
            run_id,
            attempt,
            "pull_request",
            profile.pull_request_environment,
            fork_head,
            pull_requests=",".join(numbers[:20]),
        )
    return Decision(act=False, reason=f"trigger {str(trigger)[:30]!r} is not deployed")
