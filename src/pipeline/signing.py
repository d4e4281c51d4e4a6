"""Sign what a workflow built: SLSA provenance (or an SBOM) as an in-toto statement.

One signing function for both worlds, with sigstore's own signer: the
``Trust`` says which instance (GitHub's public-good one with the runner's
token, or the local test authority), and the statement has the shape
``actions/attest`` gives it, so a verifier cannot tell them apart except by
the trust root and the issuer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline import grammar
from pipeline.errors import CheckFailed, InputError, one_line
from pipeline.verify import IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1

if TYPE_CHECKING:
    from pipeline.settings import Settings
    from pipeline.trust import Trust

BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
CYCLONEDX = "https://cyclonedx.org/bom"


@dataclass(frozen=True)
class Workflow:
    """The run that signs: what its identity token says, and so its certificate."""

    repository: str
    ref: str
    sha: str
    run_id: str
    path: str = ".github/workflows/ci.yml"
    run_attempt: str = "1"
    repository_id: str = "1"
    owner_id: str = "1"
    event_name: str = "push"
    visibility: str = "public"
    runner_environment: str = "github-hosted"
    server_url: str = "https://github.com"

    @classmethod
    def from_settings(cls, settings: Settings, path: str = "") -> Workflow:
        """This job's run, from the variables Actions (or act) sets.

        The workflow's path comes from ``GITHUB_WORKFLOW_REF`` when Actions
        sets it (it must name this repository), else from ``path``.
        """
        settings.require_repository()
        if not (settings.ref and grammar.SHA.fullmatch(settings.sha) and settings.run_id):
            raise InputError("signing needs GITHUB_REF, GITHUB_SHA and GITHUB_RUN_ID (the run that signs)")
        if settings.workflow_ref:
            prefix = f"{settings.repository}/"
            named, _, ref = settings.workflow_ref.partition("@")
            if not named.startswith(prefix) or not ref:
                raise InputError(f"GITHUB_WORKFLOW_REF does not name a workflow of {settings.repository}")
            path = named.removeprefix(prefix)
        if not path.startswith(".github/workflows/"):
            raise InputError(f"the signing workflow must be under .github/workflows/, not {path[:80]!r}")
        return cls(
            repository=settings.repository,
            ref=settings.ref,
            sha=settings.sha,
            run_id=settings.run_id,
            path=path,
            run_attempt=settings.run_attempt,
            repository_id=settings.repository_id or "1",
            event_name=settings.event_name or "push",
            server_url=settings.server_url,
        )

    @property
    def workflow_ref(self) -> str:
        """``owner/repo/.github/workflows/x.yml@ref``, as the token's claim."""
        return f"{self.repository}/{self.path}@{self.ref}"

    @property
    def run_uri(self) -> str:
        """The run's URI, as the certificate's run-invocation extension."""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}/attempts/{self.run_attempt}"

    def claims(self) -> dict[str, str]:
        """The token claims the local issuer is asked for (GitHub's own names)."""
        return {
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner": self.repository.split("/")[0],
            "repository_owner_id": self.owner_id,
            "repository_visibility": self.visibility,
            "ref": self.ref,
            "sha": self.sha,
            "event_name": self.event_name,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.workflow_ref,
            "job_workflow_sha": self.sha,
            "run_id": self.run_id,
            "run_attempt": self.run_attempt,
            "runner_environment": self.runner_environment,
        }


def statement(subjects: list[tuple[str, str]], predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    """An in-toto v1 statement about ``(name, sha256 hex)`` subjects."""
    if not subjects:
        raise InputError("a statement needs at least one subject")
    return {
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": grammar.require_digest(digest)}} for name, digest in subjects],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def provenance(subjects: list[tuple[str, str]], run: Workflow) -> dict[str, Any]:
    """SLSA provenance v1 with the predicate ``actions/attest`` writes for a workflow run."""
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "workflow": {
                    "ref": run.ref,
                    "repository": f"{run.server_url}/{run.repository}",
                    "path": run.path,
                }
            },
            "internalParameters": {
                "github": {
                    "event_name": run.event_name,
                    "repository_id": run.repository_id,
                    "repository_owner_id": run.owner_id,
                    "runner_environment": run.runner_environment,
                }
            },
            "resolvedDependencies": [
                {"uri": f"git+{run.server_url}/{run.repository}@{run.ref}", "digest": {"gitCommit": run.sha}}
            ],
        },
        "runDetails": {
            "builder": {"id": f"{run.server_url}/{run.workflow_ref}"},
            "metadata": {"invocationId": run.run_uri},
        },
    }
    return statement(subjects, SLSA_PROVENANCE_V1, predicate)


def sbom(subjects: list[tuple[str, str]], document: bytes) -> dict[str, Any]:
    """A CycloneDX SBOM attestation (what ``actions/attest`` makes with ``sbom-path``)."""
    try:
        predicate = json.loads(document)
    except ValueError:
        raise InputError("the SBOM is not JSON") from None
    if not isinstance(predicate, dict) or predicate.get("bomFormat") != "CycloneDX":
        raise InputError("the SBOM is not a CycloneDX JSON document")
    return statement(subjects, CYCLONEDX, predicate)


def sign(document: dict[str, Any], trust: Trust, run: Workflow) -> bytes:
    """The Sigstore bundle (JSON) of ``document`` signed as ``run`` on ``trust``'s instance."""
    import requests  # noqa: PLC0415
    from sigstore import dsse  # noqa: PLC0415
    from sigstore._internal.fulcio.client import ExpiredCertificate, FulcioClientError  # noqa: PLC0415
    from sigstore._internal.rekor import RekorClientError  # noqa: PLC0415
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.oidc import ExpiredIdentity  # noqa: PLC0415

    try:
        payload = dsse.Statement(json.dumps(document, separators=(",", ":")).encode())
    except (SigstoreError, ValueError) as error:
        raise InputError(f"the statement is not a valid in-toto statement: {one_line(error)}") from None
    token = trust.identity_token(run.claims())
    try:
        # cache=True: sigstore 4.5's uncached signer makes a new key for every
        # use, so the certificate would name another key than the signature's.
        with trust.signing_context().signer(token, cache=True) as signer:
            bundle = signer.sign_dsse(payload)
    except (
        SigstoreError,
        FulcioClientError,
        RekorClientError,
        ExpiredCertificate,
        ExpiredIdentity,
        requests.RequestException,
        ValueError,
    ) as error:
        detail = one_line(error, 200) or "no detail"
        raise CheckFailed(f"signing failed on {trust.describe()}: {type(error).__name__}: {detail}") from None
    return str(bundle.to_json()).encode()
