"""Files passed between jobs: the reader refuses what its writer would never write.

A job's file can come from another job's code (a PR's, since the image is
built with a read-only token and handed on), so each field is validated when
read: a string where JSON's true belongs, a boolean where a number belongs,
an id or a page the writer refuses.
"""

import json

import pytest

from pipeline import inputs, jobfiles
from pipeline.errors import InputError

SHA = "c" * 40
DIGEST = "sha256:" + "d" * 64


def write(tmp_path, data, name="file.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("push", ["true", "false", 1, "yes", None])
def test_a_plan_pushes_only_when_it_says_json_true(tmp_path, push):
    plan = {"name": "ghcr.io/o/r", "references": ["ghcr.io/o/r:main"], "sha": SHA, "push": push}
    assert jobfiles.read_plan(write(tmp_path, plan)).push is False


def test_a_plan_that_says_true_pushes(tmp_path):
    plan = {"name": "ghcr.io/o/r", "references": ["ghcr.io/o/r:main"], "sha": SHA, "push": True}
    assert jobfiles.read_plan(write(tmp_path, plan)).push is True


@pytest.mark.parametrize("pushed", ["true", 1, "yes"])
def test_image_facts_are_pushed_only_when_they_say_json_true(tmp_path, pushed):
    facts = {"name": "ghcr.io/o/r", "tags": ["main"], "digest": "", "pushed": pushed}
    assert jobfiles.read_image(write(tmp_path, facts)).pushed is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"verdict": True, "precision": 2}, "has no verdict"),
        ({"verdict": 1, "precision": 2}, "has no verdict"),
        ({"verdict": "", "precision": 2}, "has no verdict"),
        ({"verdict": "passed", "threshold": True}, "threshold is not a number"),
        ({"verdict": "passed", "threshold": "90"}, "threshold is not a number"),
        ({"verdict": "passed", "duration_seconds": False}, "duration_seconds is not a number"),
        ({"verdict": "passed", "precision": True}, "precision is not a small whole number"),
        ({"verdict": "passed", "precision": 11}, "precision is not a small whole number"),
        ({"verdict": "passed", "precision": -1}, "precision is not a small whole number"),
        ({"verdict": "passed", "tests": {"passed": True}}, "tests is not a table of counts"),
    ],
)
def test_a_gate_file_is_refused_field_by_field(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        jobfiles.read_gate(write(tmp_path, data, "gate-3.12.json"))


@pytest.mark.parametrize(
    "record",
    [
        {"id": "12; rm -rf /"},
        {"id": "sha256:"},
        {"id": "sha256:abc"},
        {"id": f"{DIGEST}x"},
        {"id": ""},
        {"id": "١٢"},
        {"id": "1", "url": "javascript:alert(1)"},
        {"id": "1", "url": "http://example.com/a"},
    ],
)
def test_an_attestation_record_is_read_as_strictly_as_it_is_written(tmp_path, record):
    path = write(tmp_path, record, "attestation.json")
    with pytest.raises(InputError, match="not an attestation id|must be https"):
        jobfiles.read_attestation(path)
    with pytest.raises(InputError, match="not an attestation id|must be https"):
        jobfiles.write_attestation(
            tmp_path / "again.json", jobfiles.AttestationRecord(record["id"], record.get("url", ""))
        )
    assert isinstance(inputs.load_attestation(path), inputs.Missing)


@pytest.mark.parametrize("record", [{"id": "123", "url": "https://github.com/o/r/attestations/123"}, {"id": DIGEST}])
def test_a_good_attestation_record_reads_back(tmp_path, record):
    assert jobfiles.read_attestation(write(tmp_path, record, "attestation.json")).id == record["id"]
