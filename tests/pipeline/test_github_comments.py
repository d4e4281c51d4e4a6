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
    monkeypatch.setattr(comments, "SETTLE", 0.05)
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
    assert len(fake_github.comments[1]) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_post_applied_before_its_reply_was_lost_is_not_posted_twice(client, fake_github, status):
    # GitHub created the comment, then answered 5xx: a blind retry made a second
    # sticky comment and the first stayed stale forever.
    fake_github.lost_replies = [status]
    posted = comments.upsert(client, "octo/app", 4, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nreport"]
    methods = [m for m, p in fake_github.requests if "/comments" in p]
    assert methods == ["GET", "POST", "GET", "PATCH"]


def test_a_post_that_failed_before_it_was_applied_is_sent_once_more(client, fake_github):
    fake_github.post_faults = [502]
    posted = comments.upsert(client, "octo/app", 6, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert len(fake_github.comments[6]) == 1
    # It looked twice (the second time after GitHub's lists had time to catch up), posted once
    # more, and looked a last time for a first POST that landed late.
    assert [m for m, p in fake_github.requests if "/comments" in p] == ["GET", "POST", "GET", "GET", "POST", "GET"]


def test_post_is_never_retried_by_the_client_itself(client, fake_github):
    fake_github.faults = [(502, {})]
    with pytest.raises(GitHubError) as raised:
        client.json("POST", "/repos/octo/app/issues/9/comments", json={"body": "x"})
    assert raised.value.uncertain is True
    assert [m for m, _ in fake_github.requests] == ["POST"]
    assert 9 not in fake_github.comments


def test_gets_and_patches_are_retried(client, fake_github):
    fake_github.faults = [(502, {}), (503, {})]
    assert list(client.paginate("/repos/octo/app/issues/9/comments")) == []
    assert [m for m, _ in fake_github.requests] == ["GET", "GET", "GET"]


def test_a_secondary_rate_limit_is_not_a_missing_permission(fake_github, monkeypatch, capsys, tmp_path):
    report = tmp_path / "cd.md"
    report.write_text("<!-- service-pipeline:cd-report -->\nbody")
    monkeypatch.setenv("PR_NUMBER", "5")
    body = b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}'
    fake_github.faults = [(403, {"Content-Type": "application/json"}, body)]
    assert main(["cd-comment", "--report", str(report)]) == 1
    err = capsys.readouterr().err
    assert "rate limited" in err
    assert "pull-requests: write" not in err


def test_the_wait_budget_is_for_the_whole_run(fake_github):
    slept = []
    client = github.GitHub(
        Settings.from_env(
            {"GITHUB_API_URL": fake_github.url, "GITHUB_REPOSITORY": "octo/app", "PIPELINE_MAX_WAIT": "3"}
        ),
        sleep=slept.append,
    )
    fake_github.faults = [(429, {"Retry-After": "2"})]
    list(client.paginate("/repos/octo/app/issues/1/comments"))
    fake_github.faults = [(429, {"Retry-After": "2"})]
    with pytest.raises(GitHubError, match="2s spent") as raised:
        list(client.paginate("/repos/octo/app/issues/1/comments"))
    assert raised.value.rate_limited
    assert slept == [2.0]


def test_a_token_of_another_identity_is_told_how_to_keep_one_comment(fake_github, monkeypatch, capsys, tmp_path):
    fake_github.login = "release-bot"
    report = tmp_path / "cd.md"
    report.write_text("<!-- service-pipeline:cd-report -->\nbody")
    monkeypatch.setenv("PR_NUMBER", "5")
    assert main(["cd-comment", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "PIPELINE_COMMENT_AUTHOR=release-bot" in out
    monkeypatch.setenv("PIPELINE_COMMENT_AUTHOR", "release-bot")
    assert main(["cd-comment", "--report", str(report)]) == 0
    assert len(fake_github.comments[5]) == 1
    assert "PIPELINE_COMMENT_AUTHOR" not in capsys.readouterr().out


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


@pytest.fixture
def runner_env(monkeypatch):
    """The run's identity, set explicitly: the suite may itself run on a fork's PR or as Dependabot."""
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("HEAD_REPOSITORY", "octo/app")
    return monkeypatch


def test_403_on_a_same_repository_pr_fails_naming_the_permission(fake_github, runner_env, capsys, tmp_path):
    # It passed with a warning and exit 0: the report job silently never commented.
    fake_github.faults = [(403, {"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"})]
    status = main(["report", "--reports", str(tmp_path), "--output", str(tmp_path / "o.md"), "--pr", "4"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert "grant the job `pull-requests: write`" in err
    assert "GET /repos/octo/app/issues/4/comments answered HTTP 403 (injected)" in err


def test_403_on_cds_comment_fails_whoever_triggered_it(fake_github, runner_env, capsys, tmp_path):
    # workflow_run gets the repository's token even for a fork's or Dependabot's PR.
    runner_env.setenv("GITHUB_EVENT_NAME", "workflow_run")
    runner_env.setenv("GITHUB_ACTOR", "dependabot[bot]")
    runner_env.delenv("HEAD_REPOSITORY")
    runner_env.setenv("PR_NUMBER", "5")
    report = tmp_path / "cd.md"
    report.write_text("<!-- service-pipeline:cd-report -->\nbody")
    fake_github.faults = [(200, {}, b"[]"), (403, {})]
    assert main(["cd-comment", "--report", str(report)]) == 1
    assert "grant the job `pull-requests: write`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("event", "actor", "head", "why"),
    [
        ("pull_request", "octocat", "fork/app", "pull request from the fork fork/app"),
        ("pull_request", "dependabot[bot]", "octo/app", "run triggered by Dependabot (pull_request)"),
        ("push", "dependabot[bot]", "", "run triggered by Dependabot (push)"),
    ],
)
def test_403_with_a_read_only_token_by_design_is_a_notice(
    fake_github, runner_env, capsys, tmp_path, event, actor, head, why
):
    runner_env.setenv("GITHUB_EVENT_NAME", event)
    runner_env.setenv("GITHUB_ACTOR", actor)
    runner_env.setenv("HEAD_REPOSITORY", head)
    fake_github.faults = [(403, {})]
    status = main(["report", "--reports", str(tmp_path), "--output", str(tmp_path / "o.md"), "--pr", "4"])
    out = capsys.readouterr().out
    assert status == 0
    assert f"::notice::no PR comment posted: {why}" in out
    assert "::warning::" not in out


def test_read_only_by_design_is_decided_from_typed_facts_only():
    def reason(**env):
        return Settings.from_env({"GITHUB_REPOSITORY": "octo/app", **env}).read_only_token()

    assert reason(GITHUB_EVENT_NAME="pull_request", HEAD_REPOSITORY="fork/app")
    assert reason(GITHUB_EVENT_NAME="pull_request_review", HEAD_REPOSITORY="fork/app")
    assert reason(GITHUB_EVENT_NAME="pull_request", HEAD_REPOSITORY="octo/app") == ""
    assert reason(GITHUB_EVENT_NAME="pull_request") == ""  # no head named: not a fork
    assert reason(GITHUB_EVENT_NAME="workflow_run", HEAD_REPOSITORY="fork/app") == ""
    assert reason(GITHUB_EVENT_NAME="pull_request_target", HEAD_REPOSITORY="fork/app") == ""
    assert reason(GITHUB_EVENT_NAME="workflow_run", GITHUB_ACTOR="dependabot[bot]") == ""
    assert reason(GITHUB_EVENT_NAME="pull_request", GITHUB_ACTOR="dependabot[bot]")
    assert reason(GITHUB_EVENT_NAME="pull_request", GITHUB_ACTOR="dependabot") == ""
    assert reason(GITHUB_EVENT_NAME="pull_request", PR_AUTHOR="dependabot[bot]") == ""  # a person pushed: writable


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


def _client(fake_github):
    return github.GitHub(Settings.from_env({"GITHUB_API_URL": fake_github.url}))


def test_find_pr_keeps_only_open_prs_of_this_repo_with_that_head(fake_github):
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    fake_github.pulls_by_commit[SHA] = [
        pr(1, SHA, state="closed"),
        pr(2, "b" * 40),
        pr(3, SHA, repo="other/app"),
        pr(4, SHA),
    ]
    assert find_pull_request(_client(fake_github), "octo/app", SHA).number == 4


def test_find_pr_fork_fallback_and_no_pr(fake_github):
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    fake_github.pulls = [pr(9, SHA, head_repo="fork/app")]
    assert find_pull_request(_client(fake_github), "octo/app", SHA, "fork:feat").number == 9
    fake_github.pulls = []
    assert find_pull_request(_client(fake_github), "octo/app", SHA) is None


def test_find_pr_refuses_a_bad_sha(fake_github):
    from pipeline.errors import InputError  # noqa: PLC0415
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    with pytest.raises(InputError, match="not a full commit SHA"):
        find_pull_request(_client(fake_github), "octo/app", "main; rm -rf /")


def pull(number, sha=SHA, repo="octo/app"):
    return {
        "number": number,
        "state": "open",
        "head": {"sha": sha, "ref": f"b{number}", "repo": {"full_name": repo}},
        "base": {"ref": "main", "repo": {"full_name": "octo/app"}},
    }


def test_two_prs_on_one_commit_prefer_the_one_the_event_names(fake_github, monkeypatch, capsys, tmp_path):
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    fake_github.pulls_by_commit[SHA] = [pull(12), pull(8)]
    client = github.GitHub(Settings.from_env({"GITHUB_API_URL": fake_github.url}))
    chosen = find_pull_request(client, "octo/app", SHA, preferred=(12,))
    assert chosen.number == 12
    assert chosen.why == "#8, #12 share this head; chose #12, the one the workflow_run event names"
    oldest = find_pull_request(client, "octo/app", SHA)
    assert oldest.number == 8
    assert "the oldest" in oldest.why
    fake_github.pulls_by_commit[SHA] = [pull(8)]
    assert find_pull_request(client, "octo/app", SHA, preferred=(12,)).why == ""


# -- found by mutation testing ------------------------------------------------


def test_githubs_limit_is_exactly_65536_characters():
    assert comments.MAX_BODY == 65_536
    exact = "x" * comments.MAX_BODY
    assert comments.fit_body(exact) == exact
    cut = comments.fit_body(exact + "y")
    assert len(cut) == comments.MAX_BODY
    assert cut.startswith("x" * 60_000)
    assert cut.endswith("comment limit)\n")


def test_the_marker_of_an_author_that_sorts_first_is_left_alone(client, fake_github):
    fake_github.comments[7] = [{"id": 1, "body": f"{MARKER} fake", "user": {"login": "alice"}}]
    posted = comments.upsert(client, "octo/app", 7, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert fake_github.comments[7][0]["body"] == f"{MARKER} fake"


@pytest.mark.parametrize("status", [401, 404, 422])
def test_only_a_403_is_a_skip(client, fake_github, status):
    fake_github.faults = [(status, {})]
    with pytest.raises(GitHubError):
        comments.upsert_or_skip(client, "octo/app", 7, MARKER, "report", "github-actions[bot]", read_only="fork")
    fake_github.faults = [(403, {})]
    skipped = comments.upsert_or_skip(client, "octo/app", 7, MARKER, "r", "github-actions[bot]", read_only="fork")
    assert skipped == comments.Posted("skipped", reason="fork")


@pytest.mark.parametrize(("login", "warned"), [("a-bot", True), ("z-bot", True), ("github-actions[bot]", False)])
def test_the_author_note_appears_exactly_when_the_writer_differs(client, fake_github, login, warned):
    fake_github.login = login
    posted = comments.upsert(client, "octo/app", 3, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert bool(posted.reason) is warned
    assert posted.url == fake_github.comments[3][0]["html_url"]
    fake_github.login = "github-actions[bot]"
    edited = comments.upsert(client, "octo/app", 3, MARKER, "again", login)
    assert edited.url == fake_github.comments[3][0]["html_url"]


def test_a_reply_without_an_author_gives_no_note(client, fake_github, monkeypatch):
    original = client.json

    def no_user(method, path, **kwargs):
        reply = original(method, path, **kwargs)
        return {k: v for k, v in reply.items() if k != "user"} if method == "POST" else reply

    monkeypatch.setattr(client, "json", no_user)
    assert comments.upsert(client, "octo/app", 5, MARKER, "report", "github-actions[bot]").reason == ""


@pytest.mark.parametrize("bad_id", [None, "x", {"a": 1}, "missing"])
def test_a_comment_without_a_usable_id_is_unexpected_data(client, fake_github, bad_id):
    comment = {"body": f"{MARKER} old", "user": {"login": "github-actions[bot]"}}
    if bad_id != "missing":
        comment["id"] = bad_id
    fake_github.comments[7] = [comment]
    with pytest.raises(GitHubError, match="unexpected comment data"):
        comments.upsert(client, "octo/app", 7, MARKER, "report", "github-actions[bot]")


def test_what_happened_cannot_be_changed_after():
    import dataclasses  # noqa: PLC0415

    with pytest.raises(dataclasses.FrozenInstanceError):
        comments.Posted("created").action = "updated"


# -- every write idempotent under every fault ------------------------------------------


def test_a_post_held_past_the_timeout_and_then_committed_is_not_posted_twice(client, fake_github, monkeypatch):
    # GitHub holds the POST past the client's read timeout, then creates the comment. The client
    # looked at once, found nothing (still held) and posted again: two sticky comments.
    monkeypatch.setattr(github, "TIMEOUT", (2.0, 0.3))
    monkeypatch.setattr(comments, "SETTLE", 1.2)
    fake_github.lost_replies = [("hold", 0.7)]
    posted = comments.upsert(client, "octo/app", 4, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nreport"]
    assert [m for m, p in fake_github.requests if "/comments" in p].count("POST") == 1


@pytest.mark.parametrize("fault", [502, "reset"])
def test_a_lost_reply_under_eventual_consistency_makes_one_comment(client, fake_github, monkeypatch, fault):
    # The comment exists but the list shows it only after a while: look again after a short wait.
    monkeypatch.setattr(comments, "SETTLE", 1.0)
    fake_github.lost_replies = [fault]
    fake_github.list_lag = 0.4
    comments.upsert(client, "octo/app", 4, MARKER, "report", "github-actions[bot]")
    fake_github.list_lag = 0
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nreport"]


def test_a_first_post_that_lands_after_the_second_is_cleaned_up(client, fake_github, monkeypatch):
    # Held longer than every look: the second POST goes out, then the first lands; the last look keeps one.
    monkeypatch.setattr(github, "TIMEOUT", (2.0, 0.2))
    monkeypatch.setattr(comments, "SETTLE", 0.6)
    fake_github.lost_replies = [("hold", 0.8)]
    posted = comments.upsert(client, "octo/app", 4, MARKER, "report", "github-actions[bot]")
    assert posted.action == "created"
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nreport"]


def test_duplicates_of_our_comment_are_reduced_to_the_oldest(client, fake_github):
    ours = {"user": {"login": "github-actions[bot]"}}
    fake_github.comments[7] = [
        {"id": 11, "body": f"{MARKER}\nfirst", **ours},
        {"id": 12, "body": f"{MARKER} pasted", "user": {"login": "mallory"}},
        {"id": 13, "body": "chatter", **ours},
        {"id": 14, "body": f"{MARKER}\nsecond", **ours},
        {"id": 15, "body": f"{MARKER}\nthird", **ours},
    ]
    posted = comments.upsert(client, "octo/app", 7, MARKER, "new", "github-actions[bot]")
    assert posted.action == "updated"
    assert posted.removed == 2
    assert [(c["id"], c["body"]) for c in fake_github.comments[7]] == [
        (11, f"{MARKER}\nnew"),
        (12, f"{MARKER} pasted"),
        (13, "chatter"),
    ]
    writes = [(m, p) for m, p in fake_github.requests if m != "GET"]
    assert writes[0] == ("PATCH", "/repos/octo/app/issues/comments/11")  # edited before anything is deleted
    # A re-run finds exactly one and only edits it.
    assert comments.upsert(client, "octo/app", 7, MARKER, "again", "github-actions[bot]").removed == 0


def test_a_duplicate_already_deleted_is_fine(client, fake_github, monkeypatch):
    ours = {"user": {"login": "github-actions[bot]"}}
    fake_github.comments[7] = [{"id": 11, "body": f"{MARKER}\na", **ours}, {"id": 12, "body": f"{MARKER}\nb", **ours}]
    original = client.request

    def deleted_meanwhile(method, path, **kwargs):
        if method == "DELETE":
            fake_github.comments[7] = [c for c in fake_github.comments[7] if c["id"] != 12]
        return original(method, path, **kwargs)

    monkeypatch.setattr(client, "request", deleted_meanwhile)
    assert comments.upsert(client, "octo/app", 7, MARKER, "new", "github-actions[bot]").removed == 1
    assert [c["id"] for c in fake_github.comments[7]] == [11]


def test_cd_comment_says_what_it_removed(fake_github, monkeypatch, capsys, tmp_path):
    ours = {"user": {"login": "github-actions[bot]"}}
    marker = "<!-- service-pipeline:cd-report -->"
    fake_github.comments[5] = [
        {"id": i, "body": f"{marker}\n{i}", "html_url": f"https://example.invalid/c/{i}", **ours} for i in (1, 2)
    ]
    report = tmp_path / "cd.md"
    report.write_text(f"{marker}\nbody")
    monkeypatch.setenv("PR_NUMBER", "5")
    assert main(["cd-comment", "--report", str(report)]) == 0
    assert "comment updated: https://example.invalid/c/1 (1 duplicate removed)" in capsys.readouterr().out
    assert len(fake_github.comments[5]) == 1


def test_a_post_that_never_left_is_retried_and_one_that_may_have_is_not(monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.001)
    client = github.GitHub(Settings(api_url="http://127.0.0.1:9", max_wait=5))
    with pytest.raises(GitHubError, match="after 5 attempts") as raised:
        client.request("POST", "/repos/octo/app/issues/1/comments", json={"body": "x"})
    assert raised.value.uncertain is False  # the connection was refused: nothing was sent


def test_a_second_unknown_outcome_says_a_rerun_finds_the_comment(client, fake_github):
    fake_github.lose_posts = {1: 502, 2: 502}
    fake_github.list_lag = 60  # the list never shows them in time
    with pytest.raises(GitHubError, match="a re-run finds it and edits it") as raised:
        comments.upsert(client, "octo/app", 4, MARKER, "report", "github-actions[bot]")
    assert raised.value.uncertain
