"""The distribution files of a release: built once, reproducibly, checked, described.

Operations the release commands and the local release dry run share.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import release
from pipeline.errors import CheckFailed, InputError

if TYPE_CHECKING:
    from pipeline.trust import Trust
    from pipeline.verify import Expectations

BUNDLE_SUFFIXES = (".sigstore.json", ".jsonl", ".sigstore")


def release_notes(target: release.Release, changelog: str, image: str, repository: str) -> str:
    """The GitHub Release's notes: the CHANGELOG section, the image by digest, how to verify."""
    lines = [release.changelog_section(changelog, target.version), ""]
    if image:
        lines += ["## Image", "", f"`{image}`", ""]
    lines += [
        "## Verify before use",
        "",
        "```sh",
        f"gh attestation verify <file> --repo {repository} "
        f"--signer-workflow {repository}/.github/workflows/release.yml",
        f"hatch run ci verify-release {target.tag} --dir <downloaded assets>",
    ]
    if image:
        lines.append(
            f"gh attestation verify oci://{image} --repo {repository} "
            f"--signer-workflow {repository}/.github/workflows/ci.yml"
        )
    lines += ["```", ""]
    return "\n".join(lines)


def check_metadata(path: Path) -> str:
    """Core metadata as PyPI validates it (packaging's parser), or why not."""
    import tarfile  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    from packaging.metadata import ExceptionGroup, Metadata  # noqa: PLC0415

    try:
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
                raw = wheel.read(name)
        else:
            with tarfile.open(path) as sdist:
                member = next(m for m in sdist.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
                handle = sdist.extractfile(member)
                raw = handle.read() if handle else b""
        meta = Metadata.from_email(raw, validate=True)
    except (OSError, StopIteration, zipfile.BadZipFile, tarfile.TarError) as error:
        return f"{path.name}: no readable metadata ({type(error).__name__})"
    except ExceptionGroup as error:
        return f"{path.name}: invalid metadata ({'; '.join(str(e) for e in error.exceptions)[:200]})"
    if not meta.description or meta.description_content_type != "text/markdown":
        return f"{path.name}: the long description is missing or not Markdown"
    return ""


def build_distributions(out: Path, epoch: str) -> list[Path]:
    """The wheel and the sdist, reproducibly (``SOURCE_DATE_EPOCH``), by the locked backend.

    hatchling runs from the environment this runs in (the helpers
    environment's hashed lock), never from a build environment resolved at
    build time: ``hatch build`` would install an unhashed hatchling and its
    unpinned dependencies, and the release attests what they produce.
    """
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("sample_app-*"):
        old.unlink()
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-t", "sdist", "-d", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        from pipeline.errors import last_line, one_line  # noqa: PLC0415

        why = one_line(last_line(result.stderr, "no message"), 300)
        raise CheckFailed(f"hatchling build failed (exit {result.returncode}): {why}")
    return sorted(out.glob("sample_app-*"))


def commit_epoch(revision: str = "HEAD") -> str:
    """``SOURCE_DATE_EPOCH`` for a reproducible build: the commit's time."""
    import datetime as dt  # noqa: PLC0415

    from pipeline import build  # noqa: PLC0415

    created = build.commit_time(revision)
    if not created:
        raise CheckFailed("the commit's time is unknown (no git checkout, no SOURCE_DATE_EPOCH)")
    moment = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return str(int(moment.timestamp()))


def build_release(out: Path, epoch: str, sums_file: Path | None = None) -> str:
    """Wheel and sdist, metadata checked, ``SHA256SUMS`` written; returns its text.

    ``sums_file`` lies outside ``out`` in the release: ``out`` then holds the
    distributions only, which is what PyPI's publishing action accepts.
    """
    import hashlib  # noqa: PLC0415

    files = build_distributions(out, epoch)
    problems = [p for p in map(check_metadata, files) if p]
    if len(files) != 2 or problems:
        raise CheckFailed("; ".join(problems) or f"expected a wheel and an sdist, got {[f.name for f in files]}")
    sums = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in files)
    target = sums_file or out / "SHA256SUMS"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(sums, encoding="utf-8")
    return sums


def sbom(folder: Path, output: Path) -> int:
    """A CycloneDX SBOM of the wheel: what installing it puts in an environment.

    syft reads installed distributions (``*.dist-info``), not wheel files, so
    the wheel is unpacked first, as an installer would.
    """
    import tempfile  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    from pipeline import build  # noqa: PLC0415
    from pipeline.errors import InputError  # noqa: PLC0415

    wheels = sorted(folder.glob("sample_app-*.whl"))
    if len(wheels) != 1:
        raise InputError(f"{folder} must hold exactly one sample_app wheel, not {len(wheels)}")
    with tempfile.TemporaryDirectory(prefix="sbom-") as scratch:
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(scratch)  # noqa: S202 - our own build's wheel
        return build.sbom(f"dir:{scratch}", output)


def verify_assets(folder: Path, tag: str, expected: Expectations, trust: Trust) -> list[tuple[str, str]]:
    """``(name, sha256)`` of every release file, each covered by a bundle in ``folder``.

    Raises ``CheckFailed`` naming every file no bundle signed by the expected
    workflow covers (nothing is half-verified).
    """
    from pipeline import verify  # noqa: PLC0415

    try:
        entries = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError as error:
        raise InputError(f"cannot read {folder}: {error.strerror}") from None
    bundle_files = [p for p in entries if p.name.endswith(BUNDLE_SUFFIXES)]
    subjects = [p for p in entries if p not in bundle_files and p.name != "SHA256SUMS"]
    if not subjects:
        raise InputError(f"{folder} holds no release files")
    if not bundle_files:
        raise CheckFailed(f"{folder} holds no attestation bundles (*.sigstore.json or *.jsonl)")
    expected.validate()
    verifier = trust.verifier()
    bundles = [b for p in bundle_files for b in verify.read_bundles(p.read_bytes(), p.name)]
    verified, refused = [], []
    for path in subjects:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            verify.verify_any(bundles, expected, digest, verifier)
        except CheckFailed:
            refused.append(f"{path.name} (sha256:{digest[:12]}…): no bundle signed by {expected.signer_uri} names it")
            continue
        verified.append((path.name, digest))
    if refused:
        raise CheckFailed(f"{tag}: " + "; ".join(refused))
    return verified
