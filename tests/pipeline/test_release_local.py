"""The release dry run's flow without a registry: prepared aside, refused before any build."""

import subprocess
from pathlib import Path

import pytest

from pipeline.cli import main
from projects import service_project

ROOT = Path(__file__).resolve().parents[2]


def git(cwd, *args):
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    return subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository with the two files a release edits, independent of this one's CHANGELOG."""
    repo = tmp_path / "repo"
    (repo / "src" / "sample_app").mkdir(parents=True)
    (repo / "src" / "sample_app" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n- a thing\n")
    service_project(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    monkeypatch.chdir(repo)
    return repo


def test_a_dry_run_without_the_local_image_stops_at_the_check_and_touches_nothing(
    project, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("LOCAL_REGISTRY", "127.0.0.1:9")
    before = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    assert main(["release", "0.9.0", "--dry-run", "--reports", str(tmp_path / "reports")]) == 1
    out = capsys.readouterr().out
    assert "| prepare | ok |" in out
    assert "| check | FAILED |" in out
    assert "run `hatch run pipeline` first" in out
    assert "| build twice | skipped |" in out
    assert "| attest | skipped |" in out
    after = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    assert after == before  # the version and CHANGELOG were changed in a scratch worktree only
    worktrees = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert "release-dry-run-" not in worktrees


def test_a_dry_run_needs_the_flag_and_a_release_version(capsys):
    assert main(["release", "0.9.0"]) == 2
    assert "--dry-run" in capsys.readouterr().err
    assert main(["release", "0.9", "--dry-run"]) == 2
    assert "not a release version" in capsys.readouterr().err
