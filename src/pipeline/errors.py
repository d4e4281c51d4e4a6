"""Domain errors, each with the exit status the entry point turns it into."""

from __future__ import annotations


def one_line(text: object, limit: int | None = 240) -> str:
    """``text`` as one line of at most ``limit`` characters, never cut mid-word.

    Errors of other libraries (pydantic's above all) span lines and carry whole
    documents. ``limit=None`` only joins the lines (the entry point's last
    guarantee: a message it prints is one line, however it was built).
    """
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def last_line(stderr: str, default: str) -> str:
    """Where a failing program (hatch, docker, an interpreter) says why: its last stderr line."""
    return (stderr.strip().splitlines() or [default])[-1]


class PipelineError(Exception):
    """Base of every error the entry point reports as one line."""

    exit_code = 1


class CheckFailed(PipelineError):
    """The thing being checked did not hold (exit 1)."""


class InputError(PipelineError):
    """Bad usage, arguments, files or environment (exit 2)."""

    exit_code = 2


class GitHubError(PipelineError):
    """The GitHub API refused or failed; the message says what to do."""

    def __init__(
        self, message: str, status: int | None = None, *, rate_limited: bool = False, uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        # A rate limit that outlasted the run's wait budget: not a permission problem.
        self.rate_limited = rate_limited
        # A write that failed in a way that may still have been applied (5xx, timeout).
        self.uncertain = uncertain
