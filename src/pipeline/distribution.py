"""The distribution files of a release: built once, reproducibly, checked, described.

Operations the release commands and the local release dry run share.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import release
from pipeline.errors import CheckFailed, InputError

if TYPE_CHECKING:
    from pipeline import verify
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


def build_distributions(out: Path, epoch: str, prefix: str) -> list[Path]:
    """The wheel and the sdist, reproducibly (``SOURCE_DATE_EPOCH``), by the locked backend.

    hatchling runs from the environment this runs in (the helpers
    environment's hashed lock), never from a build environment resolved at
    build time: ``hatch build`` would install an unhashed hatchling and its
    unpinned dependencies, and the release attests what they produce.
    """
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{prefix}-*"):
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
    return sorted(out.glob(f"{prefix}-*"))


def commit_epoch(revision: str = "HEAD") -> str:
    """``SOURCE_DATE_EPOCH`` for a reproducible build: the commit's time."""
    import datetime as dt  # noqa: PLC0415

    from pipeline import build  # noqa: PLC0415

    created = build.commit_time(revision)
    if not created:
        raise CheckFailed("the commit's time is unknown (no git checkout, no SOURCE_DATE_EPOCH)")
    moment = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return str(int(moment.timestamp()))


def build_release(out: Path, epoch: str, prefix: str, sums_file: Path | None = None) -> str:
    """Wheel and sdist, metadata checked, ``SHA256SUMS`` written; returns its text.

    ``sums_file`` lies outside ``out`` in the release: ``out`` then holds the
    distributions only, which is what PyPI's publishing action accepts.
    """
    import hashlib  # noqa: PLC0415

    files = build_distributions(out, epoch, prefix)
    problems = [p for p in map(check_metadata, files) if p]
    if len(files) != 2 or problems:
        raise CheckFailed("; ".join(problems) or f"expected a wheel and an sdist, got {[f.name for f in files]}")
    sums = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in files)
    target = sums_file or out / "SHA256SUMS"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(sums, encoding="utf-8")
    return sums


def sbom(folder: Path, output: Path, prefix: str) -> int:
    """A CycloneDX SBOM of the wheel: what installing it puts in an environment.

    syft reads installed distributions (``*.dist-info``), not wheel files, so
    the wheel is unpacked first, as an installer would.
    """
    import tempfile  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    from pipeline import build  # noqa: PLC0415
    from pipeline.errors import InputError  # noqa: PLC0415

    wheels = sorted(folder.glob(f"{prefix}-*.whl"))
    if len(wheels) != 1:
        raise InputError(f"{folder} must hold exactly one {prefix} wheel, not {len(wheels)}")
    with tempfile.TemporaryDirectory(prefix="sbom-") as scratch:
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(scratch)  # noqa: S202 - our own build's wheel
        return build.sbom(f"dir:{scratch}", output)


SUMS = "SHA256SUMS"
ASSET_LIMIT = 2 * 1024**3  # GitHub's limit for one release asset: a larger file was never released
SUMS_LIMIT = 1024 * 1024
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
MAX_LISTED = 12


def tag_commit(tag: str, cwd: Path | None = None) -> str:
    """The commit ``tag`` names in the git checkout at ``cwd`` ("" when git, the checkout or the tag is missing)."""
    import shutil  # noqa: PLC0415

    from pipeline import grammar  # noqa: PLC0415

    git = shutil.which("git")
    if not git or not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", tag):
        return ""
    try:
        done = subprocess.run(
            [git, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and grammar.SHA.fullmatch(sha) else ""


def check_sums(text: bytes, digests: dict[str, str]) -> list[str]:
    """Every problem of ``SHA256SUMS`` against the folder's files (``name -> sha256 hex``), by line.

    Each line is ``<64 lower-case hex> <space or *><name>`` (what ``sha256sum``
    writes); the name must be a file of the folder itself (no path: ``../x``
    and ``/etc/passwd`` are refused, never opened), listed once, with the same
    digest. An empty list means every line holds.
    """
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return [f"{SUMS} is not UTF-8 text"]
    problems, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{SUMS} line {number}"
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            problems.append(f"{where} is not '<sha256> <name>': {line[:80]!r}")
            continue
        listed, name = match.groups()
        if "/" in name or "\\" in name or name in {".", ".."} or "\0" in name:
            problems.append(f"{where} names {name[:80]!r}, a path outside the folder (a release file has no path)")
        elif name in seen:
            problems.append(f"{where} lists {name[:80]!r} again")
        elif name not in digests:
            problems.append(f"{where} names {name[:80]!r}, which is not in the folder")
        elif digests[name] != listed:
            problems.append(f"{where}: {name} has sha256 {digests[name]}, {SUMS} says {listed}")
        seen.add(name)
    if not seen and not problems:
        problems.append(f"{SUMS} lists no file")
    return problems


def _listed(items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return "; ".join(shown) + more


def _entries(folder: Path) -> tuple[list[os.DirEntry[str]], list[tuple[os.DirEntry[str], str]]]:
    """The folder's regular files, and every other entry with what it is (never opened)."""
    from pipeline import verify  # noqa: PLC0415

    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        raise InputError(f"cannot read {folder}: {(error.strerror or type(error).__name__).lower()}") from None
    regular, odd = [], []
    for entry in entries:
        try:
            kind = verify.not_regular(Path(entry.path).stat().st_mode)
            kind = f"it is {kind}, not a regular file" if kind else ""
        except OSError as error:
            kind = (error.strerror or type(error).__name__).lower()
        if kind:
            odd.append((entry, kind))
        else:
            regular.append(entry)
    return regular, odd


def _attested(
    candidates: list[verify.Candidate], expected: Expectations, verifier: object
) -> tuple[set[str], list[str]]:
    """The digests the bundles that verify attest, and why each other bundle was refused (each verified once)."""
    from pipeline import verify  # noqa: PLC0415

    attested, refused = set(), []
    for origin, data in candidates:
        if isinstance(data, verify.Unreadable):
            refused.append(f"{origin}: {data.reason}")
            continue
        try:
            statement = verify.verified_statement(verify.parse_bundle(data, origin), expected, verifier)
        except CheckFailed as error:
            refused.append(verify.labelled(origin, error))
            continue
        attested.update(verify.subject_digests(statement))
    return attested, refused


def _unread(entry: os.DirEntry[str], error: InputError) -> str:
    return f"{entry.name}: {str(error).removeprefix(f'cannot read {entry.path}: ')}"


def verify_assets(folder: Path, tag: str, expected: Expectations, trust: Trust) -> list[tuple[str, str]]:
    """``(name, sha256)`` of every release file, each covered by a bundle in ``folder``, at the tag's commit.

    Every entry of the folder is accounted for: a bundle (``*.sigstore.json``,
    ``*.jsonl``, ``*.sigstore``), ``SHA256SUMS`` (checked line by line against
    the files), or a release file, which a verified bundle must name by its
    digest. Anything else (a folder, a FIFO, a broken link, a file that cannot
    be read) is refused by its name, so nothing is skipped and then called
    attested. Each bundle is verified once; a file no verified bundle names is
    refused, with the reason each bundle was refused for. Raises
    ``CheckFailed`` naming every problem at once (nothing is half-verified).
    """
    from pipeline import verify  # noqa: PLC0415

    if not expected.commit:
        raise InputError(
            f"verifying {tag} needs the commit it names: give --commit <sha> "
            "(or run it in a git checkout that has the tag)"
        )
    regular, odd = _entries(folder)
    bundle_files = [e for e in regular if e.name.endswith(BUNDLE_SUFFIXES)]
    sums = next((e for e in regular if e.name == SUMS), None)
    subjects = [e for e in regular if e not in bundle_files and e is not sums]
    # An entry that is not a regular file: a refused bundle if it has a bundle's
    # name (the others may still verify), else a release file that cannot be checked.
    odd_bundles = [(e.name, verify.Unreadable(kind)) for e, kind in odd if e.name.endswith(BUNDLE_SUFFIXES)]
    problems = [f"{e.name}: {kind}" for e, kind in odd if not e.name.endswith(BUNDLE_SUFFIXES)]
    if not subjects and not problems:
        raise InputError(f"{folder} holds no release files")
    if not bundle_files and not odd_bundles:
        raise CheckFailed(f"{folder} holds no attestation bundles (*.sigstore.json or *.jsonl)")
    expected.validate()
    candidates = [c for e in bundle_files for c in verify.bundles_from_file(e.path, e.name)] + odd_bundles
    attested, refused_bundles = _attested(candidates, expected, trust.verifier())
    digests, verified = {}, []
    for entry in subjects:
        try:
            digests[entry.name] = verify.sha256_file(entry.path, ASSET_LIMIT)
        except InputError as error:
            problems.append(_unread(entry, error))
            continue
        if digests[entry.name] in attested:
            verified.append((entry.name, digests[entry.name]))
        else:
            why = "no verified bundle names its digest" if attested else "no bundle verified"
            problems.append(f"{entry.name} (sha256:{digests[entry.name][:12]}…): {why}")
    if sums is not None:
        try:
            problems += check_sums(verify.read_regular(sums.path, SUMS_LIMIT), digests)
        except InputError as error:
            problems.append(_unread(sums, error))
    if problems:
        bundles = f" (refused bundles: {_listed(refused_bundles)})" if refused_bundles else ""
        raise CheckFailed(f"{tag}: {_listed(problems)}{bundles}")
    return verified
