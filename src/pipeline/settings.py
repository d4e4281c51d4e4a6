"""One typed object built from the environment: the only place a variable is read.

``Settings`` holds what GitHub Actions sets for every job (``GITHUB_*``), the
repository's switches and the local platform's settings; ``JobEnv`` holds
what this repository's workflows pass a job in its ``env:``. Each value is
validated here, once, before any command uses it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
# The local platform (scripts/local-platform.sh prints the same values).
LOCAL_REGISTRY = "127.0.0.1:5000"
LOCAL_BASE_IMAGE = "local/debian-python:bookworm"
# The local test Sigstore authority the platform starts; only the local
# pipeline falls back to it (everything else uses it only when LOCAL_SIGSTORE names it).
LOCAL_SIGSTORE = "http://127.0.0.1:5010"
_NUMBER = re.compile(r"[0-9]{1,19}")
_BRANCH_REF = re.compile(r"refs/heads/[A-Za-z0-9._/-]{1,200}")
_TRIGGERS = {"", "push", "pull_request"}
DEFAULT_MAX_WAIT = 120.0
# Events whose GITHUB_TOKEN GitHub makes read-only for a fork's pull request,
# and those it makes read-only when Dependabot triggers them (GitHub's docs,
# "Troubleshooting Dependabot on GitHub Actions"). workflow_run and
# pull_request_target get the repository's token in both cases.
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_review", "pull_request_review_comment"})
DEPENDABOT_READ_ONLY_EVENTS = PULL_REQUEST_EVENTS | {"push", "create", "deployment", "deployment_status"}
DEPENDABOT = "dependabot[bot]"


class WaitBudget:
    """The seconds one command may spend waiting on GitHub and the registry, all clients together.

    Every request's time is charged (its socket timeout is never more than
    what is left), and so is every back-off and every Retry-After. Only time
    spent waiting is counted, not the command's own work (a build, a deploy's
    smoke test between two calls): the budget bounds what a hanging or
    throttling service can cost, not how long a job may run. One budget
    belongs to one ``Settings`` (``Settings.budget``), which a command reads
    once: every client built from it shares it.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = seconds
        self.spent = 0.0
        self._clock = clock

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(self.total - self.spent, 0.0)

    def exhausted(self) -> bool:
        """Whether nothing is left to wait with (under 10 ms is nothing)."""
        return self.remaining() < 0.01

    def timeout(self, own: float) -> float:
        """A socket timeout: the call's own, or what is left when that is less."""
        return min(own, self.remaining())

    def charge(self, seconds: float) -> None:
        """Count a wait that was not measured here (a sleep)."""
        self.spent += max(seconds, 0.0)

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Charge the time the ``with`` body takes (a request, its reply)."""
        start = self._clock()
        try:
            yield
        finally:
            self.spent += max(self._clock() - start, 0.0)

    def describe(self) -> str:
        """What the error line says about the budget."""
        return f"the command's {self.total:g}s wait budget (PIPELINE_MAX_WAIT; {self.spent:.0f}s spent)"


def _max_wait(environ: dict[str, str]) -> float:
    """``PIPELINE_MAX_WAIT``: a finite number of seconds above zero."""
    text = environ.get("PIPELINE_MAX_WAIT", "")
    if not text:
        return DEFAULT_MAX_WAIT
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"PIPELINE_MAX_WAIT is not a number of seconds: {text[:20]!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"PIPELINE_MAX_WAIT must be a number of seconds above 0, not {text[:20]!r}")
    return value


def _number(environ: dict[str, str], name: str) -> str:
    """A variable that must be digits when set (a PR number, a run id)."""
    value = environ.get(name, "")
    if value and not _NUMBER.fullmatch(value):
        raise InputError(f"{name} is not a number: {value[:40]!r}")
    return value


@dataclass(frozen=True)
class JobEnv:
    """What the workflows pass a job in ``env:`` (CI's report job, CD's jobs)."""

    head_sha: str = ""
    head_ref: str = ""
    head_repository: str = ""
    pr_number: str = ""
    pr_author: str = ""
    trigger: str = ""
    run_id: str = ""  # the CI run CD deploys from
    run_attempt: str = "1"
    fork_head: str = ""
    event_pull_requests: tuple[int, ...] = ()
    environment: str = "preview"
    repository_id: str = ""
    registry_token: str = field(default="", repr=False)
    attestation_id: str = ""
    attestation_url: str = ""
    needs: str = ""
    sigstore_offline: bool = False
    ref: str = ""  # refs/heads/<branch>: the pushed branch CD deploys (the guard's ref output)

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> JobEnv:
        """Read and validate every job variable; a bad one is a usage error naming it."""
        trigger = environ.get("TRIGGER", "")
        if trigger not in _TRIGGERS:
            raise InputError(f"TRIGGER must be pull_request or push, not {trigger[:30]!r}")
        ref = environ.get("REF", "")
        if ref and not _BRANCH_REF.fullmatch(ref):
            raise InputError(f"REF must be refs/heads/<branch>, not {ref[:60]!r}")
        named = environ.get("EVENT_PULL_REQUESTS", "")
        if named and not all(_NUMBER.fullmatch(n) for n in named.split(",")):
            raise InputError(f"EVENT_PULL_REQUESTS is not a list of numbers: {named[:40]!r}")
        return cls(
            head_sha=environ.get("HEAD_SHA", ""),
            head_ref=environ.get("HEAD_REF", ""),
            head_repository=environ.get("HEAD_REPOSITORY", ""),
            pr_number=_number(environ, "PR_NUMBER"),
            pr_author=environ.get("PR_AUTHOR", ""),
            trigger=trigger,
            run_id=_number(environ, "RUN_ID"),
            run_attempt=_number(environ, "RUN_ATTEMPT") or "1",
            fork_head=environ.get("FORK_HEAD", ""),
            event_pull_requests=tuple(int(n) for n in named.split(",")) if named else (),
            environment=environ.get("ENVIRONMENT", "") or "preview",
            repository_id=_number(environ, "REPOSITORY_ID"),
            registry_token=environ.get("REGISTRY_TOKEN", ""),
            attestation_id=environ.get("ATTESTATION_ID", ""),
            attestation_url=environ.get("ATTESTATION_URL", ""),
            needs=environ.get("NEEDS", ""),
            sigstore_offline=environ.get("SIGSTORE_OFFLINE", "") in {"1", "true"},
            ref=ref,
        )


_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REGISTRY = re.compile(r"[a-z0-9.-]+(?::[0-9]{1,5})?")
_BUILD_NETWORKS = {"", "default", "host", "none"}


_LOOPBACK_URL = re.compile(r"http://(?:127\.0\.0\.1|localhost):[0-9]{1,5}")


def _local_sigstore(environ: dict[str, str]) -> str:
    """``LOCAL_SIGSTORE``: a loopback URL, and never on a real GitHub runner.

    The local authority is a test authority: a job on GitHub that verified
    against it would accept what any process on the runner signed.
    """
    url = environ.get("LOCAL_SIGSTORE", "").rstrip("/")
    if not url:
        return ""
    if not _LOOPBACK_URL.fullmatch(url):
        raise InputError(f"LOCAL_SIGSTORE must be http://127.0.0.1:<port>, not {url[:60]!r}")
    if environ.get("GITHUB_ACTIONS") == "true" and environ.get("ACT") != "true":
        raise InputError("LOCAL_SIGSTORE is set on a GitHub runner: the local test authority is never used there")
    return url


@dataclass(frozen=True)
class Settings:
    """What the helpers need to know about the run; the token never prints."""

    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    token: str = field(default="", repr=False)
    repository: str = ""
    run_id: str = ""
    run_attempt: str = "1"
    sha: str = ""
    ref: str = ""
    event_name: str = ""
    event_path: str = ""
    ref_name: str = ""
    workflow_ref: str = ""  # owner/repo/.github/workflows/x.yml@ref: the running workflow
    repository_id: str = ""
    step_summary: str = ""
    output: str = ""
    comment_author: str = "github-actions[bot]"
    actor: str = ""  # GITHUB_ACTOR: who triggered the run (kept on re-runs)
    max_wait: float = DEFAULT_MAX_WAIT
    # Where images go (ghcr.io on GitHub; the local registry under act) and how
    # they are built and described; empty base means the Dockerfile's own.
    image_registry: str = "ghcr.io"
    base_image: str = ""
    build_network: str = ""
    # The repository variable ATTEST_IMAGES: "false" switches attestations off,
    # and CD then deploys unverified and says so.
    attest_images: bool = True
    local_registry: str = LOCAL_REGISTRY
    local_base_image: str = LOCAL_BASE_IMAGE
    # The local test Sigstore authority (scripts/local-platform.sh prints it):
    # when set, signing and verification use it and nothing else.
    local_sigstore: str = ""
    job: JobEnv = field(default_factory=JobEnv)

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> Settings:
        """Read the standard Actions variables; validate what is used in URLs."""
        repository = environ.get("GITHUB_REPOSITORY", "")
        if repository and not _REPOSITORY.fullmatch(repository):
            raise InputError(f"GITHUB_REPOSITORY is not owner/name: {repository[:80]!r}")
        run_id = environ.get("GITHUB_RUN_ID", "")
        if run_id and not run_id.isdigit():
            raise InputError(f"GITHUB_RUN_ID is not a number: {run_id[:40]!r}")
        max_wait = _max_wait(environ)
        registry = environ.get("IMAGE_REGISTRY", "") or "ghcr.io"
        if not _REGISTRY.fullmatch(registry):
            raise InputError(f"IMAGE_REGISTRY is not a registry host: {registry[:80]!r}")
        network = environ.get("IMAGE_BUILD_NETWORK", "")
        if network not in _BUILD_NETWORKS:
            raise InputError(f"IMAGE_BUILD_NETWORK must be one of {sorted(_BUILD_NETWORKS)}, not {network[:20]!r}")
        attest = environ.get("ATTEST_IMAGES", "").strip().lower()
        if attest not in {"", "true", "false"}:
            raise InputError(f"ATTEST_IMAGES must be true or false, not {attest[:20]!r}")
        return cls(
            local_sigstore=_local_sigstore(environ),
            job=JobEnv.from_env(environ),
            local_registry=environ.get("LOCAL_REGISTRY", "") or LOCAL_REGISTRY,
            local_base_image=environ.get("LOCAL_BASE_IMAGE", "") or LOCAL_BASE_IMAGE,
            ref_name=environ.get("GITHUB_REF_NAME", ""),
            workflow_ref=environ.get("GITHUB_WORKFLOW_REF", ""),
            repository_id=_number(environ, "GITHUB_REPOSITORY_ID"),
            image_registry=registry,
            base_image=environ.get("BASE_IMAGE", ""),
            build_network=network,
            attest_images=attest != "false",
            api_url=environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/"),
            server_url=environ.get("GITHUB_SERVER_URL", DEFAULT_SERVER_URL).rstrip("/"),
            token=environ.get("GITHUB_TOKEN", ""),
            repository=repository,
            run_id=run_id,
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", "1") or "1",
            sha=environ.get("GITHUB_SHA", ""),
            ref=environ.get("GITHUB_REF", ""),
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            event_path=environ.get("GITHUB_EVENT_PATH", ""),
            step_summary=environ.get("GITHUB_STEP_SUMMARY", ""),
            output=environ.get("GITHUB_OUTPUT", ""),
            comment_author=environ.get("PIPELINE_COMMENT_AUTHOR", "github-actions[bot]"),
            actor=environ.get("GITHUB_ACTOR", ""),
            max_wait=max_wait,
        )

    @functools.cached_property
    def budget(self) -> WaitBudget:
        """The command's one wait budget, shared by every client built from these settings."""
        return WaitBudget(self.max_wait)

    def read_only_token(self) -> str:
        """Why GitHub gives this job a read-only token by design, or "" when it does not.

        From typed facts only: the event, the PR's head repository the
        workflow passes (``HEAD_REPOSITORY``) and the actor. When this is ""
        a 403 on a write means the workflow did not grant the permission.
        """
        head = self.job.head_repository
        if self.event_name in PULL_REQUEST_EVENTS and head and self.repository and head != self.repository:
            return f"pull request from the fork {head}: GitHub gives its runs a read-only token"
        if self.actor == DEPENDABOT and self.event_name in DEPENDABOT_READ_ONLY_EVENTS:
            return f"run triggered by Dependabot ({self.event_name}): GitHub gives it a read-only token"
        return ""

    def require_repository(self) -> tuple[str, str]:
        """``(owner, name)``, or a usage error naming the variable."""
        if not self.repository:
            raise InputError("GITHUB_REPOSITORY is not set (owner/name)")
        owner, name = self.repository.split("/")
        return owner, name

    @property
    def run_url(self) -> str:
        """Link to this workflow run, or "" outside Actions."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def event(self) -> dict[str, Any]:
        """The webhook payload of the triggering event ({} when there is none)."""
        if not self.event_path:
            return {}
        try:
            data = json.loads(Path(self.event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read the event file {self.event_path}: {error}") from None
        if not isinstance(data, dict):
            raise InputError(f"the event file {self.event_path} is not a JSON object")
        return data
