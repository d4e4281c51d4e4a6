"""Pull request data from the API: anything unexpected is one clear error."""

import pytest

from pipeline import pulls
from pipeline.errors import GitHubError


def test_pull_request_data_that_is_not_what_github_sends():
    with pytest.raises(GitHubError, match="unexpected pull request data"):
        pulls._matching([{"state": "open", "head": None}], "a" * 40, "o/r")
