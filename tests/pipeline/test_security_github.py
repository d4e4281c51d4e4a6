"""Where the GitHub client sends its token, pinned: only to the API (under its path) and GitHub's upload host, over TLS.

Against the fake GitHub API (a real HTTP server on 127.0.0.1); every refused
URL is refused before anything is sent.
"""

from __future__ import annotations

import pytest

from pipeline import github
from pipeline.errors import GitHubError
from pipeline.settings import Settings


def client_for(api_url: str) -> github.GitHub:
    return github.GitHub(Settings.from_env({"GITHUB_API_URL": api_url, "GITHUB_TOKEN": "ghs_token"}))


@pytest.mark.parametrize("suffix", [".evil.example/steal?page=2", "0/steal?page=2"])
def test_a_next_link_that_only_starts_like_the_api_is_refused(fake_github, suffix):
    # http://127.0.0.1:PORT.evil.example/... begins with the API's URL but is another host.
    link = f"{fake_github.url}{suffix}"
    fake_github.faults = [(200, {"Link": f'<{link}>; rel="next"'}, b"[1]")]
    with pytest.raises(GitHubError, match="the next page points outside"):
        list(client_for(fake_github.url).paginate("/repos/octo/app/pulls"))


def test_a_next_link_beside_an_api_with_a_path_is_refused(fake_github):
    # GitHub Enterprise serves the API under /api/v3: /api/v3-other is not under it.
    fake_github.faults = [(200, {"Link": f'<{fake_github.url}/api/v3-other/items?page=2>; rel="next"'}, b"[1]")]
    with pytest.raises(GitHubError, match="the next page points outside"):
        list(client_for(f"{fake_github.url}/api/v3").paginate("/repos/octo/app/pulls"))
    assert not [path for _, path in fake_github.requests if "v3-other" in path]


def test_an_upload_in_clear_text_to_the_api_host_is_refused_before_sending(fake_github):
    port = fake_github.url.rsplit(":", 1)[1]
    client = client_for(f"https://localhost:{port}")
    before = len(fake_github.requests)
    with pytest.raises(GitHubError, match="not GitHub's upload host"):
        client.upload(f"http://localhost:{port}/upload?name=x", "x", b"x")
    assert len(fake_github.requests) == before


def test_an_api_with_a_path_uploads_to_its_own_host(fake_github):
    # GitHub Enterprise: the API under /api/v3, assets uploaded to the same host.
    made = fake_github.add_release("v1.0.0")
    client = client_for(f"{fake_github.url}/api/v3")
    reply = client.upload(f"{fake_github.url}/uploads/releases/{made['id']}/assets", "a.whl", b"wheel")
    assert reply["name"] == "a.whl"
    assert [a["name"] for a in made["assets"]] == ["a.whl"]


def test_a_refused_upload_url_is_quoted_to_eighty_characters(fake_github):
    url = "https://evil.example/" + "u" * 200
    with pytest.raises(GitHubError) as refused:
        client_for(fake_github.url).upload(url, "x", b"x")
    assert str(refused.value) == f"refusing to upload to {url[:80]}: not GitHub's upload host"


@pytest.mark.parametrize("url", ["nonsense", "uploads.github.com/assets", ""])
def test_an_upload_url_without_a_scheme_is_refused_in_one_line(fake_github, url):
    with pytest.raises(GitHubError, match="not GitHub's upload host"):
        client_for(fake_github.url).upload(url, "x", b"x")


def test_an_upload_reply_that_is_not_json_is_one_clear_error(fake_github):
    made = fake_github.add_release("v1.0.0")
    fake_github.faults = [(201, {"Content-Type": "application/json"}, b"<html>not json</html>")]
    with pytest.raises(GitHubError, match="upload of a.whl: the reply is not JSON"):
        client_for(fake_github.url).upload(f"{fake_github.url}/uploads/releases/{made['id']}/assets", "a.whl", b"w")


def test_an_api_url_without_a_scheme_never_crashes_the_upload_check():
    client = client_for("api.example")  # a mistyped GITHUB_API_URL: no scheme, no slash
    with pytest.raises(GitHubError, match="not GitHub's upload host"):
        client.upload("https://evil.example/x", "x", b"x")
    mistyped = client_for("api.example/v3")
    with pytest.raises(GitHubError, match="not GitHub's upload host"):
        mistyped.upload("https://evil.example/x", "x", b"x")
