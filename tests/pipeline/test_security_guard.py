"""CD's gate: each refusal of guard.decide, with the value just past its edge.

Every case here was a hand-made mutant of guard.py that the suite let
through: a test per loosened check, in the event's own JSON shape.
"""

import pytest

from pipeline import profile
from pipeline.guard import decide
from projects import ROOT

SHA = "c" * 40
PROFILE = profile.load(ROOT)


def event(**run):
    base = {
        "conclusion": "success",
        "head_repository": {"full_name": "octo/app", "owner": {"login": "octo"}},
        "path": ".github/workflows/ci.yml@refs/heads/main",
        "head_sha": SHA,
        "id": 42,
        "run_attempt": 2,
        "event": "push",
        "head_branch": "main",
    }
    base.update(run)
    return {"workflow_run": base}


def test_a_push_to_main_deploys_to_production_with_its_validated_values():
    decision = decide(event(), "octo/app", PROFILE)
    assert (decision.act, decision.environment, decision.ref) == (True, "production", "refs/heads/main")
    assert (decision.sha, decision.run_id, decision.run_attempt) == (SHA, "42", "2")


@pytest.mark.parametrize(
    "branch", ["main2", "main-x", "mainline", "main/evil", "Main", "refs/heads/main", "", "develop2", "pull-requests"]
)
def test_only_a_branch_of_the_profile_itself_deploys(branch):
    decision = decide(event(head_branch=branch), "octo/app", PROFILE)
    assert not decision.act
    assert decision.reason == f"push to {branch!r}, which the profile deploys nowhere"


def test_develop_deploys_to_staging_with_its_own_ref():
    decision = decide(event(head_branch="develop"), "octo/app", PROFILE)
    assert (decision.act, decision.environment, decision.ref) == (True, "staging", "refs/heads/develop")


def test_pull_requests_deploy_where_the_profile_says_or_nowhere():
    pr = event(event="pull_request", head_branch="feature")
    assert decide(pr, "octo/app", PROFILE).environment == "preview"
    import dataclasses  # noqa: PLC0415

    nowhere = dataclasses.replace(PROFILE, environments={"main": "production"})
    decision = decide(pr, "octo/app", nowhere)
    assert (decision.act, decision.reason) == (False, "the profile deploys pull requests nowhere")


@pytest.mark.parametrize(
    "run",
    [
        {"id": "\uff14\uff12"},  # full-width digits: str.isdigit() says yes
        {"id": "٤٢"},
        {"id": "²"},
        {"id": "042"},
        {"id": ""},
        {"id": True},
        {"run_attempt": "²"},
        {"run_attempt": "٢"},
        {"run_attempt": "0"},
        {"run_attempt": ""},
        {"run_attempt": "1" * 20},
        {"id": "1" * 20},
    ],
)
def test_run_ids_and_attempts_are_ascii_numbers(run):
    decision = decide(event(**run), "octo/app", PROFILE)
    assert not decision.act
    assert decision.reason == "head_sha or run id is malformed"


def test_an_event_without_a_run_attempt_is_the_first_attempt():
    data = event()
    del data["workflow_run"]["run_attempt"]
    assert decide(data, "octo/app", PROFILE).run_attempt == "1"


def test_a_pull_request_number_is_a_json_integer_not_a_boolean():
    data = event(event="pull_request", head_branch="feat", pull_requests=[{"number": True}, {"number": 3}])
    assert decide(data, "octo/app", PROFILE).pull_requests == "3"


@pytest.mark.parametrize("path", [".github/workflows/ci.yml", ".github/workflows/ci.yml@refs/heads/main"])
def test_the_ci_workflow_is_named_exactly_with_or_without_its_ref(path):
    assert decide(event(path=path), "octo/app", PROFILE).act


@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/ci.yml.evil",
        ".github/workflows/ci.ymlx@refs/heads/main",
        "evil@.github/workflows/ci.yml",
        ".github/workflows/cd.yml@refs/heads/main",
        "",
    ],
)
def test_another_workflow_is_not_ci(path):
    assert decide(event(path=path), "octo/app", PROFILE).reason == "the run is not this repository's CI workflow"


def test_a_long_branch_that_deploys_nowhere_is_quoted_to_sixty_characters():
    branch = "feature/" + "x" * 70
    decision = decide(event(head_branch=branch), "octo/app", PROFILE)
    assert decision.reason == f"push to {branch[:60]!r}, which the profile deploys nowhere"
