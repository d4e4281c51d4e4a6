"""Sticky PR comments: one per kind, found by marker AND author, edited in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import GitHubError

if TYPE_CHECKING:
    from pipeline.github import GitHub

MAX_BODY = 65_536
_CUT_NOTE = "\n\n… (cut: the report exceeded GitHub's 65,536-character comment limit)\n"


@dataclass(frozen=True)
class Posted:
    """What happened to the comment."""

    action: str  # "created", "updated" or "skipped"
    url: str = ""
    reason: str = ""


def fit_body(body: str) -> str:
    """Cut an over-long body with a note instead of a 422 from the API."""
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - len(_CUT_NOTE)] + _CUT_NOTE


def upsert(github: GitHub, repository: str, number: int, marker: str, body: str, author: str) -> Posted:
    """Create or edit the comment that carries ``marker`` and was written by ``author``.

    All pages are searched. A comment by anyone else is never touched, even
    if it contains the marker (anyone can paste it).
    """
    if marker not in body:
        body = f"{marker}\n{body}"
    body = fit_body(body)
    path = f"/repos/{repository}/issues/{int(number)}/comments"
    ours = [
        c
        for c in github.paginate(path)
        if isinstance(c, dict)
        and marker in str(c.get("body", ""))
        and str((c.get("user") or {}).get("login", "")) == author
    ]
    if ours:
        comment_id = int(ours[-1]["id"])
        reply = github.json("PATCH", f"/repos/{repository}/issues/comments/{comment_id}", json={"body": body})
        return Posted("updated", str(reply.get("html_url", "")))
    reply = github.json("POST", path, json={"body": body})
    return Posted("created", str(reply.get("html_url", "")))


def upsert_or_warn(github: GitHub, repository: str, number: int, marker: str, body: str, author: str) -> Posted:
    """Like ``upsert``, but a read-only token (fork PRs) is a skip, not a failure."""
    try:
        return upsert(github, repository, number, marker, body, author)
    except GitHubError as error:
        if error.status == 403:
            return Posted("skipped", reason=str(error))
        raise
