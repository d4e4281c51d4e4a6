"""Pure rendering and threshold rules of the gate, in-process."""

import pytest

from quality_gate import outputs, threshold
from quality_gate.changed import changed_files


def verdict(status="failed", total=80.0, files=(), value=90.0):
    return outputs.Verdict(
        threshold=threshold.Threshold(value, 2, "test"),
        status=status,
        reason="",
        total=total,
        files=list(files),
        python="3.12.1",
    )


def test_line_ranges_collapse_runs():
    assert outputs.line_ranges([5, 1, 2, 3, 9, 10, 2]) == [(1, 3), (5, 5), (9, 10)]
    assert outputs.line_ranges([]) == []


def test_escaping_of_messages_and_properties():
    assert outputs.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert outputs.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert outputs.command("warning", "x", file="a,b:c.py", line=3) == ("::warning file=a%2Cb%3Ac.py,line=3::x")
    assert outputs.command("notice", "m") == "::notice::m"


def test_annotations_put_the_verdict_first_and_cap_the_rest():
    files = [
        outputs.FileCoverage("a.py", 10, 5, 50.0, (1, 2, 3, 7, 9)),
        outputs.FileCoverage("b.py", 10, 1, 90.0, (4,)),
    ]
    lines = outputs.workflow_annotations(verdict(files=files), {"a.py", "b.py"}, limit=2)
    assert lines[0].startswith("::error title=Quality gate::")
    assert lines[1] == ("::warning file=a.py,line=1,endLine=3,title=Uncovered code::lines 1-3 not covered by tests")
    assert len(lines) == 3
    assert outputs.workflow_annotations(verdict(files=files), None, limit=5) == lines[:1]
    assert outputs.workflow_annotations(verdict(files=files), set(), limit=5) == lines[:1]


def test_headline_for_each_status():
    assert outputs.headline(verdict("passed", 95.0)) == ("Quality gate passed: coverage 95.00% >= 90.00%")
    missing = outputs.Verdict(threshold.Threshold(90, 2, "t"), "not-measured", "no data")
    assert outputs.headline(missing) == "Quality gate FAILED: no data (threshold 90.00%)"
    assert not missing.ok


def test_summary_lists_files_below_threshold_escaped():
    files = [
        outputs.FileCoverage("ok.py", 10, 0, 100.0, ()),
        outputs.FileCoverage("we|ird_<b>.py", 4, 3, 25.0, (1, 2, 3)),
    ]
    text = outputs.summary_markdown(verdict(files=files))
    assert "| `we\\|ird\\_\\<b\\>.py` | 4 | 3 | 25.00% |" in text
    assert "ok.py" not in text
    assert text.startswith("### :x: Quality gate FAILED")
    assert "|" not in outputs.summary_markdown(verdict("passed", 100.0))


def test_to_json_shapes_missing_total():
    data = outputs.to_json(outputs.Verdict(threshold.Threshold(90, 2, "t"), "not-measured", "r"))
    assert data["total"] is None
    assert data["total_display"] is None
    assert data["files"] == []


@pytest.mark.parametrize(
    ("total", "fail_under", "precision", "ok"),
    [
        (89.994, 90, 2, False),
        (89.995, 90, 2, True),
        (99.99, 100, 2, False),
        (100, 100, 2, True),
        (89.5, 90, 0, True),
        (89.4, 90, 0, False),
    ],
)
def test_passes_is_coverage_rule(total, fail_under, precision, ok):
    assert threshold.passes(total, threshold.Threshold(fail_under, precision, "t")) is ok


def test_resolve_order_and_sources():
    assert threshold.resolve("70", {threshold.ENV_VAR: "80"}, 90, 2, "pyproject.toml").source == (
        "command line (--gate-fail-under)"
    )
    env = threshold.resolve(None, {threshold.ENV_VAR: " 80 "}, 90, 1, None)
    assert (env.value, env.precision) == (80.0, 1)
    conf = threshold.resolve(None, {threshold.ENV_VAR: "  "}, 90, 2, None)
    assert conf.source == "coverage config (coverage defaults: fail_under)"


@pytest.mark.parametrize("text", ["x", "", "100.5", "-0.1", "nan", "inf"])
def test_parse_refuses(text):
    with pytest.raises(threshold.ThresholdError, match="origin"):
        threshold.parse(text, "origin")


def test_changed_files_unknown_without_base_or_git(tmp_path):
    assert changed_files("", tmp_path) is None
    assert changed_files("main", tmp_path) is None  # not a repository


def test_changed_files_when_git_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert changed_files("main", tmp_path) is None


def test_coverage_xml_reader(tmp_path):
    from quality_gate import coverage_xml  # noqa: PLC0415

    path = tmp_path / "c.xml"
    path.write_text(
        '<coverage lines-valid="4" lines-covered="3" branches-valid="2" branches-covered="1">'
        f"<sources><source>{tmp_path}/src</source></sources>"
        '<packages><package><classes><class filename="pkg/a.py">'
        '<lines><line number="1" hits="1"/><line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/>'
        '<line number="3" hits="0"/><line number="4" hits="1"/></lines></class>'
        '<class filename="pkg/empty.py"><lines/></class></classes></package></packages></coverage>'
    )
    total, files = coverage_xml.read(path, tmp_path)
    assert total == pytest.approx(100 * 4 / 6)
    assert [f.path for f in files] == ["src/pkg/a.py", "src/pkg/empty.py"]
    assert files[0].missing_lines == (3,)
    assert files[0].percent == pytest.approx(100 * 4 / 6)
    assert files[1].percent == 100.0
    path.write_text("<coverage/>")
    with pytest.raises(coverage_xml.UnreadableReportError):
        coverage_xml.read(path, tmp_path)


def test_changed_files_in_a_real_repository(tmp_path):
    import subprocess  # noqa: PLC0415

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args], cwd=tmp_path, check=True, capture_output=True
        )

    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    (tmp_path / "b.py").write_text("b = 2\n")
    git("commit", "-qam", "change")
    assert changed_files("main", tmp_path) == {"b.py"}
    assert changed_files("--output=/tmp/x", tmp_path) is None


@pytest.mark.parametrize(
    ("total", "ok"),
    [(100.0, True), (99.999, False), (99.9999999, False)],
)
def test_a_threshold_of_exactly_100_needs_every_line(total, ok):
    assert threshold.parse("100", "test") == 100
    limit = threshold.Threshold(100.0, 2, "test")
    assert threshold.passes(total, limit) is ok


@pytest.mark.parametrize("text", ["100.0001", "-0.0001", "101", "nan", "inf"])
def test_a_threshold_outside_0_to_100_is_refused(text):
    with pytest.raises(threshold.ThresholdError):
        threshold.parse(text, "test")


def test_a_threshold_cannot_be_changed_once_chosen():
    import dataclasses  # noqa: PLC0415

    with pytest.raises(dataclasses.FrozenInstanceError):
        threshold.Threshold(90.0, 2, "test").value = 0.0
