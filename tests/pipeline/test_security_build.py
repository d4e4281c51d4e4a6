"""The push job's load of the build job's archive (``build.load``), pinned with a stand-in docker.

The archive's sha256 is checked before docker reads a byte, and what docker
loads must be exactly the declared image: another image, or the declared one
beside others, is refused. (tests/e2e/test_image_handoff.py does the same with
a real engine.)
"""

from __future__ import annotations

import hashlib
import os

import pytest

from pipeline import build
from pipeline.errors import CheckFailed

IMAGE = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "image.tar"
    path.write_bytes(b"an image archive")
    return path, hashlib.sha256(b"an image archive").hexdigest()


def stand_in_docker(tmp_path, monkeypatch, *loaded: str) -> None:
    """A docker whose ``load`` prints these image IDs and records that it ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lines = "".join(f"echo 'Loaded image ID: {i}'\n" for i in loaded)
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "docker.log"}\n{lines}')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_the_declared_archive_loads_its_declared_image(tmp_path, monkeypatch, archive):
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    assert build.load(archive[0], archive[1], IMAGE) == IMAGE


def test_an_archive_with_another_digest_is_refused_before_docker_reads_it(tmp_path, monkeypatch, archive):
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    declared = hashlib.sha256(b"what the build job saved").hexdigest()
    with pytest.raises(CheckFailed) as refused:
        build.load(archive[0], declared, IMAGE)
    assert str(refused.value) == (
        f"refused: the image archive image.tar has sha256 {archive[1]}, not {declared} as the build job declared"
    )
    assert not (tmp_path / "docker.log").exists()


@pytest.mark.parametrize(
    ("loaded", "named"),
    [
        ((OTHER,), OTHER),
        ((IMAGE, OTHER), f"{IMAGE}, {OTHER}"),  # the declared image smuggled in beside another
        ((OTHER, IMAGE), f"{OTHER}, {IMAGE}"),
        ((), "nothing"),
    ],
)
def test_an_archive_that_holds_anything_but_exactly_the_declared_image_is_refused(
    tmp_path, monkeypatch, archive, loaded, named
):
    stand_in_docker(tmp_path, monkeypatch, *loaded)
    with pytest.raises(CheckFailed) as refused:
        build.load(archive[0], archive[1], IMAGE)
    assert str(refused.value) == f"refused: the image archive holds {named}, not the declared image {IMAGE}"
