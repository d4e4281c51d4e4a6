"""The local Rekor (v1 API): an append-only log with proofs a verifier checks.

Each entry is stored in its canonical form; the reply carries what sigstore's
verifier insists on: an RFC 6962 inclusion proof, a checkpoint signed by the
log key (key hint = the log ID's first 4 bytes) and an inclusion promise (SET)
over the RFC 8785 form of body, integratedTime, logID and logIndex. A proposed
entry is accepted only when its signature verifies with its certificate, as
Rekor does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from pipeline.authority import keys, merkle
from pipeline.errors import CheckFailed

LOG_NAME = "local-rekor.invalid"
TREE_ID = 1


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what an envelope's signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _certificate(encoded: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error):
        raise CheckFailed("the entry's verifier is not a base64 PEM certificate") from None


def _key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CheckFailed("the entry's certificate does not hold an EC key")
    return key


def _b64(value: Any, what: str) -> bytes:  # noqa: ANN401 - JSON value
    if not isinstance(value, str):
        raise CheckFailed(f"the entry's {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise CheckFailed(f"the entry's {what} is not base64") from None


def canonical_body(proposed: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON from the client
    """The body Rekor stores for a proposed dsse or hashedrekord 0.0.1 entry, checked."""
    if not isinstance(proposed, dict) or not isinstance(proposed.get("spec"), dict):
        raise CheckFailed("the proposed entry is not a Rekor entry object")
    kind, spec = proposed.get("kind"), proposed["spec"]
    if kind == "dsse":
        content = spec.get("proposedContent")
        if not isinstance(content, dict) or not isinstance(content.get("envelope"), str):
            raise CheckFailed("the dsse entry has no proposedContent.envelope")
        try:
            envelope = json.loads(content["envelope"])
        except ValueError:
            raise CheckFailed("the dsse entry's envelope is not JSON") from None
        verifiers = content.get("verifiers")
        if not isinstance(envelope, dict) or not isinstance(verifiers, list) or len(verifiers) != 1:
            raise CheckFailed("the dsse entry needs an envelope object and exactly one verifier")
        payload = _b64(envelope.get("payload"), "payload")
        payload_type = envelope.get("payloadType")
        signatures = envelope.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(signatures, list) or len(signatures) != 1:
            raise CheckFailed("the dsse envelope needs a payloadType and exactly one signature")
        signature = _b64(signatures[0].get("sig") if isinstance(signatures[0], dict) else None, "signature")
        try:
            _key(_certificate(verifiers[0])).verify(signature, _pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise CheckFailed("the dsse envelope's signature does not verify with its certificate") from None
        return {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(rfc8785.dumps(envelope)).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": base64.b64encode(signature).decode(), "verifier": verifiers[0]}],
            },
        }
    if kind == "hashedrekord":
        try:
            signature = _b64(spec["signature"]["content"], "signature")
            certificate = _certificate(spec["signature"]["publicKey"]["content"])
            algorithm, value = spec["data"]["hash"]["algorithm"], spec["data"]["hash"]["value"]
        except (KeyError, TypeError):
            raise CheckFailed("the hashedrekord entry lacks its signature, key or hash") from None
        if algorithm != "sha256" or not isinstance(value, str) or len(value) != 64:
            raise CheckFailed("the hashedrekord entry's hash is not a sha256 digest")
        try:
            digest = bytes.fromhex(value)
            _key(certificate).verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        except (ValueError, InvalidSignature):
            raise CheckFailed("the hashedrekord signature does not verify with its certificate") from None
        return {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": value}},
                "signature": {
                    "content": spec["signature"]["content"],
                    "publicKey": {"content": spec["signature"]["publicKey"]["content"]},
                },
            },
        }
    raise CheckFailed(f"entries of kind {str(kind)[:40]!r} are not accepted (dsse and hashedrekord only)")


class Log:
    """The log: entries in a JSON Lines file, appended under a lock, never rewritten."""

    def __init__(self, path: Path, key: ec.EllipticCurvePrivateKey) -> None:
        self.path, self.key = path, key
        self.log_id = keys.key_id(key.public_key())
        self.origin = f"{LOG_NAME} - {TREE_ID}"
        self._lock = threading.Lock()

    def _entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]

    def checkpoint(self, size: int, root: bytes) -> str:
        """A signed note over the tree head (origin, size, root)."""
        note = f"{self.origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        signature = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        return f"{note}\n\u2014 {LOG_NAME} {base64.b64encode(self.log_id[:4] + signature).decode()}\n"

    def append(self, proposed: Any, integrated_time: int) -> dict[str, Any]:  # noqa: ANN401 - client JSON
        """Check, store and prove one entry; the reply of ``POST /api/v1/log/entries``."""
        body = rfc8785.dumps(canonical_body(proposed))
        with self._lock:
            entries = self._entries()
            index = len(entries)
            encoded = base64.b64encode(body).decode()
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"body": encoded, "integratedTime": integrated_time}) + "\n")
            leaves = [merkle.leaf_hash(base64.b64decode(e["body"])) for e in entries] + [merkle.leaf_hash(body)]
        root = merkle.root(leaves)
        promise: dict[str, str | int] = {
            "body": encoded,
            "integratedTime": integrated_time,
            "logID": self.log_id.hex(),
            "logIndex": index,
        }
        entry = {
            **promise,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(len(leaves), root),
                    "hashes": [h.hex() for h in merkle.inclusion_proof(index, leaves)],
                    "logIndex": index,
                    "rootHash": root.hex(),
                    "treeSize": len(leaves),
                },
                "signedEntryTimestamp": base64.b64encode(
                    self.key.sign(rfc8785.dumps(promise), ec.ECDSA(hashes.SHA256()))
                ).decode(),
            },
        }
        return {leaves[-1].hex(): entry}

    def info(self) -> dict[str, Any]:
        """``GET /api/v1/log``: the tree head."""
        with self._lock:
            leaves = [merkle.leaf_hash(base64.b64decode(e["body"])) for e in self._entries()]
        root = merkle.root(leaves)
        return {
            "rootHash": root.hex(),
            "treeSize": len(leaves),
            "signedTreeHead": self.checkpoint(len(leaves), root),
            "treeID": str(TREE_ID),
        }
