"""What a commit SHA, an image digest and an image tag look like: the one definition.

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


def commit_tag(sha: str) -> str:
    """The tag CI gives the image of a commit, and CD deploys: ``sha-<full sha>``."""
    return f"sha-{require_sha(sha)}"
