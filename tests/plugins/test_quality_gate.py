"""The gate as a user meets it: a pytest run of a small project.

Most runs are in-process (pytester's default): a second interpreter per test
costs ~0.8 s and adds nothing the scenario needs. The runs that depend on a
process of their own (the exit status and stderr of a usage error, an
interrupt, xdist workers, a real console run) use ``run_as_user``.
"""

import json
import os
import subprocess
import warnings

import coverage.cmdline
import pytest

# A conftest that loses the measured data after the loop: the gate must fail closed.
ERASE_DATA = (
    "import pytest\n"
    "@pytest.hookimpl(wrapper=True)\n"
    "def pytest_runtestloop(session):\n"
    "    result = yield\n"
    "    session.config.pluginmanager.get_plugin('_cov').cov_controller.cov.erase()\n"
    "    return result\n"
)


def run(pytester, *args):
    return pytester.runpytest_inprocess("--cov=mod", *args)


def run_as_user(pytester, *args):
    return pytester.runpytest_subprocess("--cov=mod", *args)


def coverage_cli(pytester, *args):
    """coverage.py's own command line, in-process, on the project's data: the reference figures."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(pytester.path)
        return coverage.cmdline.main(list(args))


def test_passes_when_coverage_reaches_the_threshold(pytester, project, gate_json):
    project("all", fail_under=90)
    result = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*- quality gate -*",
            "Quality gate passed: coverage 100.00% >= 90.00%",
            "threshold from coverage config (pyproject.toml: fail_under)",
        ]
    )
    assert gate_json()["verdict"] == "passed"


def test_fails_below_even_when_every_test_passes(pytester, project, gate_json):
    project("half", fail_under=90)
    result = run_as_user(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "Quality gate FAILED: coverage 83.33% is below the threshold of 90.00%",
            "*1 passed*",
        ]
    )
    assert gate_json()["verdict"] == "failed"


def test_exactly_at_the_threshold_passes(pytester, project):
    project("half", fail_under=83.33)
    assert run(pytester).ret == 0


@pytest.mark.parametrize(
    ("precision", "fail_under", "expected"),
    [
        # 3 of 7 statements: 42.857142...%
        (0, 43, 0),  # rounds up to 43 at precision 0: passes
        (1, 42.9, 0),  # 42.9 at precision 1: passes
        (2, 42.86, 0),
        (2, 42.87, 1),  # 42.86 < 42.87: fails
        (1, 43, 1),  # 42.9 < 43: fails
    ],
)
def test_rounds_like_coverage_report_fail_under(pytester, project, precision, fail_under, expected):
    pytester.makepyfile(
        mod="def a():\n    return 1\n\ndef b():\n    x = 1\n    y = 2\n    z = 3\n    return x + y + z\n"
    )
    project("none", fail_under=fail_under, precision=precision)
    pytester.makepyfile(test_mod="from mod import a\ndef test_a():\n    assert a() == 1\n")
    result = run(pytester)
    assert result.ret == expected
    status = coverage_cli(pytester, "report", f"--fail-under={fail_under}", f"--precision={precision}")
    assert (status == 2) == (expected == 1)


def test_option_beats_environment_beats_config(pytester, project, monkeypatch, gate_json):
    project("half", fail_under=99)
    monkeypatch.setenv("QUALITY_GATE_FAIL_UNDER", "70")
    result = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["threshold from environment (QUALITY_GATE_FAIL_UNDER)"])
    result = run(pytester, "--gate-fail-under=90")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["threshold from command line (--gate-fail-under)"])
    assert gate_json()["threshold_source"] == "command line (--gate-fail-under)"


def test_empty_environment_variable_counts_as_unset(pytester, project, monkeypatch):
    project("half", fail_under=60)
    monkeypatch.setenv("QUALITY_GATE_FAIL_UNDER", "")
    result = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["threshold from coverage config*"])


@pytest.mark.parametrize("value", ["abc", "101", "-1", "nan", "inf"])
def test_invalid_threshold_is_a_usage_error(pytester, project, monkeypatch, value):
    project("all")
    monkeypatch.setenv("QUALITY_GATE_FAIL_UNDER", value)
    # Without pytest-cov in-process: a usage error stops pytest after pytest-cov
    # started measuring, which would leave a tracer running inside this run.
    result = pytester.runpytest_inprocess("-p", "no:pytest_cov")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: quality gate: QUALITY_GATE_FAIL_UNDER: '{value}' *"])


def test_a_usage_error_is_one_line_on_stderr(pytester, project, monkeypatch):
    project("all")
    monkeypatch.setenv("QUALITY_GATE_FAIL_UNDER", "abc")
    result = run_as_user(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line] == [
        "ERROR: quality gate: QUALITY_GATE_FAIL_UNDER: 'abc' is not a number; give a percentage from 0 to 100"
    ]
    assert result.stdout.str() == ""


def test_unmeasured_coverage_fails_closed(pytester, project, gate_json):
    project("all", fail_under=10)
    result = pytester.runpytest_inprocess()  # no --cov
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "Quality gate FAILED: coverage was not measured*",
            "run with --cov (pytest-cov), or pass --no-gate to switch the gate off",
        ]
    )
    assert gate_json()["verdict"] == "not-measured"


def test_broken_data_file_fails_closed(pytester, project):
    project("all", fail_under=10)
    pytester.makeconftest(ERASE_DATA)
    result = run(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["Quality gate FAILED: coverage data could not be read*"])


def test_switched_off_explicitly(pytester, project):
    project("all", fail_under=10)
    result = pytester.runpytest_inprocess("--no-gate")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*quality gate: off (--no-gate)*"])
    assert not (pytester.path / "reports" / "gate.json").exists()


def test_collect_only_does_nothing(pytester, project):
    project("half", fail_under=99)
    result = run(pytester, "--collect-only")
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*quality gate*")
    assert not (pytester.path / "reports").exists()


def test_writes_junit_by_default_and_gate_json(pytester, project, gate_json):
    project("half", fail_under=50)
    pytester.makepyfile(
        test_more="import pytest\n"
        "def test_fail():\n    assert 0\n"
        "@pytest.mark.skip(reason='x')\ndef test_skip():\n    pass\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError\n"
        "def test_error(broken):\n    pass\n"
        "@pytest.mark.xfail\ndef test_xfail():\n    assert 0\n"
    )
    result = run(pytester)
    assert result.ret == 1
    assert (pytester.path / "reports" / "junit.xml").exists()
    data = gate_json()
    assert data["tests"] == {"passed": 1, "failed": 1, "skipped": 2, "errors": 1}
    assert data["verdict"] == "passed"
    assert data["threshold"] == 50.0
    assert data["precision"] == 2
    assert data["total"] == pytest.approx(83.333, abs=0.001)
    assert data["total_display"] == "83.33"
    assert data["python"].count(".") == 2
    assert data["duration_seconds"] > 0
    (entry,) = data["files"]
    assert entry["path"] == "mod.py"
    assert entry["statements"] == 6
    assert entry["missing"] == 1
    assert entry["missing_lines"] == ["8"]


def test_custom_json_path(pytester, project, gate_json):
    project("all")
    assert run(pytester, "--gate-json=out/g.json").ret == 0
    assert gate_json("out/g.json")["verdict"] == "passed"


def test_silent_outside_github_actions(pytester, project):
    project("half", fail_under=90)
    result = run(pytester)
    assert "::" not in result.stdout.str()


def test_annotates_and_summarises_on_github_actions(pytester, project, monkeypatch):
    project("half", fail_under=90)
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["::error title=Quality gate::Quality gate FAILED: coverage 83.33%25 is below the threshold of 90.00%25"]
    )
    text = summary.read_text()
    assert "Quality gate FAILED" in text
    assert "| `mod.py` | 6 | 1 | 83.33% |" in text


def test_notice_when_passing_on_github_actions(pytester, project, monkeypatch):
    project("all", fail_under=90)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run(pytester)
    result.stdout.fnmatch_lines(["::notice title=Quality gate::Quality gate passed: coverage*"])


def git(path, *args):
    subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)


def test_warns_on_uncovered_lines_of_changed_files_only(pytester, project, monkeypatch):
    project("half", fail_under=10)
    pytester.makepyfile(other="def f():\n    return 1\n")
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "-c", "user.email=a@b", "-c", "user.name=a", "add", ".")
    git(pytester.path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "base")
    git(pytester.path, "checkout", "-qb", "feature")
    (pytester.path / "mod.py").write_text((pytester.path / "mod.py").read_text() + "\n")
    git(pytester.path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "change")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    result = run(pytester, "--cov=other")
    result.stdout.fnmatch_lines(
        ["::warning file=mod.py,line=8,endLine=8,title=Uncovered code::line 8 not covered by tests"]
    )
    assert "file=other.py" not in result.stdout.str()


def test_in_process_run_writes_summary_and_annotations(pytester, project, monkeypatch, gate_json):
    """The same scenario in-process, so the outer coverage sees the hooks run."""
    project("half", fail_under=90)
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_inprocess("--cov=mod", "-p", "no:cacheprovider")
    assert result.ret == 1
    assert gate_json()["verdict"] == "failed"
    assert "Quality gate FAILED" in summary.read_text()
    result = pytester.runpytest_inprocess("--no-gate")
    assert result.ret == 0
    result = pytester.runpytest_inprocess()
    assert gate_json()["verdict"] == "not-measured"


def test_figures_match_coverage_json_with_and_without_pytest_cov_xml(pytester, project, gate_json):
    """The gate reads pytest-cov's XML when there is one, else writes its own; both agree with coverage.py."""
    project("half", fail_under=10)
    pytester.makepyfile(
        mod="def half(x):\n    if x > 0:\n        return x / 2\n    return 0\n\n\ndef rest(x):\n"
        "    if x:\n        return x % 2\n    return 1\n"
    )
    for extra in ([], ["--cov-report=xml:out/cov.xml"]):
        assert run(pytester, "--cov-branch", *extra).ret == 0
        ours = gate_json()
        assert coverage_cli(pytester, "json", "-q", "-o", "cov.json") == 0
        theirs = json.loads((pytester.path / "cov.json").read_text())
        assert ours["total"] == pytest.approx(theirs["totals"]["percent_covered"])
        (entry,) = ours["files"]
        assert entry["percent"] == pytest.approx(theirs["files"]["mod.py"]["summary"]["percent_covered"])
        assert entry["missing_lines"] == ["8-10"]
    assert (pytester.path / "reports" / "coverage.xml").exists()
    assert (pytester.path / "out" / "cov.xml").exists()


OUTCOMES = """
import pytest

def test_pass():
    pass

def test_fail():
    assert 0

@pytest.mark.skip(reason="x")
def test_skip():
    pass

@pytest.mark.xfail
def test_xfail():
    assert 0

@pytest.mark.xfail
def test_xpass():
    pass

@pytest.fixture
def broken_setup():
    raise RuntimeError

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError

def test_setup_error(broken_setup):
    pass

def test_teardown_error(broken_teardown):
    pass
"""


def test_in_process_counts_every_outcome_without_pytest_cov(pytester, project, gate_json):
    """Without pytest-cov the gate fails closed, and still counts what ran."""
    project("all", fail_under=10)
    pytester.makepyfile(test_outcomes=OUTCOMES, test_broken_import="import not_a_module\n")
    result = pytester.runpytest_inprocess("-p", "no:pytest_cov", "--continue-on-collection-errors")
    assert result.ret == 1
    data = gate_json()
    assert data["verdict"] == "not-measured"
    # passed: test_pass, test_xpass, test_teardown_error's call, and the two from test_mod
    assert data["tests"] == {"passed": 5, "failed": 1, "skipped": 2, "errors": 3}
    result.stdout.fnmatch_lines(["run with --cov (pytest-cov), or pass --no-gate to switch the gate off"])


def test_in_process_usage_error_collect_only_and_explicit_junit(pytester, project, monkeypatch):
    project("all", fail_under=10)
    monkeypatch.setenv("QUALITY_GATE_FAIL_UNDER", "lots")
    assert pytester.runpytest_inprocess("-p", "no:pytest_cov").ret == pytest.ExitCode.USAGE_ERROR
    monkeypatch.delenv("QUALITY_GATE_FAIL_UNDER")
    assert pytester.runpytest_inprocess("--collect-only", "-p", "no:pytest_cov").ret == 0
    assert not (pytester.path / "reports").exists()
    pytester.runpytest_inprocess("-p", "no:pytest_cov", "--junitxml=mine.xml")
    assert (pytester.path / "mine.xml").exists()
    assert not (pytester.path / "reports" / "junit.xml").exists()


def test_in_process_run_stopped_before_the_loop_writes_nothing(pytester, project):
    project("all", fail_under=10)
    pytester.makeconftest(
        "import pytest\ndef pytest_collection(session):\n    pytest.exit('stop here', returncode=3)\n"
    )
    result = pytester.runpytest_inprocess("-p", "no:pytest_cov")
    assert result.ret == 3
    assert not (pytester.path / "reports" / "gate.json").exists()
    result.stdout.no_fnmatch_line("*quality gate*")


def test_in_process_reuses_pytest_covs_xml_and_honours_paths(pytester, project, monkeypatch, tmp_path):
    project("all", fail_under=10)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # annotations, but no summary file configured
    target = tmp_path / "abs" / "gate.json"
    result = pytester.runpytest_inprocess("--cov=mod", "--cov-report=xml:out/cov.xml", f"--gate-json={target}")
    assert result.ret == 0
    assert json.loads(target.read_text())["total"] == 100.0
    assert (pytester.path / "out" / "cov.xml").exists()
    assert not (pytester.path / "reports" / "coverage.xml").exists()  # pytest-cov's XML was read, not redone


def test_interrupted_collection_prints_no_gate_line(pytester, project):
    # A subprocess: in-process, the KeyboardInterrupt would stop the outer run too.
    project("all", fail_under=10)
    pytester.makeconftest("def pytest_collection(session):\n    raise KeyboardInterrupt\n")
    result = pytester.runpytest_subprocess("--cov=mod")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.no_fnmatch_line("Quality gate*")
    assert not (pytester.path / "reports" / "gate.json").exists()


def test_in_process_lost_data_fails_closed(pytester, project, gate_json):
    project("all", fail_under=10)
    pytester.makeconftest(ERASE_DATA)
    result = pytester.runpytest_inprocess("--cov=mod")
    assert result.ret == 1
    assert gate_json()["reason"].startswith("coverage data could not be read")


def test_in_process_unreadable_xml_fails_closed(pytester, project, gate_json):
    project("all", fail_under=10)
    pytester.makeconftest(
        "import pytest\n"
        "@pytest.hookimpl(wrapper=True)\n"
        "def pytest_runtestloop(session):\n"
        "    result = yield\n"
        "    with open('out/cov.xml', 'w') as handle:\n"
        "        handle.write('<truncated')\n"
        "    return result\n"
    )
    result = pytester.runpytest_inprocess("--cov=mod", "--cov-report=xml:out/cov.xml")
    assert result.ret == 1
    assert gate_json()["reason"].startswith("coverage data could not be read")
    result.stdout.no_fnmatch_line("run with --cov*")


def test_in_process_a_stale_xml_is_never_read(pytester, project, gate_json):
    """pytest-cov could not write its XML this run: last run's file must not decide."""
    project("all", fail_under=10)
    stale = pytester.path / "out" / "cov.xml"
    stale.parent.mkdir()
    stale.write_text('<coverage lines-valid="1" lines-covered="1"></coverage>')
    os.utime(stale, (1_000_000, 1_000_000))
    with warnings.catch_warnings():  # pytest-cov warns "no data"; this suite turns warnings into errors
        warnings.simplefilter("ignore")
        result = pytester.runpytest_inprocess("--cov=no_such_module", "--cov-report=xml:out/cov.xml")
    assert result.ret == 1
    assert gate_json()["reason"].startswith("coverage data could not be read")


def test_under_xdist_only_the_controller_decides(pytester, project, gate_json):
    project("half", fail_under=90)
    pytester.makepyfile(test_more="def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    result = run_as_user(pytester, "-n", "2")
    assert result.ret == 1
    assert result.stdout.str().count("Quality gate FAILED: coverage 83.33%") == 1
    data = gate_json()
    assert data["tests"]["passed"] == 3
    assert data["verdict"] == "failed"
    assert (pytester.path / "reports" / "junit.xml").exists()
