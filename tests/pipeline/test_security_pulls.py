"""CD's binding of a PR run's certificate commit to the PR's head, pinned (``pulls.require_merge_of_head``).

A pull_request run signs as GitHub's merge commit of ``refs/pull/N/merge``:
exactly two parents, the base first and the head second. Anything else (the
head as the first parent, a merge of another head, an octopus, a later
commit on top of the head, a commit GitHub does not know) is refused with
one line naming both commits. Against the fake GitHub API (a real server).
"""

from __future__ import annotations

import pytest

from pipeline import github, pulls
from pipeline.errors import CheckFailed, GitHubError
from pipeline.settings import Settings

HEAD, BASE, OTHER, THIRD, COMMIT = "1" * 40, "2" * 40, "3" * 40, "4" * 40, "5" * 40


@pytest.fixture
def client(fake_github, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    env = {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_TOKEN": "ghs_token",
        "GITHUB_REPOSITORY": "octo/app",
        "PIPELINE_MAX_WAIT": "3",
    }
    return github.GitHub(Settings.from_env(env))


def with_parents(fake_github, parents: list[str]) -> None:
    fake_github.commits[COMMIT] = {"sha": COMMIT, "parents": [{"sha": p} for p in parents]}


def test_the_head_itself_binds_without_asking_github(client, fake_github):
    pulls.require_merge_of_head(client, "octo/app", HEAD, HEAD)
    assert not [r for r in fake_github.requests if "/commits/" in r[1]]


def test_githubs_merge_of_the_head_binds(client, fake_github):
    with_parents(fake_github, [BASE, HEAD])
    pulls.require_merge_of_head(client, "octo/app", COMMIT, HEAD)


@pytest.mark.parametrize(
    ("parents", "named"),
    [
        ([HEAD, BASE], f"{HEAD[:12]}, {BASE[:12]}"),  # the head in the base's place
        ([BASE, OTHER], f"{BASE[:12]}, {OTHER[:12]}"),  # a merge of another head
        ([BASE, HEAD, THIRD], f"{BASE[:12]}, {HEAD[:12]}, {THIRD[:12]}"),  # an octopus holding the head
        ([HEAD], HEAD[:12]),  # a later commit on top of the head
        ([], "none"),
    ],
)
def test_any_other_commit_is_refused_naming_both(client, fake_github, parents, named):
    with_parents(fake_github, parents)
    with pytest.raises(CheckFailed) as refused:
        pulls.require_merge_of_head(client, "octo/app", COMMIT, HEAD)
    assert str(refused.value) == (
        f"refused: the certificate's commit {COMMIT} is neither the PR's head {HEAD} nor a merge of it "
        f"(its parents: {named})"
    )


def test_a_commit_github_does_not_know_is_not_bound(client, fake_github):
    with pytest.raises((CheckFailed, GitHubError)):
        pulls.require_merge_of_head(client, "octo/app", COMMIT, HEAD)


@pytest.mark.parametrize("parents", [[BASE, HEAD]])
def test_merge_binds_is_exact_about_the_heads_position(parents):
    assert pulls.merge_binds(COMMIT, HEAD, parents) == ""
    assert pulls.merge_binds(HEAD, HEAD, []) == ""
    assert pulls.merge_binds(COMMIT, HEAD, list(reversed(parents)))
    assert pulls.merge_binds(COMMIT, HEAD[:-1] + "0", parents)


def pull(number: int, *, sha: str = HEAD, base: str = "octo/app", state: str = "open") -> dict:
    return {
        "number": number,
        "state": state,
        "head": {"sha": sha, "ref": "feature", "repo": {"full_name": "fork/app"}},
        "base": {"ref": "main", "repo": {"full_name": base}},
    }


@pytest.mark.parametrize("base", ["aaa/app", "octo/ap", "zzz/app", "octo/app-fork"])
def test_a_pull_request_into_another_repository_is_not_this_one(client, fake_github, base):
    # Each base sorts before or after ours: only the exact repository (any case) is ours.
    fake_github.pulls_by_commit[HEAD] = [pull(3, base=base)]
    assert pulls.find_pull_request(client, "octo/app", HEAD) is None
    fake_github.pulls_by_commit[HEAD] = [pull(3, base="Octo/App")]
    assert pulls.find_pull_request(client, "octo/app", HEAD).number == 3


@pytest.mark.parametrize("state", ["closed", "merged", "opened", "zzz"])
def test_only_an_open_pull_request_is_found(client, fake_github, state):
    fake_github.pulls_by_commit[HEAD] = [pull(3, state=state)]
    assert pulls.find_pull_request(client, "octo/app", HEAD) is None


def test_a_pull_request_found_by_its_commit_is_not_looked_up_again_by_the_fork_head(client, fake_github):
    fake_github.pulls_by_commit[HEAD] = [pull(3)]
    fake_github.pulls = []  # the head listing would find nothing
    found = pulls.find_pull_request(client, "octo/app", HEAD, fork_head="fork:feature")
    assert found is not None
    assert found.number == 3
    assert not [path for _, path in fake_github.requests if path.startswith("/repos/octo/app/pulls")]


def test_the_head_binds_by_its_value_not_by_being_the_same_object():
    commit = "".join(["1"] * 40)  # equal to HEAD, built at run time: another object
    assert commit == HEAD
    assert pulls.merge_binds(commit, HEAD, []) == ""


@pytest.mark.parametrize("commit", ["0" * 40, "1" * 39 + "0", "f" * 40])
def test_only_the_head_itself_binds_without_a_merge(commit):
    # Commits sorting before and after the head: the head is an equality, not an order.
    assert pulls.merge_binds(commit, HEAD, [BASE, OTHER])
    assert pulls.merge_binds(commit, HEAD, [])


def test_of_several_prs_the_event_names_the_oldest_is_chosen():
    prs = [pulls.PullRequest(n, "feature", "octo/app", "main") for n in (9, 4, 7)]
    chosen = pulls.choose(prs, preferred=(9, 7))
    assert chosen is not None
    assert chosen.number == 7
    assert chosen.why == "#4, #7, #9 share this head; chose #7, the one the workflow_run event names"


@pytest.mark.parametrize("head", ["0" * 40, "f" * 40])
def test_a_pr_whose_head_is_another_commit_is_not_the_commits(client, fake_github, head):
    # GitHub lists a PR for every commit it contains: only the PR whose head is this commit is its PR.
    fake_github.pulls_by_commit[HEAD] = [pull(3, sha=head)]
    assert pulls.find_pull_request(client, "octo/app", HEAD) is None


def test_the_head_equal_by_value_binds_without_asking_github(client, fake_github):
    pulls.require_merge_of_head(client, "octo/app", "".join(["1"] * 40), HEAD)
    assert not [r for r in fake_github.requests if "/commits/" in r[1]]


@pytest.mark.parametrize("second", ["0" * 40, "1" * 39 + "0", "1" * 39 + "2", "f" * 40])
def test_a_merge_binds_only_with_exactly_the_head_as_second_parent(second):
    assert pulls.merge_binds(COMMIT, HEAD, [BASE, second])


def test_the_pr_names_its_head_repository_or_none_when_the_fork_is_gone(client, fake_github):
    fake_github.pulls_by_commit[HEAD] = [pull(3)]
    found = pulls.find_pull_request(client, "octo/app", HEAD)
    assert found is not None
    assert found.head_repository == "fork/app"
    gone = pull(3)
    gone["head"]["repo"] = None
    fake_github.pulls_by_commit[HEAD] = [gone]
    found = pulls.find_pull_request(client, "octo/app", HEAD)
    assert found is not None
    assert found.head_repository == ""


@pytest.mark.parametrize("commit", ["0" * 40, "f" * 40])
def test_a_commit_sorting_either_side_of_the_head_is_looked_up_and_refused(client, fake_github, commit):
    fake_github.commits[commit] = {"sha": commit, "parents": [{"sha": BASE}, {"sha": OTHER}]}
    with pytest.raises(CheckFailed, match=f"the certificate's commit {commit} is neither the PR's head"):
        pulls.require_merge_of_head(client, "octo/app", commit, HEAD)
