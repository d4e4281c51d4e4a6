"""The local Fulcio: a root CA that turns a checked token into a short-lived leaf.

The leaf is what sigstore's verifier insists on from the real Fulcio: empty
subject and a critical URI SAN (the workflow), digitalSignature and
codeSigning, an authority key identifier, the Fulcio identity extensions in
both encodings, and exactly one embedded precertificate SCT from a CT key in
the trusted root. ``cryptography`` cannot build SCTs, so the TLS structure of
RFC 6962 is encoded here.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.authority import keys
from pipeline.errors import CheckFailed
from pipeline.trust import LOCAL_ISSUER

LEAF_LIFETIME = dt.timedelta(minutes=10)  # as Fulcio's
ROOT_LIFETIME = dt.timedelta(days=3650)
SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_FULCIO = "1.3.6.1.4.1.57264.1."


def _der_utf8(text: str) -> bytes:
    """A DER UTF8String (the encoding of Fulcio's newer extensions)."""
    data = text.encode()
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data


def _der_octets(data: bytes) -> bytes:
    """A DER OCTET STRING (the SCT list's wrapping)."""
    if len(data) < 0x80:
        return bytes([0x04, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x04, 0x80 | len(size)]) + size + data


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    """DigitalSignature for a leaf; keyCertSign and cRLSign for the root."""
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def root_certificate(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    """The self-signed root every local leaf chains to."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "local test authority (trusted nowhere else)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sample-pipeline local Fulcio"),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def identity_extensions(claims: Mapping[str, str], server_url: str) -> list[tuple[str, bytes]]:
    """Fulcio's GitHub Actions mapping: token claims to certificate extensions."""
    repository_uri = f"{server_url}/{claims['repository']}"
    raw = [
        ("1", LOCAL_ISSUER),
        ("2", claims["event_name"]),
        ("3", claims["sha"]),
        ("4", claims["workflow_ref"].split("@")[0].rsplit("/", 1)[-1]),
        ("5", claims["repository"]),
        ("6", claims["ref"]),
    ]
    utf8 = [
        ("8", LOCAL_ISSUER),
        ("9", f"{server_url}/{claims['job_workflow_ref']}"),
        ("10", claims["job_workflow_sha"]),
        ("11", claims["runner_environment"]),
        ("12", repository_uri),
        ("13", claims["sha"]),
        ("14", claims["ref"]),
        ("15", claims["repository_id"]),
        ("16", f"{server_url}/{claims['repository_owner']}"),
        ("17", claims["repository_owner_id"]),
        ("18", f"{server_url}/{claims['workflow_ref']}"),
        ("19", claims["workflow_sha"]),
        ("20", claims["event_name"]),
        ("21", f"{repository_uri}/actions/runs/{claims['run_id']}/attempts/{claims['run_attempt']}"),
        ("22", claims["repository_visibility"]),
    ]
    return [(_FULCIO + n, v.encode()) for n, v in raw] + [(_FULCIO + n, _der_utf8(v)) for n, v in utf8]


def sct_list(
    ct_key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePublicKey, tbs: bytes, when: dt.datetime
) -> bytes:
    """One precertificate SCT (RFC 6962, 3.2) over ``tbs``, as a TLS SCT list."""
    timestamp = int(when.timestamp() * 1000)
    entry = keys.key_id(issuer_key) + len(tbs).to_bytes(3, "big") + tbs
    signed = struct.pack("!BBQH", 0, 0, timestamp, 1) + entry + struct.pack("!H", 0)
    signature = ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    sct = (
        bytes([0])
        + keys.key_id(ct_key.public_key())
        + struct.pack("!QH", timestamp, 0)
        + bytes([4, 3])  # sha256, ecdsa
        + struct.pack("!H", len(signature))
        + signature
    )
    items = struct.pack("!H", len(sct)) + sct
    return struct.pack("!H", len(items)) + items


def issue(
    csr: x509.CertificateSigningRequest,
    claims: Mapping[str, str],
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_certificate: x509.Certificate,
    ct_key: ec.EllipticCurvePrivateKey,
    server_url: str,
    now: dt.datetime,
) -> x509.Certificate:
    """A leaf for the CSR's key, naming the token's workflow; the CSR proves possession."""
    public = csr.public_key()
    # sigstore's signer and verifier speak ECDSA with SHA-256 (P-256) here.
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(csr.signature_hash_algorithm, hashes.SHA256):
        raise CheckFailed("the certificate request must hold an EC key and be signed with ECDSA SHA-256")
    if not csr.is_signature_valid:
        raise CheckFailed("the certificate request's signature does not verify (no proof of key possession)")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + LEAF_LIFETIME)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"{server_url}/{claims['job_workflow_ref']}")]),
            critical=True,
        )
    )
    for oid, value in identity_extensions(claims, server_url):
        builder = builder.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False)
    # The precertificate is this TBS without the SCT list; the SCT goes last.
    precertificate = builder.sign(ca_key, hashes.SHA256())
    scts = sct_list(ct_key, ca_key.public_key(), precertificate.tbs_certificate_bytes, now)
    final = builder.add_extension(x509.UnrecognizedExtension(SCT_LIST_OID, _der_octets(scts)), critical=False)
    return final.sign(ca_key, hashes.SHA256())
