"""Promotion and referrers against an in-memory OCI registry on 127.0.0.1 (no Docker needed)."""

import hashlib
import json

import pytest

from pipeline import referrers, registry
from pipeline.errors import CheckFailed

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image(state, content=b'{"schemaVersion": 2, "layers": []}'):
    digest = sha(content)
    state["manifests"][digest] = content
    state["types"][digest] = MANIFEST
    return registry.parse_reference(f"{state['host']}/octo/app@{digest}")


def test_promotion_creates_keeps_and_moves_tags_and_never_moves_a_version(oci):
    first = image(oci)
    assert registry.promote(first, ("1.2.3", "1.2", "latest")) == dict.fromkeys(("1.2.3", "1.2", "latest"), "created")
    assert registry.promote(first, ("1.2.3", "1.2", "latest")) == dict.fromkeys(("1.2.3", "1.2", "latest"), "unchanged")
    second = image(oci, b'{"schemaVersion": 2, "layers": [], "x": 1}')
    assert registry.promote(second, ("1.2", "latest")) == {"1.2": "moved", "latest": "moved"}
    with pytest.raises(CheckFailed, match="refusing to move it"):
        registry.promote(second, ("1.2.3",))
    assert oci["tags"]["1.2.3"] == first.digest


def test_promotion_of_a_digest_the_registry_does_not_hold_is_refused(oci):
    missing = registry.parse_reference(f"{oci['host']}/octo/app@sha256:" + "0" * 64)
    with pytest.raises(CheckFailed, match="cannot be read"):
        registry.promote(missing, ("1.0.0",))


def test_an_attached_bundle_is_found_again_and_a_second_one_is_added(oci):
    target = image(oci)
    first = referrers.attach(target, b'{"bundle": 1}')
    assert referrers.find(target) == [(f"referrer {first[:19]}", b'{"bundle": 1}')]
    referrers.attach(target, b'{"bundle": 2}')
    assert [data for _, data in referrers.find(target)] == [b'{"bundle": 1}', b'{"bundle": 2}']
    index = json.loads(oci["manifests"][oci["tags"][f"sha256-{target.digest[7:]}"]])
    assert all(m["artifactType"] == referrers.BUNDLE_MEDIA_TYPE for m in index["manifests"])


def test_a_blob_that_does_not_match_its_digest_is_refused_not_used(oci):
    target = image(oci)
    referrers.attach(target, b'{"bundle": 1}')
    oci["corrupt"].add(sha(b'{"bundle": 1}'))
    ((origin, data),) = referrers.find(target)
    assert "does not match its digest" in origin
    assert data == b""


def test_no_attached_bundle_is_a_refusal(oci):
    with pytest.raises(CheckFailed, match="no Sigstore bundle is attached"):
        referrers.find(image(oci))


def test_the_referrers_api_is_asked_first(oci):
    target = image(oci)
    referrers.attach(target, b'{"bundle": 1}')
    oci["api"] = True
    assert [data for _, data in referrers.find(target)] == [b'{"bundle": 1}']
    # When the API answers, its answer is the answer: the tag is not read as well.
    oci["api_empty"] = True
    with pytest.raises(CheckFailed, match="no Sigstore bundle"):
        referrers.find(target)
