"""What every command shares: settings, the API client, JSON files, comments."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import actions
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pipeline.github import GitHub
    from pipeline.settings import Settings


def settings() -> Settings:
    """The run's settings, read from the environment once per command."""
    from pipeline.settings import Settings  # noqa: PLC0415 - keeps `--help` free of requests

    return Settings.from_env(dict(os.environ))


def github(run: Settings) -> GitHub:
    """A client for the API the settings name (GITHUB_API_URL)."""
    from pipeline.github import GitHub  # noqa: PLC0415

    return GitHub(run)


def write_json(path: Path, data: object) -> None:
    """Write a JSON file for a later step, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read(path: str) -> bytes:
    """A file's bytes, or a usage error that names it."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def comment(run: Settings, number: int, marker: str, body: str) -> None:
    """Upsert a sticky comment; a read-only token becomes a warning, not a failure."""
    from pipeline import comments  # noqa: PLC0415

    repository = "/".join(run.require_repository())
    posted = comments.upsert_or_warn(github(run), repository, number, marker, body, run.comment_author)
    if posted.action == "skipped":
        print(actions.command("warning", f"no PR comment posted: {posted.reason}"))
    else:
        print(f"comment {posted.action}: {posted.url}")
        if posted.reason:
            print(actions.command("warning", posted.reason))
