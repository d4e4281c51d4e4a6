"""Sigstore attestation verification: exact identity, exact run, exact digest.

The policy is built only from explicit expectations (no wildcard identity);
after the signature and the certificate verify, the in-toto statement must be
SLSA provenance v1 about the image digest itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import CheckFailed, GitHubError, InputError

if TYPE_CHECKING:
    from pipeline.github import GitHub

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"
DIGEST = re.compile(r"(?:sha256:)?([0-9a-f]{64})")

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


def require_digest(text: str) -> str:
    """The 64 hex digits of a sha256 digest (``sha256:`` optional)."""
    match = DIGEST.fullmatch(text.strip())
    if not match:
        raise InputError(f"not a sha256 digest: {text[:80]!r}")
    return match.group(1)


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
    def run_uris(self) -> list[str]:
        """The exact run that must have signed, in any attempt up to ``run_attempt``.

        Re-running only the failed jobs of a run keeps the attestation of an
        earlier attempt; it is still that run's, so every attempt so far is
        accepted, and no other run.
        """
        if not self.run_id:
            return []
        if not (self.run_id.isdigit() and self.run_attempt.isdigit() and int(self.run_attempt) >= 1):
            raise InputError("run id and attempt must be positive numbers")
        base = f"{self.repository_uri}/actions/runs/{self.run_id}/attempts"
        return [f"{base}/{n}" for n in range(1, int(self.run_attempt) + 1)]

    def policy(self) -> Any:  # noqa: ANN401 - sigstore's policy type
        """One ``AllOf`` of exact checks; optional ones only when given."""
        from sigstore.verify import policy  # noqa: PLC0415 - heavy import, only when verifying

        if not self.repository or not self.ref:
            raise InputError("verification needs the repository and the ref")
        checks: list[Any] = [
            policy.Identity(identity=self.signer_uri, issuer=self.issuer),
            policy.OIDCBuildSignerURI(self.signer_uri),
            policy.OIDCSourceRepositoryURI(self.repository_uri),
            policy.OIDCSourceRepositoryRef(self.ref),
        ]
        if self.repository_id:
            checks.append(policy.OIDCSourceRepositoryIdentifier(self.repository_id))
        runs = [policy.OIDCRunInvocationURI(uri) for uri in self.run_uris]
        if len(runs) == 1:
            checks.append(runs[0])
        elif runs:
            checks.append(policy.AnyOf(runs))
        if self.build_config:
            checks.append(policy.OIDCBuildConfigURI(f"{self.repository_uri}/{self.build_config}@{self.ref}"))
        return policy.AllOf(checks)


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


def parse_bundle(data: bytes, origin: str) -> Any:  # noqa: ANN401 - sigstore Bundle
    """A sigstore bundle from JSON bytes; bad input is a usage error (exit 2)."""
    from sigstore.models import Bundle, InvalidBundle  # noqa: PLC0415

    try:
        json.loads(data)
    except ValueError:
        raise InputError(f"{origin}: not JSON") from None
    try:
        return Bundle.from_json(data)
    except (InvalidBundle, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{origin}: not a Sigstore bundle ({str(error)[:120]})") from None


def check_statement(payload_type: str, payload: bytes, digest: str) -> dict[str, Any]:
    """The DSSE payload must be an in-toto v1 SLSA v1 statement about ``digest``."""
    if payload_type != IN_TOTO_PAYLOAD:
        raise CheckFailed(f"refused: payload type is {payload_type!r}, not in-toto")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise CheckFailed("refused: the attested statement is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != IN_TOTO_STATEMENT_V1:
        raise CheckFailed("refused: the statement is not an in-toto v1 statement")
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        raise CheckFailed(
            f"refused: predicate is {str(statement.get('predicateType'))[:100]!r}, expected {SLSA_PROVENANCE_V1}"
        )
    subjects = statement.get("subject")
    digests = (
        [
            s.get("digest", {}).get("sha256")
            for s in subjects
            if isinstance(s, dict) and isinstance(s.get("digest"), dict)
        ]
        if isinstance(subjects, list)
        else []
    )
    if digest not in digests:
        raise CheckFailed(f"refused: no subject has the digest sha256:{digest}")
    return statement


def verifier(*, offline: bool) -> Any:  # noqa: ANN401 - sigstore Verifier
    """The production trust root; offline, the copy inside the sigstore wheel.

    Offline, sigstore reads its TUF cache from the user's cache directory. A
    fresh private directory makes it seed the cache from the wheel's embedded
    root instead, so a stale or planted file there is never used.
    """
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    if not offline:
        try:
            return Verifier.production()
        except SigstoreError as error:
            raise CheckFailed(
                f"cannot load Sigstore's trust root ({type(error).__name__}); "
                "use --offline for the root inside the sigstore package"
            ) from None
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    with tempfile.TemporaryDirectory(prefix="pipeline-sigstore-") as private:
        os.environ["XDG_CACHE_HOME"] = str(Path(private, "cache"))
        os.environ["XDG_DATA_HOME"] = str(Path(private, "data"))
        try:
            return Verifier.production(offline=True)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def verify_attestation(
    bundle: Any,  # noqa: ANN401 - sigstore Bundle
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """Signature, certificate policy, then statement; raises ``CheckFailed``."""
    from sigstore.errors import VerificationError  # noqa: PLC0415

    if bundle._dsse_envelope is None:  # noqa: SLF001 - no public accessor in sigstore 4.5
        raise CheckFailed("refused: the bundle holds a message signature, not an attestation (no DSSE envelope)")
    try:
        payload_type, payload = trust.verify_dsse(bundle, expected.policy())
    except VerificationError as error:
        raise CheckFailed(f"refused: {error}") from None
    statement = check_statement(payload_type, payload, digest)
    return _verified(bundle, str(statement["predicateType"]), digest)


def verify_artifact(bundle: Any, expected: Expectations, artifact: bytes, trust: Any) -> Verified:  # noqa: ANN401
    """A message signature over exact bytes (not an attestation)."""
    from sigstore.errors import VerificationError  # noqa: PLC0415

    try:
        trust.verify_artifact(artifact, bundle, expected.policy())
    except VerificationError as error:
        raise CheckFailed(f"refused: {error}") from None
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
    """Every attestation bundle GitHub stores for the digest (all pages)."""
    path = f"/repos/{repository}/attestations/sha256:{digest}"
    bundles = []
    for index, item in enumerate(github.paginate(path)):
        origin = f"attestation #{index + 1}"
        if isinstance(item, dict) and isinstance(item.get("bundle"), dict):
            bundles.append((origin, json.dumps(item["bundle"]).encode()))
        elif isinstance(item, dict) and isinstance(item.get("bundle_url"), str):
            bundles.append((origin, github.download(item["bundle_url"])))
        else:
            raise GitHubError(f"{origin}: neither an inline bundle nor a bundle_url")
    if not bundles:
        raise CheckFailed(f"refused: no attestation exists for sha256:{digest} in {repository}")
    return bundles


def verify_any(
    bundles: list[tuple[str, bytes]],
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """The first bundle that verifies wins; otherwise every refusal is reported."""
    reasons = []
    for origin, data in bundles:
        bundle = parse_bundle(data, origin)
        try:
            return verify_attestation(bundle, expected, digest, trust)
        except CheckFailed as error:
            reasons.append(f"{origin}: {error}")
    raise CheckFailed("; ".join(reasons))
