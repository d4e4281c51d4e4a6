import json

import pytest

from pipeline import inputs, jobfiles
from pipeline.errors import InputError

SHA = "c" * 40
DIGEST = "sha256:" + "d" * 64


def test_a_plan_reads_back_what_was_written(tmp_path):
    plan = jobfiles.ImagePlan("ghcr.io/o/r", ("ghcr.io/o/r:main", f"ghcr.io/o/r:sha-{SHA}"), SHA, True, "push to main")
    jobfiles.write_plan(tmp_path / "plan.json", plan)
    assert jobfiles.read_plan(tmp_path / "plan.json") == plan


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "n", "references": [], "sha": SHA}, "no image references"),
        ({"name": "n", "references": ["other:main"], "sha": SHA}, "is not n:<tag>"),
        ({"name": "n", "references": ["n:-bad"], "sha": SHA}, "is not n:<tag>"),
        ({"name": "n", "references": ["n:main"], "sha": "main"}, "not a full commit SHA"),
        ([], "not a JSON object"),
    ],
)
def test_a_bad_plan_is_refused_with_its_name(tmp_path, data, message):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        jobfiles.read_plan(path)


def test_image_facts_read_back_and_a_push_needs_its_digest(tmp_path):
    facts = jobfiles.ImageFacts("ghcr.io/o/r", ("main",), DIGEST, True, "push to main")
    jobfiles.write_image(tmp_path / "image.json", facts)
    assert jobfiles.read_image(tmp_path / "image.json") == facts
    with pytest.raises(InputError, match="needs its sha256 digest"):
        jobfiles.write_image(tmp_path / "x.json", jobfiles.ImageFacts("n", (), "", True, ""))
    not_pushed = jobfiles.ImageFacts("n", ("pr-1",), "", False, "fork")
    jobfiles.write_image(tmp_path / "y.json", not_pushed)
    assert jobfiles.read_image(tmp_path / "y.json") == not_pushed


@pytest.mark.parametrize(
    "data",
    [
        {"name": "n", "tags": ["ok"], "digest": "sha256:xyz", "pushed": True},
        {"name": "n", "tags": "main", "pushed": False},
        {"name": "n", "tags": ["bad tag"], "pushed": False},
    ],
)
def test_bad_image_facts_are_refused(tmp_path, data):
    path = tmp_path / "image.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError):
        jobfiles.read_image(path)
    with pytest.raises(InputError, match="cannot read"):
        jobfiles.read_image(tmp_path / "missing.json")


def test_the_gates_own_output_reads_back(tmp_path):
    from quality_gate import outputs  # noqa: PLC0415
    from quality_gate.threshold import Threshold  # noqa: PLC0415

    verdict = outputs.Verdict(Threshold(90.0, 2, "t"), "passed", "", 95.5, duration=1.25, python="3.12")
    (tmp_path / "gate-3.12.json").write_text(json.dumps(outputs.to_json(verdict)))
    gate = jobfiles.read_gate(tmp_path / "gate-3.12.json")
    assert (gate.verdict, gate.threshold, gate.precision, gate.total_display) == ("passed", 90.0, 2, "95.50")
    assert gate.duration == 1.25
    assert gate.tests["passed"] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": 90}, "no verdict"),
        ({"verdict": "passed", "duration_seconds": "soon"}, "duration_seconds is not a number"),
        ({"verdict": "passed", "threshold": "90"}, "threshold is not a number"),
        ({"verdict": "passed", "precision": 99}, "precision"),
        ({"verdict": "passed", "tests": {"passed": "ten"}}, "tests is not a table of counts"),
    ],
)
def test_a_gate_result_that_is_not_what_the_gate_writes_is_refused(tmp_path, data, message):
    path = tmp_path / "gate-3.12.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message):
        jobfiles.read_gate(path)


def test_the_report_shows_a_bad_gate_file_instead_of_crashing(tmp_path):
    from pipeline import inputs, report  # noqa: PLC0415

    (tmp_path / "gate-3.12.json").write_text(json.dumps({"verdict": "passed", "duration_seconds": "soon"}))
    loaded = inputs.load(tmp_path)
    assert loaded.interpreters[0].gate == inputs.Missing("gate-3.12.json: duration_seconds is not a number")
    assert "seconds is not a number |" in report.render(loaded)


def test_the_attestation_record_round_trips_and_refuses_what_is_not_an_id_or_an_https_page(tmp_path):
    path = tmp_path / "attestation.json"
    record = jobfiles.AttestationRecord("123", "https://github.com/o/r/attestations/123")
    jobfiles.write_attestation(path, record)
    assert jobfiles.read_attestation(path) == record
    local = jobfiles.AttestationRecord("sha256:" + "a" * 64)  # a referrer in the local registry
    jobfiles.write_attestation(path, local)
    assert jobfiles.read_attestation(path) == local
    with pytest.raises(InputError, match="not an attestation id"):
        jobfiles.write_attestation(path, jobfiles.AttestationRecord("12; rm -rf /"))
    with pytest.raises(InputError, match="must be https"):
        jobfiles.write_attestation(path, jobfiles.AttestationRecord("1", "javascript:alert(1)"))


def test_a_malformed_attestation_record_is_shown_as_missing_with_its_field(tmp_path):
    (tmp_path / "attestation.json").write_text('{"id": 123}')
    missing = inputs.load_attestation(tmp_path / "attestation.json")
    assert isinstance(missing, inputs.Missing)
    assert "id and url must be strings" in missing.reason
