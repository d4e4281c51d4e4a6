"""The image handed from the read-only build job to the trusted push job, with a real engine.

The build job runs a pull request's Dockerfile with no write token and saves
the image; the push job loads it only if the archive is the one declared,
names it with its own tags, and pushes.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from pipeline import docker as dk
from pipeline import registry
from pipeline.cli import main
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_LOCAL = Settings.from_env(dict(os.environ))
REGISTRY, BASE = _LOCAL.local_registry, _LOCAL.local_base_image
_MISSING = dk.available()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(_MISSING), reason=f"no Docker engine: {_MISSING} (scripts/local-platform.sh up)"),
]
SHA = "d" * 40


def sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600).stdout


def plan(path, name, push):
    refs = [f"{name}:pr-7", f"{name}:sha-{SHA}"]
    path.write_text(json.dumps({"name": name, "references": refs, "sha": SHA, "push": push, "reason": "test"}))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny image the "build job" made and saved, untagged in the archive."""
    try:
        sh("docker", "image", "inspect", BASE)
        requests.get(f"http://{REGISTRY}/v2/", timeout=5).raise_for_status()
    except (subprocess.CalledProcessError, requests.RequestException):
        pytest.skip(f"base image {BASE} or registry {REGISTRY} missing: run scripts/local-platform.sh up")
    work = tmp_path_factory.mktemp("handoff")
    name = f"{REGISTRY}/e2e/handoff-{uuid.uuid4().hex[:8]}"
    context = work / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BASE}\nLABEL handoff={name}\n")
    sh("docker", "build", "-q", "-t", f"{name}-build:local", str(context))
    build_plan = work / "build-plan.json"
    build_plan.write_text(
        json.dumps({"name": f"{name}-build", "references": [f"{name}-build:local"], "sha": SHA, "push": False})
    )
    outputs = work / "outputs"
    outputs.touch()
    os.environ["GITHUB_OUTPUT"] = str(outputs)
    try:
        assert main(["image-save", "--plan", str(build_plan), "--output", str(work / "image.tar")]) == 0
    finally:
        del os.environ["GITHUB_OUTPUT"]
    declared = dict(line.split("=", 1) for line in outputs.read_text().split())
    sh("docker", "rmi", f"{name}-build:local")
    yield name, work / "image.tar", declared
    listed = sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    mine = [n for n in listed if n.startswith(name)]
    if mine:
        sh("docker", "rmi", *mine)


def load(plan_file, archive, sha256, image_id):
    argv = ["image-load", "--plan", str(plan_file), "--archive", str(archive), "--archive-sha256", sha256]
    return main([*argv, "--image-id", image_id])


def test_the_push_job_pushes_the_declared_archive_under_its_own_tags(built, tmp_path, capsys):
    name, archive, declared = built
    image_json = tmp_path / "image.json"
    plan_file = plan(tmp_path / "plan.json", name, push=True)
    assert load(plan_file, archive, declared["archive-sha256"], declared["image-id"]) == 0
    assert main(["image-push", "--plan", str(plan_file), "--output", str(image_json)]) == 0
    facts = json.loads(image_json.read_text())
    assert facts["digest"] == registry.resolve(registry.parse_reference(f"{name}:sha-{SHA}")).digest
    assert registry.resolve(registry.parse_reference(f"{name}:pr-7")).digest == facts["digest"]
    # The tags are the push job's: the build job's own name was never pushed.
    assert requests.get(f"http://{REGISTRY}/v2/{name.split('/', 1)[1]}-build/tags/list", timeout=5).status_code == 404
    assert f"sha256 {declared['archive-sha256']}" in capsys.readouterr().out


def test_an_archive_swapped_between_the_jobs_is_refused_and_nothing_is_pushed(built, tmp_path, capsys):
    name, archive, declared = built
    swapped = tmp_path / "image.tar"
    swapped.write_bytes(archive.read_bytes() + b"\0" * 512)
    plan_file = plan(tmp_path / "plan.json", f"{name}-swapped", push=True)
    assert load(plan_file, swapped, declared["archive-sha256"], declared["image-id"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"not {declared['archive-sha256']} as the build job declared" in err
    assert requests.get(f"http://{REGISTRY}/v2/{name.split('/', 1)[1]}-swapped/tags/list", timeout=5).status_code == 404


def test_an_archive_of_another_image_is_refused(built, tmp_path, capsys):
    name, archive, declared = built
    other = "sha256:" + "0" * 64
    plan_file = plan(tmp_path / "plan.json", f"{name}-other", push=False)
    assert load(plan_file, archive, declared["archive-sha256"], other) == 1
    assert f"its image is {declared['image-id']}, not the declared {other}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--archive-sha256", "A" * 64, "--image-id", "sha256:" + "0" * 64], "64 lowercase hex digits"),
        (["--archive-sha256", "a" * 64, "--image-id", "0" * 64], "the image ID must be sha256:"),
    ],
)
def test_malformed_declarations_are_usage_errors(built, tmp_path, capsys, flags, message):
    name, archive, _ = built
    argv = ["image-load", "--plan", str(plan(tmp_path / "plan.json", name, push=False)), "--archive", str(archive)]
    assert main([*argv, *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_load_without_its_declaration_is_a_usage_error(tmp_path, capsys):
    argv = ["image-load", "--plan", str(plan(tmp_path / "plan.json", "reg.example/o/r", push=False))]
    assert main([*argv, "--archive", "x.tar", "--archive-sha256", "a" * 64]) == 2
    assert "the following arguments are required: --image-id" in capsys.readouterr().err


def test_a_missing_archive_is_named(built, tmp_path, capsys):
    name, _, declared = built
    plan_file = plan(tmp_path / "plan.json", name, push=False)
    assert load(plan_file, tmp_path / "absent.tar", declared["archive-sha256"], declared["image-id"]) == 2
    assert "cannot read the image archive" in capsys.readouterr().err
