"""Sticky PR comments: one per kind, found by marker AND author, edited in place.

Idempotent under every fault. A POST whose outcome is unknown (a timeout,
a reset or a 5xx after it was sent) may have created the comment: the
client never re-sends it, and ``upsert`` reads every page again, after a
short wait for GitHub's lists to catch up, before it posts once more. If a
fault still left several comments of ours (or an older version of this code
did), the oldest is edited and the others are deleted: the oldest is the
one people were notified about and have linked, and any re-run converges on
the same comment. Only comments with our marker AND our author are ever
edited or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import CheckFailed, GitHubError

if TYPE_CHECKING:
    from pipeline.github import GitHub

MAX_BODY = 65_536
_CUT_NOTE = "\n\n… (cut: the report exceeded GitHub's 65,536-character comment limit)\n"
# Seconds to let GitHub's comment list catch up with a write whose reply was
# lost before looking again (its lists are eventually consistent).
SETTLE = 2.0
# What a same-repository PR's job needs to write its sticky comment.
COMMENT_PERMISSION = "pull-requests: write"


@dataclass(frozen=True)
class Posted:
    """What happened to the comment."""

    action: str  # "created", "updated" or "skipped"
    url: str = ""
    reason: str = ""  # why it was skipped, or what to fix although it was posted
    removed: int = 0  # duplicates of our own comment deleted on the way


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
    ours = _ours(github, path, marker, author)
    if ours:
        return _keep_one(github, repository, ours, body, "updated")
    try:
        reply = github.json("POST", path, json={"body": body})
    except GitHubError as error:
        if not error.uncertain:
            raise
        # The POST may have created the comment (held past our timeout, a reply
        # lost): look again, once more after GitHub's lists had time to catch up.
        ours = _ours(github, path, marker, author)
        if not ours:
            github.settle(SETTLE)
            ours = _ours(github, path, marker, author)
        if ours:
            return _keep_one(github, repository, ours, body, "created")
        try:
            reply = github.json("POST", path, json={"body": body})
        except GitHubError as again:
            if again.uncertain:
                raise GitHubError(
                    f"{again}. The comment may exist; a re-run finds it and edits it (never a second one)",
                    again.status,
                    uncertain=True,
                ) from None
            raise
        # The first POST may still land after the second: keep one of them.
        github.settle(SETTLE)
        ours = _ours(github, path, marker, author)
        if len(ours) > 1:
            return _keep_one(github, repository, ours, body, "created")
    login = str((reply.get("user") or {}).get("login", "")) if isinstance(reply, dict) else ""
    note = ""
    if login and login != author:
        note = (
            f"the comment was written as {login}, but comments are matched by the author {author}: "
            f"set PIPELINE_COMMENT_AUTHOR={login}, or every run adds a new comment"
        )
    return Posted("created", str(reply.get("html_url", "")) if isinstance(reply, dict) else "", note)


def _ours(github: GitHub, path: str, marker: str, author: str) -> list[int]:
    """The ids of the comments with the marker by the author, on every page, oldest first."""
    found = []
    for comment in github.paginate(path):
        if (
            isinstance(comment, dict)
            and marker in str(comment.get("body", ""))
            and str((comment.get("user") or {}).get("login", "")) == author
        ):
            try:
                found.append(int(comment["id"]))
            except (KeyError, TypeError, ValueError):
                raise GitHubError("unexpected comment data in the API reply") from None
    return sorted(set(found))  # ids grow with time: the smallest is the oldest


def _keep_one(github: GitHub, repository: str, ids: list[int], body: str, action: str) -> Posted:
    """Edit the oldest of our comments, then delete the other copies: exactly one remains.

    The edit comes first, so a fault in between leaves a current comment (and
    a duplicate the next run removes), never none.
    """
    oldest, *duplicates = ids
    reply = github.json("PATCH", f"/repos/{repository}/issues/comments/{oldest}", json={"body": body})
    for duplicate in duplicates:
        try:
            github.request("DELETE", f"/repos/{repository}/issues/comments/{duplicate}")
        except GitHubError as error:
            if error.status != 404:  # already gone (an earlier attempt): what we wanted
                raise
    return Posted(action, str(reply.get("html_url", "")) if isinstance(reply, dict) else "", removed=len(duplicates))


def upsert_or_skip(
    github: GitHub, repository: str, number: int, marker: str, body: str, author: str, *, read_only: str
) -> Posted:
    """Like ``upsert``; a 403 is a skip only when the token is read-only by design.

    ``read_only`` is why GitHub gives this job a read-only token (a fork's
    pull request, Dependabot: ``Settings.read_only_token``), or "". Without
    such a reason a 403 means the workflow did not grant the permission:
    the job fails with the permission to grant. A rate limit that outlasted
    the wait budget fails with its own advice (re-run later).
    """
    from pipeline.github import PermissionDenied  # noqa: PLC0415 - keeps this module free of requests

    try:
        return upsert(github, repository, number, marker, body, author)
    except PermissionDenied as error:
        if read_only:
            return Posted("skipped", reason=read_only)
        said = f" ({error.detail})" if error.detail else ""
        raise CheckFailed(
            f"cannot write the sticky comment on #{int(number)}: {error.what} answered HTTP 403{said}, and this "
            f"job's token is not read-only by design (no fork's pull request, not Dependabot): "
            f"grant the job `{COMMENT_PERMISSION}` in the workflow's permissions"
        ) from None
