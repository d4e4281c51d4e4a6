"""Links to this run's artifacts, for the CI report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.errors import GitHubError

if TYPE_CHECKING:
    from pipeline.github import GitHub
    from pipeline.settings import Settings


def list_artifacts(github: GitHub, settings: Settings) -> list[dict[str, str]]:
    """``[{"name", "url"}]`` of the run's artifacts (all pages), as the report reads them."""
    if not (settings.repository and settings.run_id):
        raise GitHubError("listing artifacts needs GITHUB_REPOSITORY and GITHUB_RUN_ID")
    base = f"{settings.server_url}/{settings.repository}/actions/runs/{settings.run_id}/artifacts"
    items = github.paginate(f"/repos/{settings.repository}/actions/runs/{settings.run_id}/artifacts")
    return [
        {"name": str(item.get("name", "?")), "url": f"{base}/{int(item['id'])}"}
        for item in items
        if isinstance(item, dict) and str(item.get("id", "")).isdigit()
    ]
