"""Sigstore attestation verification: exact identity, exact run, exact digest.

The policy is built only from explicit expectations (no wildcard identity);
after the signature and the certificate verify, the in-toto statement must be
SLSA provenance v1 about the image digest itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import CheckFailed, GitHubError, InputError, one_line
from pipeline.trust import GITHUB_ISSUER

if TYPE_CHECKING:
    from pipeline.github import GitHub

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NUMBER = re.compile(r"[1-9][0-9]{0,18}")
_ATTEMPT = re.compile(r"[1-9][0-9]{0,5}")
MAX_REASON = 240

# Fulcio certificate extensions (v2, DER UTF8String), read for the result.
_OIDS = {
    "issuer": "1.3.6.1.4.1.57264.1.8",
    "signer_workflow": "1.3.6.1.4.1.57264.1.9",
    "repository": "1.3.6.1.4.1.57264.1.12",
    "commit": "1.3.6.1.4.1.57264.1.13",
    "ref": "1.3.6.1.4.1.57264.1.14",
    "repository_id": "1.3.6.1.4.1.57264.1.15",
    "build_config": "1.3.6.1.4.1.57264.1.18",
    "run_uri": "1.3.6.1.4.1.57264.1.21",
}


@dataclass(frozen=True)
class Expectations:
    """What must be true of the signer; every field is compared exactly."""

    repository: str  # owner/name
    ref: str  # refs/heads/main, refs/pull/7/merge
    signer_workflow: str = ".github/workflows/ci.yml"
    repository_id: str = ""
    run_id: str = ""
    run_attempt: str = "1"
    issuer: str = GITHUB_ISSUER
    server_url: str = "https://github.com"
    build_config: str = ""  # the calling workflow when the signer is a reusable one

    @property
    def repository_uri(self) -> str:
        """The source repository as the certificate names it."""
        return f"{self.server_url}/{self.repository}"

    @property
    def signer_uri(self) -> str:
        """The signing workflow's URI (also the certificate's SAN).

        ``.github/...`` means this repository's workflow at ``ref``; a name
        with an owner (``org/repo/.github/workflows/x.yml@ref``) is a
        reusable workflow and must carry its own ref.
        """
        if self.signer_workflow.startswith(".github/"):
            return f"{self.repository_uri}/{self.signer_workflow}@{self.ref}"
        if "@" not in self.signer_workflow:
            raise InputError("a reusable signer workflow needs its ref: owner/repo/path@ref")
        return f"{self.server_url}/{self.signer_workflow}"

    @property
    def run_base(self) -> str:
        """The run's URI without its attempt ("" when no run is pinned)."""
        return f"{self.repository_uri}/actions/runs/{self.run_id}/attempts" if self.run_id else ""

    def validate(self) -> None:
        """Every value the policy compares must be present and well formed.

        sigstore's identity policy skips an empty value: an empty issuer would
        switch the issuer check off. So nothing is built until each one holds.
        """
        problems = []
        if not self.issuer.startswith("https://") or len(self.issuer) <= len("https://"):
            problems.append(f"the issuer must be an https URL, not {self.issuer[:60]!r}")
        if not self.server_url.startswith("https://") or len(self.server_url) <= len("https://"):
            problems.append(f"the server URL must be an https URL, not {self.server_url[:60]!r}")
        if not _REPOSITORY.fullmatch(self.repository):
            problems.append(f"the repository must be owner/name, not {self.repository[:60]!r}")
        if not self.ref.startswith("refs/") or len(self.ref) <= len("refs/"):
            problems.append(f"the ref must be a full ref (refs/...), not {self.ref[:60]!r}")
        if not self.signer_workflow.strip() or any(c.isspace() for c in self.signer_workflow):
            problems.append(f"the signer workflow must be a path, not {self.signer_workflow[:60]!r}")
        if self.repository_id and not _NUMBER.fullmatch(self.repository_id):
            problems.append(f"the repository id must be a number, not {self.repository_id[:30]!r}")
        if self.run_id and not _NUMBER.fullmatch(self.run_id):
            problems.append(f"the run id must be a positive number, not {self.run_id[:30]!r}")
        if not _ATTEMPT.fullmatch(self.run_attempt):
            problems.append(f"the run attempt must be a number from 1 to 999999, not {self.run_attempt[:30]!r}")
        if self.build_config and not self.build_config.startswith(".github/"):
            problems.append(f"the build config must be a .github/ path, not {self.build_config[:60]!r}")
        if problems:
            raise InputError("; ".join(problems))

    def policy(self) -> Any:  # noqa: ANN401 - sigstore's policy type
        """One ``AllOf`` of exact checks; optional ones only when given."""
        from sigstore.verify import policy  # noqa: PLC0415 - heavy import, only when verifying

        self.validate()
        checks: list[Any] = [
            policy.Identity(identity=self.signer_uri, issuer=self.issuer),
            policy.OIDCBuildSignerURI(self.signer_uri),
            policy.OIDCSourceRepositoryURI(self.repository_uri),
            policy.OIDCSourceRepositoryRef(self.ref),
        ]
        if self.repository_id:
            checks.append(policy.OIDCSourceRepositoryIdentifier(self.repository_id))
        if self.run_id:
            checks.append(RunAttempts(self.run_base, int(self.run_attempt)))
        if self.build_config:
            checks.append(policy.OIDCBuildConfigURI(f"{self.repository_uri}/{self.build_config}@{self.ref}"))
        return policy.AllOf(checks)


class RunAttempts:
    """A sigstore policy: the certificate's run is this run, attempt 1 to ``last``.

    Re-running only the failed jobs of a run keeps the attestation of an
    earlier attempt; it is still that run's, so every attempt so far is
    accepted, and no other run. The URI is parsed, not compared against one
    candidate per attempt, so any attempt number costs the same.
    """

    def __init__(self, base: str, last: int) -> None:
        self.base, self.last = base, last

    def verify(self, cert: Any) -> None:  # noqa: ANN401 - x509 certificate
        """Raise sigstore's ``VerificationError`` unless the run URI matches."""
        from sigstore.errors import VerificationError  # noqa: PLC0415

        uri = _certificate_claims(cert)["run_uri"]
        attempt = uri.removeprefix(self.base + "/") if uri.startswith(self.base + "/") else ""
        if not (_ATTEMPT.fullmatch(attempt) and int(attempt) <= self.last):
            raise VerificationError(
                f"Certificate's run invocation URI does not match (got {uri[:200]}, "
                f"expected {self.base}/1 to /{self.last})"
            )


@dataclass(frozen=True)
class Verified:
    """What the certificate and the statement say, for the CD report."""

    issuer: str
    signer_workflow: str
    repository: str
    repository_id: str
    ref: str
    commit: str
    run_uri: str
    predicate_type: str
    subject: str

    def to_json(self) -> dict[str, str]:
        """Plain dict for JSON output."""
        return asdict(self)


def _der_utf8(value: bytes) -> str:
    """Decode the DER UTF8String of a Fulcio v2 extension."""
    if len(value) < 2 or value[0] != 0x0C:
        return value.decode("utf-8", "replace")
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(value[2 : 2 + count], "big")
        offset = 2 + count
    return value[offset : offset + length].decode("utf-8", "replace")


def _certificate_claims(certificate: Any) -> dict[str, str]:  # noqa: ANN401 - x509 object
    from cryptography import x509  # noqa: PLC0415

    claims = {}
    for name, oid in _OIDS.items():
        try:
            ext = certificate.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
        except x509.ExtensionNotFound:
            claims[name] = ""
            continue
        claims[name] = _der_utf8(ext.value.value)
    return claims


def reason(error: BaseException | str) -> str:
    """One line a person can act on: no raw bytes, never cut mid-word."""
    text = one_line(error, limit=None)
    text = re.sub(r"b(['\"])(?:\\.|(?!\1).){40,}?\1", "<bytes>", text)
    known = re.search(r"Unsupported DSSE log entry type: (\S+)", text)
    if known:
        return (
            f"its transparency-log entry is {known.group(1)}; only dsse/0.0.1 (and hashedrekord) "
            "entries can be verified"
        )
    if "not valid at validation time" in text:
        return (
            "its certificate was not valid when the transparency log recorded the signature "
            "(expired, or not yet valid, at that time)"
        )
    if type(error).__name__ == "CertValidationError" or "certificate chain" in text:
        return (
            "its certificate does not chain to a trusted Fulcio root: it was signed by another Sigstore "
            "instance (staging, or GitHub's private instance for private repositories)"
        )
    return one_line(text, MAX_REASON)


_FIELD = re.compile(r"validation errors? for \w+\s+([A-Za-z_][\w.]*)|(?:field|key)[ :]+['\"]?([A-Za-z_][\w.]*)")


def _json_field(error: Exception) -> str:
    """The bundle field a loading error names (pydantic's path, or a missing key), up front."""
    match = _FIELD.search(str(error))
    return f" (field {match.group(1) or match.group(2)})" if match else ""


def parse_bundle(data: bytes, origin: str) -> Any:  # noqa: ANN401 - sigstore Bundle
    """A sigstore bundle from JSON bytes; anything else is refused (exit 1)."""
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.models import Bundle  # noqa: PLC0415

    try:
        document = json.loads(data)
    except RecursionError:
        raise CheckFailed(f"refused: {origin} is JSON nested too deeply to be a bundle") from None
    except ValueError:
        raise CheckFailed(f"refused: {origin} is not JSON") from None
    if not isinstance(document, dict):
        raise CheckFailed(f"refused: {origin} is JSON but not an object, so not a Sigstore bundle")
    kind = _unsupported_log_entry(document)
    if kind:
        raise CheckFailed(
            f"refused: {origin}: its transparency-log entry is {kind}; only dsse/0.0.1 and hashedrekord "
            "entries can be verified"
        )
    try:
        return Bundle.from_json(data)
    except RecursionError:
        raise CheckFailed(f"refused: {origin} is nested too deeply to be a bundle") from None
    except (SigstoreError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise CheckFailed(
            f"refused: {origin} is not a valid Sigstore bundle{_json_field(error)}: {reason(error)}"
        ) from None


_SUPPORTED_ENTRIES = {("dsse", "0.0.1"), ("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2")}


def _unsupported_log_entry(document: dict[str, Any]) -> str:
    """``kind/version`` of a log entry sigstore cannot verify, or ""."""
    material = document.get("verificationMaterial")
    entries = material.get("tlogEntries") if isinstance(material, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        kind_version = entry.get("kindVersion") if isinstance(entry, dict) else None
        if isinstance(kind_version, dict):
            pair = (str(kind_version.get("kind", ""))[:40], str(kind_version.get("version", ""))[:20])
            if pair not in _SUPPORTED_ENTRIES:
                return "/".join(pair)
    return ""


def read_bundles(data: bytes, origin: str) -> list[tuple[str, bytes]]:
    """One bundle, or JSON Lines of bundles (what `gh attestation download` writes).

    A file that is one JSON document (however it is indented) is one bundle;
    otherwise each non-empty line is a candidate of its own.
    """
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) > 1:
            return [(f"{origin} line {n}", line) for n, line in enumerate(lines, 1)]
    return [(origin, data)]


def check_statement(payload_type: str, payload: bytes, digest: str) -> dict[str, Any]:
    """The DSSE payload must be an in-toto v1 SLSA v1 statement about ``digest``."""
    if payload_type != IN_TOTO_PAYLOAD:
        raise CheckFailed(f"refused: payload type is {payload_type!r}, not in-toto")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise CheckFailed("refused: the attested statement is not JSON") from None
    except RecursionError:
        raise CheckFailed("refused: the attested statement is nested too deeply") from None
    if not isinstance(statement, dict) or statement.get("_type") != IN_TOTO_STATEMENT_V1:
        raise CheckFailed("refused: the statement is not an in-toto v1 statement")
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        raise CheckFailed(
            f"refused: predicate is {str(statement.get('predicateType'))[:100]!r}, expected {SLSA_PROVENANCE_V1}"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise CheckFailed("refused: the statement has no subject list")
    digests = [s["digest"].get("sha256") for s in subjects if isinstance(s, dict) and isinstance(s.get("digest"), dict)]
    if digest not in digests:
        raise CheckFailed(f"refused: no subject has the digest sha256:{digest}")
    return statement


def verify_attestation(
    bundle: Any,  # noqa: ANN401 - sigstore Bundle
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """Signature, certificate policy, then statement; raises ``CheckFailed``."""
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415

    if bundle._dsse_envelope is None:  # noqa: SLF001 - no public accessor in sigstore 4.5
        raise CheckFailed("refused: the bundle holds a message signature, not an attestation (no DSSE envelope)")
    try:
        payload_type, payload = trust.verify_dsse(bundle, expected.policy())
    except (SigstoreError, ValueError) as error:
        raise CheckFailed(f"refused: {reason(error)}") from None
    statement = check_statement(payload_type, payload, digest)
    return _verified(bundle, str(statement["predicateType"]), digest)


def verify_artifact(bundle: Any, expected: Expectations, artifact: bytes, trust: Any) -> Verified:  # noqa: ANN401
    """A message signature over exact bytes (not an attestation)."""
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415

    try:
        trust.verify_artifact(artifact, bundle, expected.policy())
    except (SigstoreError, ValueError) as error:
        raise CheckFailed(f"refused: {reason(error)}") from None
    return _verified(bundle, "", hashlib.sha256(artifact).hexdigest())


def _verified(bundle: Any, predicate_type: str, digest: str) -> Verified:  # noqa: ANN401 - sigstore Bundle
    """The result, from the certificate's claims (read only after verification)."""
    claims = _certificate_claims(bundle.signing_certificate)
    return Verified(
        issuer=claims["issuer"],
        signer_workflow=claims["signer_workflow"],
        repository=claims["repository"],
        repository_id=claims["repository_id"],
        ref=claims["ref"],
        commit=claims["commit"],
        run_uri=claims["run_uri"],
        predicate_type=predicate_type,
        subject=f"sha256:{digest}",
    )


def fetch_bundles(github: GitHub, repository: str, digest: str) -> list[tuple[str, bytes]]:
    """Every attestation bundle GitHub stores for the digest (all pages).

    An item that is neither an inline bundle nor a link is kept as an empty
    candidate, so it is refused with its reason and the others are still tried.
    """
    path = f"/repos/{repository}/attestations/sha256:{digest}"
    bundles = []
    for index, item in enumerate(github.paginate(path)):
        origin = f"attestation #{index + 1}"
        if isinstance(item, dict) and isinstance(item.get("bundle"), dict):
            bundles.append((origin, json.dumps(item["bundle"]).encode()))
        elif isinstance(item, dict) and isinstance(item.get("bundle_url"), str):
            try:
                bundles.append((origin, github.download(item["bundle_url"])))
            except GitHubError as error:
                bundles.append((f"{origin} (download failed: {reason(error)})", b""))
        else:
            bundles.append((f"{origin} (neither an inline bundle nor a bundle_url)", b""))
    if not bundles:
        raise CheckFailed(f"refused: no attestation exists for sha256:{digest} in {repository}")
    return bundles


def verify_any(
    bundles: list[tuple[str, bytes]],
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """The first bundle that verifies wins; otherwise every refusal is reported.

    Every candidate is tried: one that cannot even be read is refused with its
    reason, and the ones after it still get their turn.
    """
    expected.validate()
    reasons = []
    for origin, data in bundles:
        try:
            bundle = parse_bundle(data, origin)
            return verify_attestation(bundle, expected, digest, trust)
        except CheckFailed as error:
            text = str(error).removeprefix("refused: ")
            reasons.append(text if text.startswith(origin) else f"{origin}: {text}")
    if not reasons:
        raise CheckFailed("refused: there was no bundle to verify")
    raise CheckFailed(f"refused: none of {len(reasons)} bundle(s) verified: " + "; ".join(reasons))
