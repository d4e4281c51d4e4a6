"""Attest what a run built: sign, then store the bundle where verifiers look.

What ``actions/attest`` does on GitHub, as one operation the local pipeline,
the release dry run and the act stand-in call: the bundle is kept as a file,
stored with the repository's attestations API when there is one to talk to,
and pushed next to an image as an OCI referrer when asked, for cosign and
admission controllers.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import grammar, referrers, registry, signing
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pipeline.github import GitHub
    from pipeline.trust import Trust


@dataclass(frozen=True)
class Attested:
    """Where the bundle went."""

    bundle: Path
    attestation_id: str = ""
    attestation_url: str = ""
    referrer: str = ""


def image_subject(name: str, digest: str) -> list[tuple[str, str]]:
    """The one subject of an image attestation: its name (no tag) and manifest digest."""
    if not name or "@" in name or ":" in name.rsplit("/", 1)[-1]:
        raise InputError(f"the subject name must be an image name without tag or digest, not {name[:80]!r}")
    return [(name, grammar.require_digest(digest))]


def file_subjects(patterns: list[str]) -> list[tuple[str, str]]:
    """Every file the patterns match, by base name and SHA-256 (as ``subject-path``)."""
    # glob.glob, not Path.glob: the patterns are absolute, as subject-path accepts them.
    found = (Path(p) for pattern in patterns for p in glob.glob(pattern))  # noqa: PTH207
    paths = sorted({p for p in found if p.is_file()})
    if not paths:
        raise InputError(f"no file matches {', '.join(patterns)[:200]}")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise InputError("two subject files share a name; a subject is named by its file name")
    return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


def attest(
    subjects: list[tuple[str, str]],
    *,
    trust: Trust,
    run: signing.Workflow,
    output: Path,
    sbom: bytes | None = None,
    github: GitHub | None = None,
    referrer_of: str = "",
) -> Attested:
    """Provenance of ``subjects`` (or, given ``sbom``, an SBOM attestation), signed as ``run``.

    ``referrer_of`` names the image (``name``) whose digest, the one subject,
    gets the bundle attached in its registry.
    """
    document = signing.sbom(subjects, sbom) if sbom is not None else signing.provenance(subjects, run)
    bundle = signing.sign(document, trust, run)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(bundle)
    attestation_id = attestation_url = referrer = ""
    if github is not None:
        made = github.json("POST", f"/repos/{run.repository}/attestations", json={"bundle": json.loads(bundle)})
        attestation_id = str(made.get("id", "")) if isinstance(made, dict) else ""
        if attestation_id:
            attestation_url = f"{run.server_url}/{run.repository}/attestations/{attestation_id}"
    if referrer_of:
        if len(subjects) != 1:
            raise InputError("a bundle is attached to one image: give one image subject")
        pinned = registry.parse_reference(f"{referrer_of}@sha256:{subjects[0][1]}")
        referrer = referrers.attach(pinned, bundle)
    return Attested(output, attestation_id, attestation_url, referrer)
