"""GitHub Actions plumbing: workflow commands, step outputs, the job summary.

Outside Actions (no ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY``) every writer
is a no-op, so the same command runs on a laptop.
"""

from __future__ import annotations

import secrets
from pathlib import Path

# One definition of GitHub's escaping rules (toolkit ``command.ts``): the
# quality gate's. The plugin must stand alone, so the helpers lean on it and
# not the other way round.
from quality_gate.outputs import command, escape_data, escape_property

__all__ = ["append_summary", "command", "escape_data", "escape_property", "set_outputs"]


def set_outputs(path: str, values: dict[str, str]) -> None:
    """Append step outputs; multi-line values use a random heredoc delimiter.

    A fixed delimiter could be injected by a value that contains it.
    """
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{name}={value}\n")


def append_summary(path: str, markdown: str) -> None:
    """Append Markdown to the job summary."""
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
