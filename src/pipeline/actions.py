"""GitHub Actions plumbing: workflow commands, step outputs, the job summary.

Outside Actions (no ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY``) every writer
is a no-op, so the same command runs on a laptop.
"""

from __future__ import annotations

import secrets
from pathlib import Path


def escape_data(text: str) -> str:
    """Escape a workflow command's message (toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property (toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: object) -> str:
    """``::kind k=v,...::message`` with message and properties escaped."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


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
