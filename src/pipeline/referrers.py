"""Sigstore bundles stored next to an image in its registry, as cosign and admission controllers read them.

``actions/attest`` with ``push-to-registry`` stores each attestation as an OCI
artifact whose ``subject`` is the image: found through the OCI referrers API
(``/v2/<name>/referrers/<digest>``) or, on registries without it, the
referrers tag schema (an index tagged ``sha256-<hex>``). ``find`` reads them;
``attach`` writes one the same way (the local platform and the tests).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3

from pipeline.errors import CheckFailed, InputError
from pipeline.grammar import DIGEST
from pipeline.registry import Reference, _scheme, _send

if TYPE_CHECKING:
    from pipeline.settings import WaitBudget

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
TIMEOUT = 30
MAX_BLOB = 10_000_000


def _base(ref: Reference) -> str:
    return f"{_scheme(ref.host)}://{ref.host}/v2/{ref.path}"


def _get(url: str, accept: str = "", *, stream: bool = False, budget: WaitBudget | None = None) -> requests.Response:
    """One read within the command's wait budget, when one is given (``registry._send``)."""
    headers = {"Accept": accept} if accept else {}
    try:
        return _send("GET", url, urlsplit(url).netloc, TIMEOUT, budget, headers=headers, stream=stream)
    except requests.RequestException as error:
        raise CheckFailed(f"cannot reach the registry: {type(error).__name__}") from None


def _index(ref: Reference, budget: WaitBudget | None = None) -> dict[str, Any]:
    """The referrers of the digest: the API first, then the tag schema; {} when none."""
    hexdigits = ref.digest.removeprefix("sha256:")
    reply = _get(f"{_base(ref)}/referrers/{ref.digest}", INDEX, budget=budget)
    if reply.status_code in {404, 405}:
        reply = _get(f"{_base(ref)}/manifests/sha256-{hexdigits}", INDEX, budget=budget)
        if reply.status_code == 404:
            return {}
    if reply.status_code >= 400:
        raise CheckFailed(f"the registry answered HTTP {reply.status_code} for the referrers of {ref.pinned}")
    try:
        data = reply.json()
    except ValueError:
        raise CheckFailed(f"the referrers of {ref.pinned} are not JSON") from None
    return data if isinstance(data, dict) else {}


def find(ref: Reference, budget: WaitBudget | None = None) -> list[tuple[str, bytes]]:
    """Every Sigstore bundle attached to the image digest, as ``(origin, bytes)``.

    A blob whose bytes do not match its digest is refused (the registry is not trusted);
    the bundles themselves are then verified like any other.
    """
    if not DIGEST.fullmatch(ref.digest):
        raise InputError("reading referrers needs name@sha256:...")
    found = []
    for item in _index(ref, budget).get("manifests") or []:
        if not isinstance(item, dict) or not DIGEST.fullmatch(str(item.get("digest", ""))):
            continue
        if item.get("artifactType") not in (None, BUNDLE_MEDIA_TYPE):
            continue
        manifest = _get(f"{_base(ref)}/manifests/{item['digest']}", MANIFEST, budget=budget)
        if manifest.status_code >= 400:
            continue
        try:
            layers = manifest.json().get("layers") or []
        except (ValueError, AttributeError):
            continue
        for layer in layers:
            if not isinstance(layer, dict) or layer.get("mediaType") != BUNDLE_MEDIA_TYPE:
                continue
            digest = str(layer.get("digest", ""))
            if not DIGEST.fullmatch(digest):
                continue
            data, why = _blob(f"{_base(ref)}/blobs/{digest}", digest, budget)
            found.append((f"referrer {item['digest'][:19]}{why}", data))
    if not found:
        raise CheckFailed(f"refused: no Sigstore bundle is attached to {ref.pinned} in the registry")
    return found


def _blob(url: str, digest: str, budget: WaitBudget | None = None) -> tuple[bytes, str]:
    """A bundle blob read to at most ``MAX_BLOB`` bytes: ``(bytes, "")``, or ``(b"", " (why not)")``.

    Memory stays bounded whatever the registry sends; bytes that do not hash
    to the digest the manifest names are never used.
    """
    with _get(url, stream=True, budget=budget) as blob:
        if blob.status_code >= 400:
            return b"", f" (blob: HTTP {blob.status_code})"
        try:
            data = blob.raw.read(MAX_BLOB + 1, decode_content=True)
        except (OSError, requests.RequestException, urllib3.exceptions.HTTPError) as error:
            return b"", f" (blob unreadable: {type(error).__name__})"
    if len(data) > MAX_BLOB:
        return b"", f" (blob larger than {MAX_BLOB} bytes)"
    if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
        return b"", " (blob does not match its digest)"
    return data, ""


def _upload(ref: Reference, data: bytes) -> str:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    start = requests.post(f"{_base(ref)}/blobs/uploads/", timeout=TIMEOUT)
    location = start.headers.get("Location", "")
    if start.status_code >= 400 or not location:
        raise CheckFailed(f"the registry refused a blob upload (HTTP {start.status_code})")
    if location.startswith("/"):
        location = f"{_scheme(ref.host)}://{ref.host}{location}"
    joiner = "&" if "?" in location else "?"
    done = requests.put(f"{location}{joiner}digest={digest}", data=data, timeout=TIMEOUT)
    if done.status_code >= 400:
        raise CheckFailed(f"the registry refused the blob {digest} (HTTP {done.status_code})")
    return digest


def attach(ref: Reference, bundle: bytes) -> str:
    """Store a bundle as an OCI artifact whose subject is the image; returns its digest."""
    subject = requests.head(
        f"{_base(ref)}/manifests/{ref.digest}",
        headers={"Accept": ", ".join([MANIFEST, INDEX, "application/vnd.docker.distribution.manifest.v2+json"])},
        timeout=TIMEOUT,
    )
    if subject.status_code >= 400 and subject.status_code != 404:
        raise CheckFailed(f"the registry answered HTTP {subject.status_code} for {ref.pinned}")
    # A subject the registry does not hold is allowed (a dangling referrer, as
    # the OCI spec permits): the descriptor then names only its digest.
    config = _upload(ref, b"{}")
    layer = _upload(ref, bundle)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": EMPTY, "digest": config, "size": 2},
        "layers": [{"mediaType": BUNDLE_MEDIA_TYPE, "digest": layer, "size": len(bundle)}],
        "subject": {
            "mediaType": subject.headers.get("Content-Type", MANIFEST).split(";")[0],
            "digest": ref.digest,
            "size": int(subject.headers.get("Content-Length", "0") or 0),
        },
    }
    body = json.dumps(manifest).encode()
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    put = requests.put(
        f"{_base(ref)}/manifests/{digest}", data=body, headers={"Content-Type": MANIFEST}, timeout=TIMEOUT
    )
    if put.status_code >= 400:
        raise CheckFailed(f"the registry refused the attestation manifest (HTTP {put.status_code})")
    # The referrers tag schema, for registries without the referrers API.
    index = _index(ref) or {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    entries = [m for m in index.get("manifests") or [] if isinstance(m, dict) and m.get("digest") != digest]
    entries.append({"mediaType": MANIFEST, "digest": digest, "size": len(body), "artifactType": BUNDLE_MEDIA_TYPE})
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    tag = f"sha256-{ref.digest.removeprefix('sha256:')}"
    payload = json.dumps(index).encode()
    put = requests.put(f"{_base(ref)}/manifests/{tag}", data=payload, headers={"Content-Type": INDEX}, timeout=TIMEOUT)
    if put.status_code >= 400:
        raise CheckFailed(f"the registry refused the referrers index (HTTP {put.status_code})")
    return digest
