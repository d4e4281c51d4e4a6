"""Which files the pull request changes, from git, for targeted annotations."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def changed_files(base_ref: str, cwd: Path) -> set[str] | None:
    """Paths changed between the merge base with ``base_ref`` and HEAD.

    ``None`` means "unknown" (no base, no git, base not fetched): the caller
    then annotates nothing rather than everything.
    """
    if not base_ref.strip() or base_ref.startswith("-"):  # never an option to git
        return None
    for base in (f"origin/{base_ref}", base_ref):
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, base passed as one argument
                ["git", "diff", "--name-only", "--no-renames", f"{base}...HEAD", "--"],  # noqa: S607
                cwd=cwd,
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode == 0:
            return {line for line in result.stdout.splitlines() if line}
    return None
