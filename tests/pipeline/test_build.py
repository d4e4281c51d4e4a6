import os
import subprocess

import pytest

from pipeline import build
from pipeline.errors import CheckFailed, InputError


def test_created_is_source_date_epoch_when_set(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build.commit_time("HEAD") == "2023-11-14T22:13:20Z"


def test_created_is_the_commit_time_not_the_build_time(tmp_path, monkeypatch):
    # Two builds of one commit get the same label, so the second reuses every layer.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z", "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    sha = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert build.commit_time(sha) == "2026-11-01T12:00:00Z"
    assert build.commit_time(sha) == build.commit_time(sha)


@pytest.mark.parametrize("epoch", ["", "soon", "-1"])
def test_created_is_empty_outside_a_checkout_or_for_a_bad_epoch(tmp_path, monkeypatch, epoch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    if epoch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    else:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert build.commit_time("c" * 40) == ""


def fake_tool(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_build_refuses_bad_references():
    with pytest.raises(InputError, match="no image references"):
        build.build([])
    with pytest.raises(InputError, match="not a valid image reference"):
        build.build(["ghcr.io/o/r:-bad"])
    assert build._json_list("not json") == []
    assert build._json_list('{"a": 1}') == []


def test_sbom_needs_syft(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailed, match="syft is not installed"):
        build.sbom("docker:x:y", tmp_path / "sbom.json")


def test_sbom_failure_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "syft"
    fake.write_text("#!/bin/sh\necho 'could not fetch image' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CheckFailed, match=r"syft failed \(exit 3\): could not fetch image"):
        build.sbom("docker:x:y", tmp_path / "sbom.json", insecure_registry=True)
    fake.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho "{}" > "${last#cyclonedx-json=}"\n')
    with pytest.raises(CheckFailed, match="syft wrote no usable SBOM"):
        build.sbom("docker:x:y", tmp_path / "sbom.json")


def test_build_and_push_with_a_stand_in_docker(tmp_path, monkeypatch):
    log = tmp_path / "docker.log"
    fake_tool(
        tmp_path,
        "docker",
        f'echo "$@" >> {log}\ncase "$1" in image) echo \'["elsewhere/app@sha256:' + "a" * 64 + "\"]' ;; esac\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    build.build(["reg/app:v1"], "ctx", revision="abc")
    assert "--network" not in log.read_text()
    assert "--build-arg VCS_REF=abc" in log.read_text()
    with pytest.raises(CheckFailed, match="the registry reported no digest for reg/app"):
        build.push(["reg/app:v1"])
