"""What a commit SHA, an image digest, an image tag and a release version look like: the one definition.

Every module that validates one of them imports it from here, so a rule
(lowercase hex, exactly 40 or 64 digits, nothing after them) changes in one
place. Each pattern is used with ``fullmatch``: ``match`` would accept junk
after the digits.
"""

from __future__ import annotations

import re

from pipeline.errors import InputError

SHA = re.compile(r"[0-9a-f]{40}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
DIGEST_HEX = re.compile(r"(?:sha256:)?([0-9a-f]{64})")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_TAG = 128
# A version that may be released (PEP 440's normal form, no leading zeros):
# ``X.Y.Z`` or a pre-release ``X.Y.ZaN``/``bN``/``rcN``. Its image tag never
# moves once written (the registry's promotion refuses to).
VERSION = re.compile(
    r"(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?P<pre>(?:a|b|rc)(?:0|[1-9][0-9]*))?"
)


def require_sha(sha: str) -> str:
    """A full lowercase commit SHA, or a usage error."""
    if not SHA.fullmatch(sha):
        raise InputError(f"not a full commit SHA: {sha[:50]!r}")
    return sha


def require_digest(text: str) -> str:
    """The 64 hex digits of a sha256 digest (``sha256:`` optional)."""
    match = DIGEST_HEX.fullmatch(text.strip())
    if not match:
        raise InputError(f"not a sha256 digest: {text[:80]!r}")
    return match.group(1)


# The branch releases are made from: its pushes' images carry the bare
# ``sha-<commit>`` tag, which the release promotes.
RELEASE_BRANCH = "main"


def commit_tag(sha: str, scope: str = "") -> str:
    """The tag CI gives the image of a commit, and CD deploys: ``[<scope>-]sha-<full sha>``.

    ``scope`` is "" for a push to the release branch (the image a release of
    that commit promotes), the branch's tag for a push to another deploy
    branch (``develop-sha-<c>``), and ``pr-<n>`` for a pull request
    (``pr-7-sha-<c>``). One commit can be pushed to main and to develop, or be
    the head of a PR, and each of those images is another build under another
    identity: without the scope the last to finish would take the tag the
    others' CD or release resolves, and their verification would refuse it.
    """
    if scope and not TAG.fullmatch(f"{scope}-sha-{'0' * 40}"):
        raise InputError(f"not a tag scope: {scope[:60]!r}")
    return f"{scope}-sha-{require_sha(sha)}" if scope else f"sha-{require_sha(sha)}"
