import subprocess

import pytest

from pipeline import build


def test_created_is_source_date_epoch_when_set(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build.commit_time("HEAD") == "2023-11-14T22:13:20Z"


def test_created_is_the_commit_time_not_the_build_time(tmp_path, monkeypatch):
    # Two builds of one commit get the same label, so the second reuses every layer.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z", "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    sha = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert build.commit_time(sha) == "2026-11-01T12:00:00Z"
    assert build.commit_time(sha) == build.commit_time(sha)


@pytest.mark.parametrize("epoch", ["", "soon", "-1"])
def test_created_is_empty_outside_a_checkout_or_for_a_bad_epoch(tmp_path, monkeypatch, epoch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    if epoch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    else:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert build.commit_time("c" * 40) == ""
