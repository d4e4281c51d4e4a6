"""Commit SHA -> the open pull request of this repository whose head it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import GitHubError
from pipeline.grammar import require_sha

if TYPE_CHECKING:
    from pipeline.github import GitHub


@dataclass(frozen=True)
class PullRequest:
    """The facts CD needs about a PR."""

    number: int
    head_ref: str
    head_repository: str
    base_ref: str
    why: str = ""  # how it was chosen, when more than one PR has this head


def _matching(items: list[Any], sha: str, repository: str) -> list[PullRequest]:
    """Every open PR whose head is exactly ``sha`` and whose base is this repository."""
    found = []
    for item in items:
        try:
            if (
                item["state"] == "open"
                and item["head"]["sha"] == sha
                and item["base"]["repo"]["full_name"].lower() == repository.lower()
            ):
                head_repo = (item["head"].get("repo") or {}).get("full_name", "")
                found.append(
                    PullRequest(
                        number=int(item["number"]),
                        head_ref=str(item["head"]["ref"]),
                        head_repository=str(head_repo),
                        base_ref=str(item["base"]["ref"]),
                    )
                )
        except (KeyError, TypeError, ValueError):
            raise GitHubError("unexpected pull request data in the API reply") from None
    return found


def choose(candidates: list[PullRequest], preferred: tuple[int, ...] = ()) -> PullRequest | None:
    """One PR for a commit, saying why when there was a choice.

    Two open PRs can share a head commit (the same branch into two bases, or
    a branch opened twice). The one the ``workflow_run`` event names wins;
    otherwise the oldest (lowest number), which is stable across runs.
    """
    unique = sorted({pr.number: pr for pr in candidates}.values(), key=lambda pr: pr.number)
    if len(unique) <= 1:
        return unique[0] if unique else None
    numbers = ", ".join(f"#{pr.number}" for pr in unique)
    named = [pr for pr in unique if pr.number in preferred]
    if named:
        pick, why = named[0], "the one the workflow_run event names"
    else:
        pick, why = unique[0], "the oldest; the workflow_run event names none of them"
    why = f"{numbers} share this head; chose #{pick.number}, {why}"
    return PullRequest(pick.number, pick.head_ref, pick.head_repository, pick.base_ref, why)


def find_pull_request(
    github: GitHub, repository: str, sha: str, fork_head: str = "", preferred: tuple[int, ...] = ()
) -> PullRequest | None:
    """Look the PR up by commit, then (fork PRs) by ``owner:branch``.

    ``None`` is an answer: a push to main has no PR.
    """
    require_sha(sha)
    items = list(github.paginate(f"/repos/{repository}/commits/{sha}/pulls"))
    found = _matching(items, sha, repository)
    if not found and fork_head:
        items = list(github.paginate(f"/repos/{repository}/pulls", {"head": fork_head, "state": "open"}))
        found = _matching(items, sha, repository)
    return choose(found, preferred)


def merge_binds(commit: str, head_sha: str, parents: list[str]) -> str:
    """Why a PR run's certificate commit is not bound to the PR's head ("" when it is).

    A ``pull_request`` run signs as its ``github.sha``: the merge commit of
    ``refs/pull/N/merge``, whose second parent is the head it tested (the
    first is the base). The head itself is accepted too: it is what a run of
    the head (act, a merge queue's checkout) signs.
    """
    if commit == head_sha:
        return ""
    if len(parents) == 2 and parents[1] == head_sha:
        return ""
    named = ", ".join(p[:12] for p in parents) or "none"
    return (
        f"the certificate's commit {commit} is neither the PR's head {head_sha} nor a merge of it "
        f"(its parents: {named})"
    )


def require_merge_of_head(github: GitHub, repository: str, commit: str, head_sha: str) -> None:
    """Refuse unless ``commit`` is the head or GitHub's merge commit of it (one API read)."""
    from pipeline.errors import CheckFailed  # noqa: PLC0415

    require_sha(commit)
    if commit == head_sha:
        return
    reply = github.json("GET", f"/repos/{repository}/commits/{commit}")
    parents = reply.get("parents") if isinstance(reply, dict) else None
    shas = [str(p.get("sha", "")) for p in parents if isinstance(p, dict)] if isinstance(parents, list) else []
    why = merge_binds(commit, head_sha, shas)
    if why:
        raise CheckFailed(f"refused: {why}")
