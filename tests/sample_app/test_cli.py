import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sample_app import __version__
from sample_app.cli import HELP, USAGE, main

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["2", "3"], "5\n"),
        (["-2", "3"], "1\n"),
        (["-1e3", "1"], "-999\n"),
        (["-.5", "1"], "0.5\n"),
        (["--", "-2", "-3"], "-5\n"),
        (["0.1", "0.2"], "0.3\n"),
    ],
)
def test_prints_the_sum(argv, expected):
    assert run(*argv) == (0, expected, "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["abc", "1"], "not a number: 'abc'"),
        (["nan", "1"], "not a number: 'nan'"),
        (["1", "inf"], "not a number: 'inf'"),
        (["", "1"], "not a number: ''"),
        (["1"], "expected 2 operands, got 1"),
        ([], "expected 2 operands, got 0"),
        (["1", "2", "3"], "expected 2 operands, got 3"),
        (["--bogus", "1", "2"], "unrecognised option: '--bogus'"),
        (["-x", "1"], "unrecognised option: '-x'"),
        (["-", "1"], "unrecognised option: '-'"),
        (["1e999999999", "1"], "too large to print exactly: '1e999999999' (more than 4300 digits)"),
    ],
)
def test_bad_input_is_a_usage_error_on_two_lines(argv, message):
    assert run(*argv) == (2, "", f"{USAGE}\nsample-app: error: {message}\n")


def test_help_and_version():
    assert run("--help") == (0, HELP, "")
    assert run("1", "-h") == (0, HELP, "")
    assert run("--version") == (0, f"sample-app {__version__}\n", "")


def test_defaults_to_sys_argv_and_std_streams(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["sample-app", "40", "2"])
    assert main() == 0
    assert capsys.readouterr() == ("42\n", "")


def module(*argv):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "sample_app", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_python_dash_m_adds():
    result = module("2", "3")
    assert (result.returncode, result.stdout, result.stderr) == (0, "5\n", "")


@pytest.mark.parametrize("argv", [["abc", "1"], ["1e99999999999999", "1"], ["--bogus"]])
def test_python_dash_m_never_prints_a_traceback(argv):
    result = module(*argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 2
