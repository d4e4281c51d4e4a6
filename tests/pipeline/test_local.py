"""The local pipeline's flow, with a stand-in `hatch` executable on PATH."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.local import LocalPipeline, Stage, preflight, run_local, run_stages, summary_table


@pytest.fixture
def workspace(stand_in_hatch, monkeypatch):
    """The stand-in hatch, and nothing but the interpreter besides (no docker)."""
    monkeypatch.setenv("PATH", f"{stand_in_hatch / 'bin'}{os.pathsep}{Path(sys.executable).parent}")
    return stand_in_hatch


def test_no_container_run_passes_every_stage_and_writes_the_report(workspace, capsys):
    (workspace / "reports").mkdir()
    (workspace / "reports" / "stale.json").write_text("{}")
    assert run_local(container=False, reports=workspace / "reports") == 0
    out = capsys.readouterr().out
    assert "| lint | ok |" in out
    assert "| combined coverage | ok |" in out
    assert "containers skipped (--no-container)" in out
    python = os.environ["FAKE_PYTHON"]
    assert (workspace / "hatch.log").read_text().splitlines() == [
        "env show --json test",  # the preflight: every interpreter, before any stage
        "run lint",
        "env show --json test",
        "env create test",
        f"run test.py{python}:run -n 0 -m not e2e",
        "build -t wheel",
    ]
    assert f"--- Python {python}: ok in" in out
    assert "    1 passed in 0.01s" in out
    assert "    Quality gate passed: coverage 100.00% >= 90.00%" in out
    assert f"| Python {python} side by side;" in out
    assert (workspace / "reports" / "coverage.xml").exists()
    assert not (workspace / "reports" / "stale.json").exists()
    report = (workspace / "reports" / "ci-report.md").read_text()
    assert "_image: missing (image.json was not produced)_" in report


def test_a_failed_stage_skips_the_rest_and_exits_1(workspace, monkeypatch, capsys):
    monkeypatch.setenv("LINT_RC", "3")
    assert run_local(container=False, reports=workspace / "reports") == 1
    out = capsys.readouterr().out
    assert "| lint | FAILED |" in out
    assert "hatch run lint` exited 3" in out
    assert "| tests (matrix, gate) | skipped |" in out
    assert (workspace / "reports" / "ci-report.md").exists()


def test_a_failing_cell_fails_the_stage_and_shows_its_log(workspace, monkeypatch, capsys):
    monkeypatch.setenv("TEST_RC", "1")
    assert run_local(container=False, reports=workspace / "reports") == 1
    out = capsys.readouterr().out
    python = os.environ["FAKE_PYTHON"]
    assert f"--- Python {python}: FAILED (exit 1)" in out
    assert "==== 1 passed in 0.01s ====" in out  # the log itself, not only its summary
    assert f"the suite failed on Python {python} (logs in {workspace / 'reports'})" in out
    assert "| combined coverage | skipped |" in out


def test_without_an_engine_it_says_what_is_missing(workspace, capsys):
    assert run_local(container=True, reports=workspace / "reports") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nothing ran: the docker CLI is not installed")
    assert "bring the container platform up with `sudo bash" in err
    assert "hatch run pipeline --no-container" in err
    assert err.count("\n") == 1
    assert not (workspace / "hatch.log").read_text().count("run lint")


def test_without_an_engine_it_brings_the_platform_up_with_its_script(workspace, capsys, monkeypatch, local_authority):
    if os.geteuid() != 0:
        pytest.skip("bringing the platform up needs root (the script installs and starts dockerd)")
    bin_dir = workspace / "bin"
    (bin_dir / "docker").write_text('#!/bin/sh\n[ -f "$PLATFORM_UP" ] || exit 1\necho 28.2\n')
    (bin_dir / "docker").chmod(0o755)
    script = workspace / "platform.sh"
    script.write_text(
        ': > "$PLATFORM_UP"\necho LOCAL_REGISTRY=127.0.0.1:5999\n'
        f"echo LOCAL_SIGSTORE={local_authority.url}\necho 'BAD KEY=x'\n"
    )
    monkeypatch.setenv("PLATFORM_UP", str(workspace / "up"))
    # setenv (not delenv) records the variable, so the value the script sets is undone.
    monkeypatch.setenv("LOCAL_REGISTRY", "before")
    monkeypatch.setenv("LOCAL_SIGSTORE", "http://127.0.0.1:9")  # nothing answers there before
    assert preflight(container=True, platform_script=script) == ""
    assert os.environ["LOCAL_REGISTRY"] == "127.0.0.1:5999"
    assert os.environ["LOCAL_SIGSTORE"] == local_authority.url
    assert f"bash {script} up" in capsys.readouterr().out


def test_an_engine_without_the_sigstore_authority_is_named(workspace, monkeypatch):
    bin_dir = workspace / "bin"
    (bin_dir / "docker").write_text("#!/bin/sh\necho 28.2\n")
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("LOCAL_SIGSTORE", "http://127.0.0.1:9")
    problem = preflight(container=True, platform_script=None)
    assert problem.startswith("no local Sigstore authority answers on http://127.0.0.1:9; bring the container platform")


def test_a_platform_script_that_fails_stops_before_any_stage(workspace, capsys):
    script = workspace / "platform.sh"
    script.write_text("exit 4\n")
    if os.geteuid() != 0:
        pytest.skip("bringing the platform up needs root")
    assert run_local(container=True, reports=workspace / "reports", platform_script=script) == 1
    err = capsys.readouterr().err
    assert "failed (exit 4" in err
    assert "lint" not in (workspace / "hatch.log").read_text()


def test_missing_interpreters_and_platform_are_one_message(workspace, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_PYTHON", "3.99")
    assert run_local(container=True, reports=workspace / "reports") == 1
    err = capsys.readouterr().err
    assert "python3.99: not on PATH" in err
    assert "the docker CLI is not installed" in err
    assert err.count("\n") == 1


def test_stages_and_table(workspace):
    pipeline = LocalPipeline(workspace / "reports", container=True)
    names = [s.name for s in pipeline.stages()]
    assert names == [
        "lint",
        "tests (matrix, gate)",
        "combined coverage",
        "wheel",
        "image",
        "push",
        "SBOM",
        "attest",
        "deploy",
    ]
    assert pipeline.ref.name == f"{os.environ.get('LOCAL_REGISTRY') or '127.0.0.1:5000'}/local/sample-app"
    assert summary_table(pipeline.stages()[:1]).splitlines()[-1] == "| total | | 0.0 | |"


def test_the_local_command(workspace, monkeypatch):
    from pipeline.cli import main  # noqa: PLC0415

    monkeypatch.setenv("FAKE_REPORTS", str(workspace / "out"))
    assert main(["local", "--no-container", "--reports", str(workspace / "out")]) == 0
    assert (workspace / "out" / "ci-report.md").exists()


def test_a_failing_command_stops_the_stages_with_one_line(capsys):
    def git() -> str:
        raise subprocess.CalledProcessError(128, ["git", "worktree", "add"], stderr="fatal: nope\n")

    stages = [Stage("first", lambda: "done"), Stage("git", git), Stage("after", lambda: "never")]
    assert run_stages(stages) is True
    assert [(s.name, s.status) for s in stages] == [("first", "ok"), ("git", "FAILED"), ("after", "skipped")]
    assert stages[1].note == "`git worktree add` exited 128: fatal: nope"
    assert "<<< git: FAILED in" in capsys.readouterr().out
