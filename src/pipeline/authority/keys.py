"""The authority's long-lived keys: created once, kept in the state directory.

Keys persist across runs so a bundle signed yesterday still verifies against
today's trusted root; a key file is written owner-only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.errors import InputError, one_line


def load_or_create(path: Path) -> ec.EllipticCurvePrivateKey:
    """A P-256 key from ``path``, made (mode 0600) when the file is absent."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise InputError(f"the authority key {path} cannot be read: {one_line(error)}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InputError(f"the authority key {path} is not an EC key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def spki(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo, the form trusted roots carry."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SHA-256 of the SubjectPublicKeyInfo: a log's ID, an SCT's log ID, a CA's key hash."""
    return hashlib.sha256(spki(public_key)).digest()
