"""The REST client's edge cases, against the fake API on 127.0.0.1."""

import pytest

from pipeline import github
from pipeline.errors import GitHubError
from pipeline.settings import Settings


@pytest.fixture
def client(fake_github, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    return github.GitHub(Settings(api_url=fake_github.url, token="ghs_secret", max_wait=3))


def test_sends_api_version_and_token_only_to_the_api(client, fake_github):
    assert client.url("/x") == f"{fake_github.url}/x"
    assert client.url("https://elsewhere.example/x") == "https://elsewhere.example/x"
    headers = client._session.headers
    assert headers["X-GitHub-Api-Version"] == github.API_VERSION
    assert headers["Authorization"] == "Bearer ghs_secret"
    assert "Authorization" not in github.GitHub(Settings())._session.headers


def test_non_json_replies_are_clear_errors(client, fake_github):
    fake_github.faults = [(200, {}, b"<html>")]
    with pytest.raises(GitHubError, match="the reply is not JSON"):
        client.json("GET", "/repos/octo/app/pulls")
    fake_github.faults = [(200, {}, b"<html>")]
    with pytest.raises(GitHubError, match="the reply is not JSON"):
        list(client.paginate("/repos/octo/app/pulls"))
    fake_github.faults = [(200, {}, b'"text"')]
    with pytest.raises(GitHubError, match="expected a list"):
        list(client.paginate("/repos/octo/app/pulls"))


def test_a_next_link_off_the_api_is_refused(client, fake_github):
    fake_github.faults = [(200, {"Link": '<https://evil.example/steal?page=2>; rel="next"'}, b"[1]")]
    with pytest.raises(GitHubError, match="points outside"):
        list(client.paginate("/repos/octo/app/pulls"))


@pytest.mark.parametrize(
    ("status", "path", "hint"),
    [
        (401, "/x", "pass GITHUB_TOKEN"),
        (403, "/x", "lacks a permission"),
        (422, "/x", r"HTTP 422 \(injected\)$"),
    ],
)
def test_errors_say_what_to_do(client, fake_github, status, path, hint):
    fake_github.faults = [(status, {})]
    with pytest.raises(GitHubError, match=hint) as info:
        client.request("GET", path)
    assert info.value.status == status
    assert "ghs_secret" not in str(info.value)


def test_error_without_a_json_message(client, fake_github):
    fake_github.faults = [(418, {}, b"teapot")]
    with pytest.raises(GitHubError, match=r"HTTP 418$"):
        client.request("GET", "/x")


def test_rate_limit_reset_is_waited_for(fake_github, monkeypatch):
    slept = []
    client = github.GitHub(Settings(api_url=fake_github.url, max_wait=5), sleep=slept.append, clock=lambda: 1000.0)
    fake_github.faults = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1002"}), (429, {})]
    with pytest.raises(GitHubError, match="rate limited"):
        client.request("GET", "/repos/octo/app/pulls")
    assert slept == [3.0]  # 2 s to the reset plus 1; then a bare 429 means 60 s, over the cap


def test_download_without_token_and_its_errors(client, fake_github):
    fake_github.attestations["raw"] = [{"data": '{"a": 1}'}]
    assert client.download(f"{fake_github.url}/bundles/1") == b'{"a": 1}'
    with pytest.raises(GitHubError, match="HTTP 404"):
        client.download(f"{fake_github.url}/nothing")
    with pytest.raises(GitHubError, match="cannot download"):
        client.download("http://127.0.0.1:9/x")


def test_a_403_with_an_unreadable_reset_is_a_permission_error(client, fake_github):
    fake_github.faults = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"})]
    with pytest.raises(GitHubError, match="lacks a permission"):
        client.request("GET", "/x")


def test_a_403_names_the_permission_github_says_would_do(client, fake_github):
    fake_github.faults = [(403, {"X-Accepted-GitHub-Permissions": "contents=write"})]
    with pytest.raises(github.PermissionDenied, match="grant this job `contents: write`$") as raised:
        client.request("POST", "/repos/octo/app/releases", json={})
    assert raised.value.accepted == ("contents: write",)
    assert raised.value.what == "POST /repos/octo/app/releases"
    assert raised.value.detail == "injected"


def test_githubs_permission_header_becomes_workflow_syntax():
    assert github.accepted_permissions("issues=write; pull_requests=write") == ("issues: write", "pull-requests: write")
    assert github.accepted_permissions("contents=read,pull_requests=write") == ("contents: read, pull-requests: write",)
    assert github.accepted_permissions("") == ()
    assert github.accepted_permissions("garbage; =x; y=") == ()
