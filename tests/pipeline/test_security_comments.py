"""The sticky comment's decision of which comment is ours, pinned: our marker AND our author.

Against the fake GitHub API (a real HTTP server): a comment of the same bot
without this kind's marker (another kind of report, or a person's words
quoted by the bot) is never edited or deleted, and one with the marker by
anyone else is never touched either.
"""

from __future__ import annotations

import pytest

from pipeline import comments, github
from pipeline.settings import Settings

MARKER = "<!-- pipeline:report -->"
BOT = "github-actions[bot]"


@pytest.fixture
def client(fake_github, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    monkeypatch.setattr(comments, "SETTLE", 0.05)
    env = {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_TOKEN": "ghs_token",
        "GITHUB_REPOSITORY": "octo/app",
        "PIPELINE_MAX_WAIT": "3",
    }
    return github.GitHub(Settings.from_env(env))


def test_our_authors_comment_of_another_kind_is_left_alone(client, fake_github):
    other = [{"id": 1, "body": "<!-- pipeline:coverage -->\ncoverage 91 %", "user": {"login": BOT}}]
    fake_github.comments[4] = [dict(c) for c in other]
    posted = comments.upsert(client, "octo/app", 4, MARKER, "the report", BOT)
    assert (posted.action, posted.removed) == ("created", 0)
    assert fake_github.comments[4][0] == other[0]
    assert [c["body"] for c in fake_github.comments[4]][1:] == [f"{MARKER}\nthe report"]


def test_several_comments_of_our_author_without_the_marker_are_never_reduced(client, fake_github):
    fake_github.comments[4] = [{"id": i, "body": f"note {i}", "user": {"login": BOT}} for i in (1, 2, 3)]
    comments.upsert(client, "octo/app", 4, MARKER, "first", BOT)
    comments.upsert(client, "octo/app", 4, MARKER, "second", BOT)
    assert [c["body"] for c in fake_github.comments[4]] == ["note 1", "note 2", "note 3", f"{MARKER}\nsecond"]


def test_the_marker_by_another_author_is_never_edited_or_deleted(client, fake_github):
    fake_github.comments[4] = [
        {"id": 1, "body": f"{MARKER}\nfake green report", "user": {"login": "mallory"}},
        {"id": 2, "body": f"{MARKER}\nfake", "user": {"login": f"{BOT}-lookalike"}},
    ]
    comments.upsert(client, "octo/app", 4, MARKER, "the report", BOT)
    assert [c["body"] for c in fake_github.comments[4]] == [
        f"{MARKER}\nfake green report",
        f"{MARKER}\nfake",
        f"{MARKER}\nthe report",
    ]


def test_a_first_post_landing_after_the_second_leaves_exactly_one_comment(client, fake_github, monkeypatch):
    # The first POST is held past the client's timeout and commits only once the second POST has
    # arrived: the last look sees both copies and keeps one (deterministic: no race on a hold's length).
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    monkeypatch.setattr(github, "TIMEOUT", (2.0, 0.2))
    monkeypatch.setattr(comments, "SETTLE", 0.3)
    fake_github.lost_replies = [("hold", 10.0)]

    def release_the_first_after_the_second():
        while fake_github.post_count < 2:  # until the second POST arrived
            time.sleep(0.01)
        fake_github.unblock.set()

    watcher = threading.Thread(target=release_the_first_after_the_second, daemon=True)
    watcher.start()
    posted = comments.upsert(client, "octo/app", 4, MARKER, "the report", BOT)
    watcher.join(5)
    assert (posted.action, posted.removed) == ("created", 1)
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nthe report"]


def test_copies_the_lists_do_not_show_yet_are_left_for_the_next_run(client, fake_github, monkeypatch):
    # Lists lag behind both POSTs: nothing of ours is visible at the last look, so nothing is touched;
    # the next run, once the lists caught up, keeps the oldest.
    import time  # noqa: PLC0415

    monkeypatch.setattr(comments, "SETTLE", 0.05)
    fake_github.list_lag = 1.0
    fake_github.lose_posts = {1: 502}
    posted = comments.upsert(client, "octo/app", 4, MARKER, "the report", BOT)
    assert posted.action == "created"
    assert len(fake_github.comments[4]) == 2
    time.sleep(1.0)
    again = comments.upsert(client, "octo/app", 4, MARKER, "the next report", BOT)
    assert (again.action, again.removed) == ("updated", 1)
    assert [c["body"] for c in fake_github.comments[4]] == [f"{MARKER}\nthe next report"]


@pytest.mark.parametrize("status", [403, 422])
def test_a_duplicate_that_cannot_be_deleted_fails_the_write(client, fake_github, status):
    # Only "already gone" (404) is what we wanted; any other refusal is an error, not a clean comment.
    import json  # noqa: PLC0415

    from pipeline.errors import GitHubError  # noqa: PLC0415

    listed = [{"id": i, "body": f"{MARKER}\ncopy {i}", "user": {"login": BOT}} for i in (1, 2)]
    fake_github.faults = [
        (200, {"Content-Type": "application/json"}, json.dumps(listed).encode()),  # the list
        (200, {"Content-Type": "application/json"}, json.dumps({**listed[0], "html_url": "u"}).encode()),  # PATCH
        (status, {}),  # DELETE of the copy
    ]
    with pytest.raises(GitHubError) as refused:
        comments.upsert(client, "octo/app", 4, MARKER, "the report", BOT)
    assert refused.value.status == status
    assert ("DELETE", "/repos/octo/app/issues/comments/2") in fake_github.requests
