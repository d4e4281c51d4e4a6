"""Image name and tags: one function, used by CI, CD and the local run."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.grammar import MAX_TAG, RELEASE_BRANCH, commit_tag

DEFAULT_REGISTRY = "ghcr.io"
_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]+")
# The tags the pipeline writes itself, which a branch must never overwrite:
# CI's ``sha-<commit>`` and ``pr-<n>``, the release's ``latest`` and every
# version (``X.Y.Z``, ``X.Y``, pre-releases such as ``X.Y.Zrc1``: any tag that
# starts with a digit), and the referrers tag schema's ``sha256-<hex>`` (the
# index that lists an image's attestations).
_RESERVED = re.compile(r"(?:sha-.*|sha256-.*|pr-[0-9]+(?:-.*)?|.*-sha-[0-9a-f]{40}|latest|[0-9].*)", re.IGNORECASE)


def image_name(registry: str, repository: str) -> str:
    """``registry/owner/repo`` in lowercase (GHCR refuses capitals)."""
    return f"{registry}/{repository}".lower()


def service_image(registry: str, repository: str, profile_image: str = "") -> str:
    """The service's image name: the one place that names it, for CI, CD and the release.

    The profile's ``image`` when it sets one, else ``<registry>/<owner>/<repo>``.
    ``registry`` is GHCR unless the run names another (``IMAGE_REGISTRY``: the
    local platform, act): then it replaces the host of the profile's name too,
    so a service with its own image name still runs against the local registry.
    """
    if not profile_image:
        return image_name(registry, repository)
    host, _, path = profile_image.partition("/")
    return f"{registry if registry != DEFAULT_REGISTRY else host}/{path}".lower()


def commit_scope(branch: str = "", pr_number: int | None = None) -> str:
    """The scope of a run's commit tag (``grammar.commit_tag``): the PR, the branch, or "" for the release branch."""
    if pr_number is not None:
        return f"pr-{int(pr_number)}"
    return "" if branch == RELEASE_BRANCH else sanitize_branch(branch)


def ci_image(registry: str, repository: str, profile_image: str, sha: str, scope: str = "") -> str:
    """``<image>:[<scope>-]sha-<commit>``: CI's image of that commit, which CD and the release resolve."""
    return f"{service_image(registry, repository, profile_image)}:{commit_tag(sha, scope)}"


def sanitize_branch(branch: str) -> str:
    """A branch as a tag, like docker/metadata-action: unsafe runs become '-'.

    Leading '.' and '-' are not allowed by Docker, and a tag has at most 128
    characters. ``feat/a`` and ``feat-a`` both give ``feat-a``: that is why CD
    deploys by digest, never by tag. A branch named like a tag the pipeline
    writes itself (``sha-<commit>``, ``pr-7``, ``latest``, a version or
    pre-release, ``sha256-<hex>``) gets a ``branch-`` prefix, so it cannot
    overwrite that tag. Returns "" when nothing usable remains.
    """
    tag = _UNSAFE.sub("-", branch).lstrip(".-")
    if _RESERVED.fullmatch(tag):
        tag = f"branch-{tag}"
    return tag[:MAX_TAG]


@dataclass(frozen=True)
class ImageRef:
    """Name plus tags, in the order they are pushed."""

    name: str
    tags: tuple[str, ...]

    @property
    def references(self) -> list[str]:
        """``name:tag`` for every tag."""
        return [f"{self.name}:{tag}" for tag in self.tags]


def image_ref(
    registry: str,
    repository: str,
    sha: str,
    branch: str = "",
    pr_number: int | None = None,
    profile_image: str = "",
) -> ImageRef:
    """A push's tags: its branch and ``[<branch>-]sha-<commit>``; a PR's: ``pr-<n>`` and ``pr-<n>-sha-<head>``.

    A pull request never takes a branch's tag: its head may be named like a
    deploy branch (a back-merge of ``main`` into ``develop`` has the head
    ``main``), and its image is the merge commit's, not that branch's.
    """
    tags = []
    if pr_number is not None:
        tags.append(f"pr-{int(pr_number)}")
    elif sanitize_branch(branch):
        tags.append(sanitize_branch(branch))
    tags.append(commit_tag(sha, commit_scope(branch, pr_number)))
    return ImageRef(service_image(registry, repository, profile_image), tuple(dict.fromkeys(tags)))


def publish_decision(
    event_name: str, ref: str, event: dict[str, object], repository: str, branches: tuple[str, ...]
) -> tuple[bool, str]:
    """May this run push (and attest) an image? With the reason either way.

    Only pushes to a branch that deploys (``branches``: the profile's,
    ``Profile.deploy_branches``) and same-repository PRs not opened by Dependabot:
    a fork's or Dependabot's token is read-only, and their code is untrusted.
    """
    if event_name == "push":
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""
        if branch and branch in branches:
            return True, f"push to {branch}"
        return False, f"push to {ref}, which deploys nowhere ({', '.join(branches) or 'no branch'} do)"
    if event_name == "pull_request":
        pr = event.get("pull_request")
        if not isinstance(pr, dict):
            return False, "pull_request event without pull request data"
        head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name", "")
        author = (pr.get("user") or {}).get("login", "")
        if str(head_repo).lower() != repository.lower():
            return False, "pull request from a fork: built and tested, not pushed"
        if author == "dependabot[bot]":
            return False, "Dependabot pull request: built and tested, not pushed"
        return True, "pull request from this repository"
    return False, f"event {event_name or 'unknown'} does not publish"
