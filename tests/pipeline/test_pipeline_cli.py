"""The one entry point: usage errors, interrupts, one line each."""

import subprocess
import sys

from pipeline.cli import main


def test_python_dash_m_pipeline_reports_usage_errors_with_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "verify", "--bogus"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr == "error: python -m pipeline: unrecognized arguments: --bogus\n"
    assert "Traceback" not in result.stderr


def test_interrupt_is_one_line(monkeypatch, capsys):
    # Inside a command, not the command itself: main's parser is built once per
    # process and holds the command functions it was built with.
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.matrix.read_matrix", interrupted)
    assert main(["pythons"]) == 1
    assert capsys.readouterr().err == "error: interrupted\n"


def test_every_error_is_printed_as_one_line_however_it_was_built(monkeypatch, capsys):
    from pipeline.errors import CheckFailed  # noqa: PLC0415

    def failed():
        raise CheckFailed("a library's report:\n  field x\n    is missing")

    monkeypatch.setattr("pipeline.matrix.read_matrix", failed)
    assert main(["pythons"]) == 1
    assert capsys.readouterr().err == "error: a library's report: field x is missing\n"


def test_verify_usage_errors(capsys):
    assert main(["verify", "--offline", "--repository", "o/r", "--ref", "r"]) == 2
    assert main(["verify", "--offline", "--artifact", "x"]) == 2
    err = capsys.readouterr().err
    assert "give --digest" in err
    assert "--artifact needs exactly one --bundle" in err


def test_deploy_needs_an_image_or_a_sha(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    assert main(["deploy", "--no-verify"]) == 2
    assert "give --image, or --sha" in capsys.readouterr().err
