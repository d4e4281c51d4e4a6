"""The docker CLI wrapper: a missing or hanging engine is one clear line."""

import pytest

from pipeline import docker
from pipeline.errors import CheckFailed


def fake_tool(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_docker_missing_or_unanswered(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert docker.available().startswith("the docker CLI is not installed")
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert docker.available().startswith("no Docker engine answers")
    with pytest.raises(CheckFailed, match=r"docker pull failed \(exit 1\): Cannot connect"):
        docker.docker("pull", "x")
    fake.write_text("#!/bin/sh\n/bin/sleep 5\n")
    run = docker.docker("pull", "x", timeout=0.2)
    assert run.timed_out
    assert docker._text(b"\xff") == "\ufffd"


def test_docker_engine_that_hangs(tmp_path, monkeypatch):
    fake_tool(tmp_path, "docker", "/bin/sleep 5\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(docker, "ENGINE_TIMEOUT", 0.2)
    assert docker.available() == "the Docker engine does not answer (timeout)"


def test_a_long_docker_error_is_cut_between_words(tmp_path, monkeypatch):
    complaint = "failed to solve: " + "layer sha256:0123456789abcdef not found " * 12
    fake_tool(tmp_path, "docker", f'echo "{complaint}" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailed) as raised:
        docker.docker("build", ".")
    message = str(raised.value)
    assert message.startswith("docker build failed (exit 1): failed to solve: layer sha256:0123456789abcdef")
    assert message.endswith("not found …")
