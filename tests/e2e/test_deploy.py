"""The image, the registry and the deployment, with a real Docker engine."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from pipeline import docker as dk
from pipeline import registry
from pipeline.cli import main

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("LOCAL_REGISTRY", "127.0.0.1:5000")
BASE = os.environ.get("LOCAL_BASE_IMAGE", "local/debian-python:bookworm")
_MISSING = dk.available()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(_MISSING), reason=f"no Docker engine: {_MISSING}"),
]


def sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600).stdout


@pytest.fixture(scope="module")
def pushed():
    """The working tree's image, pushed to the local registry and removed locally."""
    try:
        sh("docker", "image", "inspect", BASE)
        sh("curl", "-fsS", f"http://{REGISTRY}/v2/")
    except subprocess.CalledProcessError:
        pytest.skip(f"base image {BASE} or registry {REGISTRY} missing: run scripts/local-platform.sh up")
    name = f"{REGISTRY}/e2e/sample-app-{uuid.uuid4().hex[:8]}"
    sh("docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}", "-t", f"{name}:v1", str(ROOT))
    sh("docker", "push", "-q", f"{name}:v1")
    digest = registry.resolve(registry.parse_reference(f"{name}:v1")).digest
    sh("docker", "rmi", f"{name}:v1")
    return name, digest


def test_deploy_by_digest_reports_and_comments(pushed, fake_github, tmp_path, capsys):
    name, digest = pushed
    out = tmp_path / "cd.json"
    status = main(
        [
            "deploy",
            "--image",
            f"{name}:v1",
            "--no-verify",
            "--output",
            str(out),
            "--pr",
            "5",
            "--environment",
            "preview",
        ]
    )
    assert status == 0, capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["ok"] is True
    assert data["digest"] == digest
    assert data["verification"].startswith("skipped: switched off explicitly")
    runs = {s["name"]: s for s in data["steps"]}
    assert runs["run 2 3"]["exit_code"] == 0
    assert runs["run 2 abc"]["exit_code"] == 2
    assert "--network none --read-only --cap-drop ALL --security-opt no-new-privileges" in runs["run 2 3"]["command"]
    assert f"@{digest}" in runs["run 2 3"]["command"]
    (comment,) = fake_github.comments[5]
    assert comment["body"].startswith("<!-- sample-app-pipeline:cd-report -->")
    assert "Deployment to `preview` succeeded" in comment["body"]
    assert out.with_suffix(".md").read_text() == comment["body"]


def test_the_resolved_digest_is_what_runs_after_the_tag_moves(pushed):
    name, digest = pushed
    resolved = registry.resolve(registry.parse_reference(f"{name}:v1"))
    # Move the tag to another image (the bare base) after resolving.
    sh("docker", "tag", BASE, f"{name}:v1")
    sh("docker", "push", "-q", f"{name}:v1")
    assert registry.resolve(registry.parse_reference(f"{name}:v1")).digest != digest
    sh("docker", "pull", "-q", resolved.pinned)
    run = dk.run_hardened(resolved.pinned, ["2", "3"], timeout=60)
    assert (run.exit_code, run.stdout) == (0, "5\n")


def test_container_is_not_root_and_read_only(pushed):
    name, digest = pushed
    sh("docker", "pull", "-q", f"{name}@{digest}")
    user = sh("docker", "run", "--rm", "--network", "none", "--entrypoint", "id", f"{name}@{digest}", "-u")
    assert user.strip() != "0"
    write = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--entrypoint",
            "touch",
            f"{name}@{digest}",
            "/x",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr


def test_failures_are_reported_with_exit_1(pushed, tmp_path, capsys):
    name, _ = pushed
    out = tmp_path / "cd.json"
    assert main(["deploy", "--image", f"{name}:missing", "--no-verify", "--output", str(out)]) == 1
    assert "does not exist" in json.loads(out.read_text())["steps"][-1]["detail"]
    assert main(["deploy", "--image", "not a ref", "--no-verify", "--output", str(out)]) == 1
    assert main(["deploy", "--image", "127.0.0.1:9/x:y", "--no-verify", "--output", str(out)]) == 1
    assert "cannot reach the registry" in capsys.readouterr().err
