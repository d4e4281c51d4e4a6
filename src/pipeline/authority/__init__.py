"""A local Sigstore authority for local runs and tests only: OIDC, Fulcio, Rekor.

sigstore-python's own signer and verifier run against it unchanged; only the
trust root differs from GitHub's. Nothing it signs is trusted anywhere else:
its issuer is in the reserved ``.invalid`` domain and its keys live in this
machine's state directory.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pipeline.authority import fulcio, keys, oidc, rekor
from pipeline.errors import CheckFailed, InputError

TRUSTED_ROOT_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
CLIENT_TRUST_CONFIG_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalAuthority:
    """The three services' logic over one state directory; HTTP lives in ``server``."""

    def __init__(
        self,
        state: Path,
        url: str,
        *,
        server_url: str = "https://github.com",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state, self.url, self.server_url, self.clock = state, url.rstrip("/"), server_url, clock
        state.mkdir(parents=True, exist_ok=True)
        self.ca_key = keys.load_or_create(state / "fulcio.key")
        self.ct_key = keys.load_or_create(state / "ctlog.key")
        self.oidc_key = keys.load_or_create(state / "oidc.key")
        self.log = rekor.Log(state / "rekor-entries.jsonl", keys.load_or_create(state / "rekor.key"))
        root_file = state / "fulcio-root.pem"
        if root_file.exists():
            self.ca_certificate = x509.load_pem_x509_certificate(root_file.read_bytes())
        else:
            self.ca_certificate = fulcio.root_certificate(self.ca_key, self.now())
            root_file.write_bytes(self.ca_certificate.public_bytes(serialization.Encoding.PEM))

    def now(self) -> dt.datetime:
        """The authority's clock (injectable, so expiry is testable)."""
        return dt.datetime.fromtimestamp(int(self.clock()), tz=dt.timezone.utc)

    # -- the three services ---------------------------------------------------
    def token(self, claims: Any) -> str:  # noqa: ANN401 - JSON from the client
        """An identity token for a workflow run (the stand-in for Actions' token service)."""
        if not isinstance(claims, Mapping):
            raise InputError("the token request is not a JSON object of claims")
        return oidc.mint(self.oidc_key, claims, int(self.clock()))

    def signing_certificate(self, request: Any, authorization: str) -> dict[str, Any]:  # noqa: ANN401 - JSON
        """``POST /api/v2/signingCert``: a checked token and a CSR in, a chain out."""
        if not authorization.startswith("Bearer "):
            raise CheckFailed("no identity token (Authorization: Bearer ...)")
        claims = oidc.check(self.oidc_key, authorization.removeprefix("Bearer "), int(self.clock()))
        encoded = request.get("certificateSigningRequest") if isinstance(request, dict) else None
        if not isinstance(encoded, str):
            raise InputError("the request has no certificateSigningRequest")
        try:
            csr = x509.load_pem_x509_csr(base64.b64decode(encoded, validate=True))
        except ValueError:
            raise InputError("the certificateSigningRequest is not a base64 PEM CSR") from None
        leaf = fulcio.issue(
            csr,
            claims,
            ca_key=self.ca_key,
            ca_certificate=self.ca_certificate,
            ct_key=self.ct_key,
            server_url=self.server_url,
            now=self.now(),
        )
        chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, self.ca_certificate)]
        return {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}

    def log_entry(self, proposed: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
        """``POST /api/v1/log/entries``."""
        return self.log.append(proposed, int(self.clock()))

    # -- what clients are given -------------------------------------------------
    def trusted_root(self) -> dict[str, Any]:
        """The trust root: this CA, this CT key, this log key; nothing of GitHub's."""
        start = _rfc3339(self.ca_certificate.not_valid_before_utc)

        def key(private: Any, base_url: str) -> dict[str, Any]:  # noqa: ANN401 - EC key
            public = private.public_key()
            return {
                "baseUrl": base_url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(keys.spki(public)).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": base64.b64encode(keys.key_id(public)).decode()},
            }

        der = self.ca_certificate.public_bytes(serialization.Encoding.DER)
        return {
            "mediaType": TRUSTED_ROOT_TYPE,
            "tlogs": [key(self.log.key, self.url)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "local test authority", "commonName": "sample-pipeline local Fulcio"},
                    "uri": self.url,
                    "certChain": {"certificates": [{"rawBytes": base64.b64encode(der).decode()}]},
                    "validFor": {"start": start},
                }
            ],
            "ctlogs": [key(self.ct_key, self.url)],
            "timestampAuthorities": [],
        }

    def signing_config(self) -> dict[str, Any]:
        """Where a signer finds Fulcio, Rekor and the issuer: all at this authority's URL."""
        start = _rfc3339(self.ca_certificate.not_valid_before_utc)

        def service(url: str) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": "local"}

        return {
            "mediaType": SIGNING_CONFIG_TYPE,
            "caUrls": [service(self.url)],
            "oidcUrls": [service(f"{self.url}/oidc")],
            "rekorTlogUrls": [service(self.url)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }

    def trust_config(self) -> dict[str, Any]:
        """Trusted root and signing config in one document (sigstore's ClientTrustConfig)."""
        return {
            "mediaType": CLIENT_TRUST_CONFIG_TYPE,
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }

    def write_trust_files(self) -> None:
        """The trust documents in the state directory, for readers without HTTP (cosign, sigstore's CLI)."""
        documents = {
            "trusted_root.json": self.trusted_root(),
            "signing_config.json": self.signing_config(),
            "trust_config.json": self.trust_config(),
        }
        for name, document in documents.items():
            (self.state / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
