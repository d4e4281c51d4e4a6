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
    reason: str = ""  # why it was skipped, or what to fix although it was posted


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
    existing = _ours(github, path, marker, author)
    if existing is not None:
        return _edit(github, repository, existing, body, "updated")
    try:
        reply = github.json("POST", path, json={"body": body})
    except GitHubError as error:
        if not error.uncertain:
            raise
        # The POST may have created the comment before the reply was lost (a 502,
        # a timeout). Look before writing again: edit it if it is there, else post once more.
        existing = _ours(github, path, marker, author)
        if existing is not None:
            return _edit(github, repository, existing, body, "created")
        reply = github.json("POST", path, json={"body": body})
    login = str((reply.get("user") or {}).get("login", "")) if isinstance(reply, dict) else ""
    note = ""
    if login and login != author:
        note = (
            f"the comment was written as {login}, but comments are matched by the author {author}: "
            f"set PIPELINE_COMMENT_AUTHOR={login}, or every run adds a new comment"
        )
    return Posted("created", str(reply.get("html_url", "")) if isinstance(reply, dict) else "", note)


def _ours(github: GitHub, path: str, marker: str, author: str) -> int | None:
    """The id of the newest comment with the marker by the author, on any page."""
    found = None
    for comment in github.paginate(path):
        if (
            isinstance(comment, dict)
            and marker in str(comment.get("body", ""))
            and str((comment.get("user") or {}).get("login", "")) == author
        ):
            try:
                found = int(comment["id"])
            except (KeyError, TypeError, ValueError):
                raise GitHubError("unexpected comment data in the API reply") from None
    return found


def _edit(github: GitHub, repository: str, comment_id: int, body: str, action: str) -> Posted:
    reply = github.json("PATCH", f"/repos/{repository}/issues/comments/{comment_id}", json={"body": body})
    return Posted(action, str(reply.get("html_url", "")) if isinstance(reply, dict) else "")


def upsert_or_warn(github: GitHub, repository: str, number: int, marker: str, body: str, author: str) -> Posted:
    """Like ``upsert``, but a read-only token (fork PRs) is a skip, not a failure.

    Only a 403 that is about permissions is a skip: a rate limit that outlasted
    the run's wait budget fails, with its own advice (re-run later).
    """
    try:
        return upsert(github, repository, number, marker, body, author)
    except GitHubError as error:
        if error.status == 403 and not error.rate_limited:
            return Posted("skipped", reason=str(error))
        raise
