import pytest

from pipeline import comments, github
from pipeline.cli import main
from pipeline.errors import GitHubError
from pipeline.settings import Settings

MARKER = "<!-- marker -->"
SHA = "a" * 40


@pytest.fixture
def client(fake_github, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    return github.GitHub(
        Settings.from_env(
            {
                "GITHUB_API_URL": fake_github.url,
                "GITHUB_TOKEN": "ghs_secret_token_value",
                "GITHUB_REPOSITORY": "octo/app",
                "PIPELINE_MAX_WAIT": "3",
            }
        )
    )


def test_token_never_in_repr():
    settings = Settings(token="ghs_secret_token_value")
    assert "ghs_secret" not in repr(settings)


def test_marker_found_on_page_three_is_edited(client, fake_github):
    fake_github.comments[7] = [{"id": i, "body": "chatter", "user": {"login": "someone"}} for i in range(1, 5)] + [
        {"id": 5, "body": f"{MARKER}\nold", "user": {"login": "github-actions[bot]"}}
    ]
    posted = comments.upsert(client, "octo/app", 7, MARKER, "new", "github-actions[bot]")
    assert posted.action == "updated"
    assert fake_github.comments[7][4]["body"] == f"{MARKER}\nnew"
    assert len(fake_github.comments[7]) == 5


def test_marker_in_another_users_comment_is_left_alone(client, fake_github):
    fake_github.comments[7] = [{"id": 1, "body": f"{MARKER} fake", "user": {"login": "mallory"}}]
    posted = comments.upsert(client, "octo/app", 7, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert fake_github.comments[7][0]["body"] == f"{MARKER} fake"
    assert len(fake_github.comments[7]) == 2


def test_rerun_edits_instead_of_duplicating(client, fake_github):
    for body in ("first", "second"):
        comments.upsert(client, "octo/app", 3, MARKER, body, "github-actions[bot]")
    assert [c["body"] for c in fake_github.comments[3]] == [f"{MARKER}\nsecond"]


def test_one_502_then_success(client, fake_github):
    fake_github.faults = [(502, {})]
    assert comments.upsert(client, "octo/app", 1, MARKER, "x", "github-actions[bot]").action == "created"


def test_permanent_5xx_is_exit_1_with_a_clear_line(fake_github, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    fake_github.faults = [(503, {})] * 10
    (tmp_path / "r").mkdir()
    status = main(["report", "--reports", str(tmp_path / "r"), "--output", str(tmp_path / "o.md"), "--pr", "4"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: GET /repos/octo/app/issues/4/comments: HTTP 503")
    assert "ghs_secret" not in err


def test_429_with_retry_after_waits_and_succeeds(fake_github):
    waits = []
    client = github.GitHub(Settings(api_url=fake_github.url, token="t", max_wait=3), sleep=waits.append)
    fake_github.faults = [(429, {"Retry-After": "2"})]
    assert comments.upsert(client, "octo/app", 1, MARKER, "x", "github-actions[bot]").action == "created"
    assert waits == [2.0]  # what the server asked for, once


def test_rate_limit_beyond_the_cap_fails_clearly(client, fake_github):
    fake_github.faults = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"})]
    with pytest.raises(GitHubError, match="rate limited"):
        list(client.paginate("/repos/octo/app/issues/1/comments"))


def test_403_read_only_token_is_a_warning_not_a_failure(fake_github, monkeypatch, capsys, tmp_path):
    fake_github.faults = [(403, {})]
    status = main(["report", "--reports", str(tmp_path), "--output", str(tmp_path / "o.md"), "--pr", "4"])
    out = capsys.readouterr().out
    assert status == 0
    assert "::warning::no PR comment posted" in out
    assert "pull-requests: write" in out


def test_404_says_not_found(client):
    with pytest.raises(GitHubError, match="HTTP 404.*not found"):
        client.json("GET", "/repos/octo/app/nothing")


def test_unreachable_api_is_retried_then_reported(monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.001)
    client = github.GitHub(Settings(api_url="http://127.0.0.1:9"))
    with pytest.raises(GitHubError, match="cannot reach"):
        client.request("GET", "/x")


def test_long_body_is_cut_with_a_note(client, fake_github):
    comments.upsert(client, "octo/app", 2, MARKER, "x" * 70_000, "github-actions[bot]")
    body = fake_github.comments[2][0]["body"]
    assert len(body) <= comments.MAX_BODY
    assert body.endswith("comment limit)\n")


def pr(number, sha, repo="octo/app", state="open", head_repo="octo/app"):
    return {
        "number": number,
        "state": state,
        "head": {"sha": sha, "ref": "feat", "repo": {"full_name": head_repo}},
        "base": {"ref": "main", "repo": {"full_name": repo}},
    }


def test_find_pr_keeps_only_open_prs_of_this_repo_with_that_head(fake_github, capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    fake_github.pulls_by_commit[SHA] = [
        pr(1, SHA, state="closed"),
        pr(2, "b" * 40),
        pr(3, SHA, repo="other/app"),
        pr(4, SHA),
    ]
    assert main(["find-pr", "--sha", SHA]) == 0
    assert out.read_text() == "number=4\n"


def test_find_pr_fork_fallback_and_no_pr(fake_github, capsys):
    fake_github.pulls = [pr(9, SHA, head_repo="fork/app")]
    assert main(["find-pr", "--sha", SHA, "--fork-head", "fork:feat"]) == 0
    assert "#9" in capsys.readouterr().out
    fake_github.pulls = []
    assert main(["find-pr", "--sha", SHA]) == 0
    assert "no open pull request" in capsys.readouterr().out


def test_find_pr_refuses_a_bad_sha(fake_github, capsys):
    assert main(["find-pr", "--sha", "main; rm -rf /"]) == 2
    assert "not a full commit SHA" in capsys.readouterr().err
