"""The push job's load of the build job's archive (``build.load``), pinned with a stand-in docker.

The archive's sha256 is checked before docker reads a byte, and what docker
loads must be exactly the declared image: another image, or the declared one
beside others, is refused. (tests/e2e/test_image_handoff.py does the same with
a real engine.)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

import pytest

from pipeline import build
from pipeline.errors import CheckFailed

IMAGE = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
LOWER = "sha256:" + "0" * 64  # sorts below the declared image


def image_archive(path, manifest, index=None):
    """An archive as ``docker save <image id>`` writes it: manifest.json (and an OCI index.json)."""
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), ("index.json", index)):
            if data is not None:
                raw = json.dumps(data).encode()
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def saved(image=IMAGE, tags=None):
    return [{"Config": f"blobs/sha256/{image.removeprefix('sha256:')}", "RepoTags": tags, "Layers": []}]


@pytest.fixture
def archive(tmp_path):
    return image_archive(tmp_path / "image.tar", saved())


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
    assert str(refused.value) == f"refused: the image archive holds {named}, not exactly the declared image {IMAGE}"


def test_an_archive_naming_a_tag_is_refused_before_docker_loads_it(tmp_path, monkeypatch):
    # docker load would create ghcr.io/o/r:latest the moment it read the archive.
    path, digest = image_archive(tmp_path / "image.tar", saved(tags=["ghcr.io/o/r:latest"]))
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    with pytest.raises(CheckFailed, match=r"it names tags for docker to create \(\['ghcr.io/o/r:latest'\]\)"):
        build.load(path, digest, IMAGE)
    assert not (tmp_path / "docker.log").exists()


@pytest.mark.parametrize(
    ("manifest", "index", "why"),
    [
        (saved() + saved(OTHER), None, "it holds 2 images, not exactly one"),
        ([], None, "it holds 0 images, not exactly one"),
        (saved(OTHER), None, f"its image is {OTHER}, not the declared {IMAGE}"),
        (saved(LOWER), None, f"its image is {LOWER}, not the declared {IMAGE}"),
        (None, None, "it has no manifest.json"),
        ({"Config": "x"}, None, "it holds no list of images, not exactly one"),
        (
            saved(),
            {"manifests": [{"annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
            "its index.json names images",
        ),
        (saved(), {"manifests": [{}, {}]}, "holds more than one"),
    ],
)
def test_an_archive_that_is_not_exactly_the_untagged_declared_image_is_refused_unread_by_docker(
    tmp_path, monkeypatch, manifest, index, why
):
    path, digest = image_archive(tmp_path / "image.tar", manifest, index)
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    with pytest.raises(CheckFailed) as refused:
        build.load(path, digest, IMAGE)
    assert why in str(refused.value)
    assert not (tmp_path / "docker.log").exists()


def test_a_file_that_is_no_archive_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "image.tar"
    path.write_bytes(b"not a tar")
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    with pytest.raises(CheckFailed, match="it is not a readable image archive"):
        build.load(path, hashlib.sha256(b"not a tar").hexdigest(), IMAGE)


def test_a_tag_docker_reports_loading_is_refused(tmp_path, monkeypatch, archive):
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    script = tmp_path / "bin" / "docker"
    script.write_text(script.read_text() + "echo 'Loaded image: ghcr.io/o/r:latest'\n")
    with pytest.raises(CheckFailed, match="not exactly the declared image"):
        build.load(archive[0], archive[1], IMAGE)


def test_a_docker_25_archive_with_one_unnamed_index_entry_loads(tmp_path, monkeypatch):
    # What `docker save <image id>` writes from Docker 25 on (GitHub's runners): an OCI index.json
    # beside manifest.json, one manifest, no name.
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json"}]}
    path, digest = image_archive(tmp_path / "image.tar", saved(), index)
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    assert build.load(path, digest, IMAGE) == IMAGE


@pytest.mark.parametrize(("manifest", "index"), [("[" * 200_000, None), (None, "[" * 200_000), (None, "not json")])
def test_unreadable_or_deeply_nested_json_in_the_archive_is_one_line(tmp_path, monkeypatch, manifest, index):
    path = tmp_path / "image.tar"
    with tarfile.open(path, "w") as tar:
        for name, text in (("manifest.json", manifest or json.dumps(saved())), ("index.json", index)):
            if text is not None:
                info = tarfile.TarInfo(name)
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text.encode()))
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    with pytest.raises(CheckFailed, match="its manifest cannot be read"):
        build.load(path, hashlib.sha256(path.read_bytes()).hexdigest(), IMAGE)
    assert not (tmp_path / "docker.log").exists()


@pytest.mark.parametrize("ref", ["app", "ghcr.io/o/r", "ghcr.io:5000/o/r", "ghcr.io/o/r:", ":tag", "ghcr.io/o/r:-x"])
def test_tag_takes_only_name_colon_tag_and_tags_nothing_when_one_is_bad(tmp_path, monkeypatch, ref):
    from pipeline.errors import InputError  # noqa: PLC0415

    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    with pytest.raises(InputError, match="not a name:tag image reference"):
        build.tag(IMAGE, ["ghcr.io/o/r:main", ref])
    assert not (tmp_path / "docker.log").exists()


def test_tag_names_the_image_with_each_reference(tmp_path, monkeypatch):
    stand_in_docker(tmp_path, monkeypatch, IMAGE)
    build.tag(IMAGE, ["127.0.0.1:5000/o/r:main", "127.0.0.1:5000/o/r:sha-" + "c" * 40])
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert calls == [f"tag {IMAGE} 127.0.0.1:5000/o/r:main", f"tag {IMAGE} 127.0.0.1:5000/o/r:sha-" + "c" * 40]
