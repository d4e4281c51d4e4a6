"""One wait budget per command: every client, every request's timeout, every back-off, over real sockets.

The fake API hangs (it accepts the request and answers after far longer than
the budget); the bounds are generous (budget 3 s: under 8 s), never a tight
timing assertion.
"""

import time

import pytest

from pipeline import github, registry
from pipeline.cli import main
from pipeline.errors import CheckFailed, GitHubError, InputError
from pipeline.settings import DEFAULT_MAX_WAIT, Settings, WaitBudget

HANG = 60.0  # far beyond every budget here


@pytest.fixture
def hanging(fake_github):
    """The fake API, made to hang on its next requests; released at the end."""
    yield fake_github
    fake_github.unblock.set()


def _elapsed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def test_a_hanging_api_costs_the_report_its_budget_and_no_more(hanging, monkeypatch, capsys, tmp_path):
    # It was 30 s of read timeout per attempt, five attempts, and back-off not counted (one job: 317 s).
    monkeypatch.setenv("PIPELINE_MAX_WAIT", "3")
    hanging.hangs = [HANG] * 10
    argv = ["report", "--reports", str(tmp_path), "--output", str(tmp_path / "o.md"), "--pr", "4"]
    status, took = _elapsed(lambda: main(argv))
    err = capsys.readouterr().err
    assert status == 1
    assert took < 8, took
    assert err.count("\n") == 1
    assert err.startswith("error: GET /repos/octo/app/issues/4/comments: gave up waiting for a reply from http://")
    assert "the command's 3s wait budget (PIPELINE_MAX_WAIT; 3s spent) is used up" in err


def test_every_client_of_a_command_shares_one_budget(hanging):
    settings = Settings(api_url=hanging.url, max_wait=3)
    first, second = github.GitHub(settings), github.GitHub(settings)
    assert first.budget is second.budget is settings.budget
    hanging.hangs = [1.5]  # the first client's call is answered, late
    assert first.json("GET", "/repos/octo/app/pulls") == []
    hanging.hangs = [HANG] * 10
    with pytest.raises(GitHubError, match="wait budget") as raised:
        second.json("GET", "/repos/octo/app/pulls")
    assert settings.budget.spent == pytest.approx(3, abs=0.5)
    assert "3s spent" in str(raised.value)


def test_the_second_client_gets_only_what_the_first_left(hanging):
    settings = Settings(api_url=hanging.url, max_wait=3)
    hanging.hangs = [1.5]
    github.GitHub(settings).json("GET", "/repos/octo/app/pulls")
    hanging.hangs = [HANG] * 10
    start = time.monotonic()
    with pytest.raises(GitHubError, match="wait budget"):
        github.GitHub(settings).json("GET", "/repos/octo/app/pulls")
    assert time.monotonic() - start < 2.8  # ~1.5 s left, not a fresh 3 s


def test_back_off_is_charged_and_never_sleeps_past_the_budget(fake_github, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 1.0)  # 1, 2, 4, 8 s: 15 s in all without a budget
    fake_github.faults = [(503, {})] * 10
    client = github.GitHub(Settings(api_url=fake_github.url, max_wait=3))
    start = time.monotonic()
    with pytest.raises(GitHubError) as raised:
        client.request("GET", "/repos/octo/app/pulls")
    took = time.monotonic() - start
    assert took < 4, took
    assert "gave up waiting for GitHub to recover from HTTP 503" in str(raised.value)
    assert "3s wait budget" in str(raised.value)


def test_a_write_cut_by_the_budget_is_reported_as_possibly_applied(hanging):
    hanging.hangs = [HANG]
    client = github.GitHub(Settings(api_url=hanging.url, max_wait=1))
    with pytest.raises(GitHubError, match="wait budget") as raised:
        client.json("POST", "/repos/octo/app/issues/1/comments", json={"body": "x"})
    assert raised.value.uncertain
    assert [m for m, _ in hanging.requests] == ["POST"]


def test_a_download_shares_the_budget(hanging):
    client = github.GitHub(Settings(api_url=hanging.url, max_wait=1))
    hanging.hangs = [HANG]
    with pytest.raises(GitHubError, match="download of .*wait budget"):
        client.download(f"{hanging.url}/bundles/1")
    with pytest.raises(GitHubError, match="gave up waiting for its host"):
        client.download(f"{hanging.url}/bundles/1")  # nothing left: no request at all
    assert len(hanging.requests) == 1


def test_the_registry_client_takes_the_same_budget(hanging):
    budget = WaitBudget(2)
    hanging.hangs = [HANG] * 5
    host = hanging.url.removeprefix("http://")
    pinned = registry.parse_reference(f"{host}/octo/app@sha256:{'a' * 64}")
    start = time.monotonic()
    with pytest.raises(CheckFailed, match=f"gave up waiting for the registry {host}") as raised:
        registry.promote(pinned, ("1.0.0",), budget=budget)
    assert time.monotonic() - start < 6
    assert "2s wait budget" in str(raised.value)
    with pytest.raises(CheckFailed, match="is used up"):
        registry.resolve(registry.parse_reference(f"{host}/octo/app:1.0.0"), budget=budget)


def test_release_promote_is_bounded_by_pipeline_max_wait(hanging, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_MAX_WAIT", "2")
    hanging.hangs = [HANG] * 5
    host = hanging.url.removeprefix("http://")
    argv = ["release-promote", "--image", f"{host}/octo/app@sha256:{'a' * 64}", "--tags", "1.0.0"]
    status, took = _elapsed(lambda: main(argv))
    assert status == 1
    assert took < 6, took
    assert "2s wait budget" in capsys.readouterr().err


def test_the_budget_counts_what_it_is_told_and_what_it_measures():
    now = [100.0]
    budget = WaitBudget(5, clock=lambda: now[0])
    with budget.waiting():
        now[0] += 2
    budget.charge(1.5)
    budget.charge(-3)  # never gives time back
    assert budget.spent == 3.5
    assert budget.remaining() == 1.5
    assert budget.timeout(30) == 1.5
    assert budget.timeout(1) == 1
    assert not budget.exhausted()
    budget.charge(1.495)
    assert budget.exhausted()
    assert budget.describe() == "the command's 5s wait budget (PIPELINE_MAX_WAIT; 5s spent)"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "1e999"])
def test_pipeline_max_wait_must_be_a_positive_finite_number(value):
    with pytest.raises(InputError, match="PIPELINE_MAX_WAIT"):
        Settings.from_env({"PIPELINE_MAX_WAIT": value})


def test_the_default_budget_leaves_room_for_one_secondary_rate_limit():
    assert Settings.from_env({}).max_wait == DEFAULT_MAX_WAIT == 120
    assert Settings.from_env({"PIPELINE_MAX_WAIT": "2.5"}).budget.total == 2.5
    assert DEFAULT_MAX_WAIT > github.SECONDARY_WAIT
