"""What every command shares: settings, the API client, JSON files, comments."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import actions

if TYPE_CHECKING:
    from pipeline.github import GitHub
    from pipeline.profile import Profile
    from pipeline.settings import Settings


def settings() -> Settings:
    """The run's settings, read from the environment once per command."""
    from pipeline.settings import Settings  # noqa: PLC0415 - keeps `--help` free of requests

    return Settings.from_env(dict(os.environ))


def profile() -> Profile:
    """The service profile of the checkout the job runs in (``[tool.service-pipeline]``)."""
    from pipeline import profile as service  # noqa: PLC0415

    return service.load()


def github(run: Settings) -> GitHub:
    """A client for the API the settings name (GITHUB_API_URL), within the command's wait budget.

    Every client of one command shares ``run.budget``: the budget is the
    command's, not each client's.
    """
    from pipeline.github import GitHub  # noqa: PLC0415

    return GitHub(run)


def write_json(path: Path, data: object) -> None:
    """Write a JSON file for a later step, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


READ_LIMIT = 64 * 1024 * 1024  # an SBOM of a large image is a few MB; nothing read here is near this


def read(path: str, limit: int = READ_LIMIT) -> bytes:
    """A regular file's bytes (at most ``limit``), or a usage error that names it and says why.

    A directory, a FIFO, a device, a symlink loop or a file over the limit is
    refused without being read (see ``verify.read_regular``): bounded in time
    and memory whatever the path names.
    """
    from pipeline.verify import read_regular  # noqa: PLC0415 - keeps `--help` light

    return read_regular(path, limit)


def comment(run: Settings, number: int, marker: str, body: str) -> None:
    """Upsert a sticky comment; a 403 is a notice only when the token is read-only by design.

    A fork's pull request or a Dependabot run (``Settings.read_only_token``)
    gets a read-only token from GitHub: no comment, a notice, success. Any
    other 403 means the workflow did not grant the permission, and fails.
    """
    from pipeline import comments  # noqa: PLC0415

    repository = "/".join(run.require_repository())
    posted = comments.upsert_or_skip(
        github(run), repository, number, marker, body, run.comment_author, read_only=run.read_only_token()
    )
    if posted.action == "skipped":
        print(actions.command("notice", f"no PR comment posted: {posted.reason}"))
    else:
        removed = f" ({posted.removed} duplicate{'s' if posted.removed > 1 else ''} removed)" if posted.removed else ""
        print(f"comment {posted.action}: {posted.url}{removed}")
        if posted.reason:
            print(actions.command("warning", posted.reason))
