"""The settings: every variable validated once, in one place."""

import pytest

from pipeline.errors import GitHubError, InputError
from pipeline.settings import Settings


def test_settings_validation():
    with pytest.raises(InputError, match="PIPELINE_MAX_WAIT"):
        Settings.from_env({"PIPELINE_MAX_WAIT": "soon"})
    with pytest.raises(InputError, match="GITHUB_REPOSITORY is not set"):
        Settings().require_repository()
    assert Settings().run_url == ""
    assert Settings(repository="o/r", run_id="5").run_url == "https://github.com/o/r/actions/runs/5"


def test_event_file_must_be_an_object(tmp_path):
    path = tmp_path / "event.json"
    path.write_text("[]")
    with pytest.raises(InputError, match="is not a JSON object"):
        Settings(event_path=str(path)).event()


def test_artifact_listing_needs_a_run():
    from pipeline.run_artifacts import list_artifacts  # noqa: PLC0415

    with pytest.raises(GitHubError, match="needs GITHUB_REPOSITORY and GITHUB_RUN_ID"):
        list_artifacts(None, Settings())
    assert Settings().event() == {}
