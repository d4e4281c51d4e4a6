"""The files one job leaves for another: one typed model, one writer, one reader each.

``gate-X.Y.json`` is written by the quality gate (``quality_gate.outputs.to_json``)
and read here by ``read_gate`` for the CI report.
``image-plan.json`` (what to build and whether to push) is written by
``image-tags`` and read by ``image-build``/``image-push``; ``image.json``
(what was pushed) is written by ``image-push`` and the local pipeline through
``write_image`` and read by ``sbom`` and the report through ``read_image``.
A file that does not hold what its model says is a usage error naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.grammar import DIGEST, TAG, require_sha


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object")
    return data


def _dump(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class ImagePlan:
    """What ``image-tags`` decided: name, every ``name:tag``, the commit, push or not and why."""

    name: str
    references: tuple[str, ...]
    sha: str
    push: bool
    reason: str


def write_plan(path: Path, plan: ImagePlan) -> None:
    """The one writer of ``image-plan.json``."""
    _dump(path, {**asdict(plan), "references": list(plan.references)})


def read_plan(path: Path) -> ImagePlan:
    """The one reader of ``image-plan.json``, validated."""
    data = _load(path)
    refs = data.get("references")
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise InputError(f"{path} has no image references")
    name = str(data.get("name", ""))
    for ref in refs:
        image, _, tag = ref.rpartition(":")
        if image != name or not TAG.fullmatch(tag):
            raise InputError(f"{path}: {ref[:150]!r} is not {name}:<tag>")
    return ImagePlan(
        name=name,
        references=tuple(refs),
        sha=require_sha(str(data.get("sha", ""))),
        push=data.get("push") is True,
        reason=str(data.get("reason", "")),
    )


@dataclass(frozen=True)
class ImageFacts:
    """What was built and pushed: the report, the SBOM and CD read only the digest."""

    name: str
    tags: tuple[str, ...]
    digest: str  # "" when not pushed
    pushed: bool
    reason: str


def write_image(path: Path, facts: ImageFacts) -> None:
    """The one writer of ``image.json`` (CI's image job and the local pipeline)."""
    if facts.pushed and not DIGEST.fullmatch(facts.digest):
        raise InputError(f"a pushed image needs its sha256 digest, not {facts.digest[:80]!r}")
    _dump(path, {**asdict(facts), "tags": list(facts.tags)})


def read_image(path: Path) -> ImageFacts:
    """The one reader of ``image.json``, validated."""
    data = _load(path)
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and TAG.fullmatch(t) for t in tags):
        raise InputError(f"{path}: the tags are not a list of image tags")
    digest = str(data.get("digest") or "")
    pushed = data.get("pushed") is True
    if pushed and not DIGEST.fullmatch(digest):
        raise InputError(f"{path}: a pushed image without a sha256 digest")
    name, reason = str(data.get("name", "")), str(data.get("reason", ""))
    return ImageFacts(name=name, tags=tuple(tags), digest=digest, pushed=pushed, reason=reason)


@dataclass(frozen=True)
class GateResult:
    """What one matrix cell's gate decided, as the report shows it."""

    verdict: str
    threshold: float | None
    precision: int
    total_display: str
    duration: float
    tests: dict[str, int]


def _number(data: dict[str, Any], key: str, path: Path) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path.name}: {key} is not a number")
    return float(value)


def read_gate(path: Path) -> GateResult:
    """The one reader of the gate's ``gate-X.Y.json`` (its writer is the gate plugin)."""
    return gate_result(_load(path), path)


def gate_result(data: dict[str, Any], path: Path) -> GateResult:
    """A gate result from the file's JSON object, validated field by field."""
    verdict = data.get("verdict")
    if not isinstance(verdict, str) or not verdict:
        raise InputError(f"{path.name} has no verdict")
    precision = data.get("precision", 2)
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 10:
        raise InputError(f"{path.name}: precision is not a small whole number")
    tests = data.get("tests") or {}
    if not isinstance(tests, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in tests.values()):
        raise InputError(f"{path.name}: tests is not a table of counts")
    return GateResult(
        verdict=verdict,
        threshold=_number(data, "threshold", path),
        precision=precision,
        total_display=str(data.get("total_display") or ""),
        duration=_number(data, "duration_seconds", path) or 0.0,
        tests={str(k): int(v) for k, v in tests.items()},
    )


@dataclass(frozen=True)
class AttestationRecord:
    """Where the image's provenance went: GitHub's attestation id and page, or a local referrer."""

    id: str
    url: str = ""


_ATTESTATION_ID = re.compile(r"[0-9]{1,19}")


def _checked(record: AttestationRecord) -> AttestationRecord:
    """An id (GitHub's number, or a referrer's whole digest) and an https page or none: writer and reader alike."""
    if not (_ATTESTATION_ID.fullmatch(record.id) or DIGEST.fullmatch(record.id)):
        raise InputError(f"not an attestation id: {record.id[:80]!r}")
    if record.url and not record.url.startswith("https://"):
        raise InputError("the attestation URL must be https")
    return record


def write_attestation(path: Path, record: AttestationRecord) -> None:
    """``attestation.json``: an id (GitHub's number, or a referrer's digest) and an https page or none."""
    _checked(record)
    _dump(path, {"id": record.id, "url": record.url})


def read_attestation(path: Path) -> AttestationRecord:
    """``attestation.json``; a malformed one is bad input that names the field."""
    data = _load(path)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("url", ""), str):
        raise InputError(f"{path}: id and url must be strings")
    try:
        return _checked(AttestationRecord(data["id"], data.get("url", "")))
    except InputError as error:
        raise InputError(f"{path}: {error}") from None
