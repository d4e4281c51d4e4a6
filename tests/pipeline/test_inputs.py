"""The CI report's input files: odd files become a reason, never a crash."""

import json

from pipeline import inputs


def test_inputs_tolerate_odd_files(tmp_path):
    (tmp_path / "gate-3.12.json").write_text("[1]")
    (tmp_path / "junit-3.12.xml").write_text('<testsuite><testcase name="t" time="x"/></testsuite>')
    (tmp_path / "coverage.xml").write_text(
        '<coverage lines-valid="0" lines-covered="0"><class filename="a" line-rate="x"/></coverage>'
    )
    loaded = inputs.load(tmp_path)
    (interp,) = loaded.interpreters
    assert interp.gate == inputs.Missing("gate-3.12.json is not a JSON object")
    assert interp.tests[0].seconds == 0.0
    assert loaded.coverage.percent == 100.0
    assert loaded.coverage.files == [("a", 100.0)]  # no statements: nothing missed, as coverage.py counts


def test_report_edge_cases(tmp_path):
    from pipeline import report  # noqa: PLC0415

    (tmp_path / "gate-3.12.json").write_text(json.dumps({"verdict": "passed", "threshold": 90, "precision": 2}))
    (tmp_path / "trivy.json").write_text(json.dumps({"Results": [{"Vulnerabilities": None}]}))
    loaded = inputs.load(tmp_path)
    assert loaded.interpreters[0].tests == inputs.Missing("junit-3.12.xml was not produced")
    assert not report.overall(loaded)
    assert "**Trivy** (informational): no vulnerabilities found" in report.render(loaded)
