"""The registry client's security decisions, each against a live server on 127.0.0.1.

Where the token goes, which reference and tag is accepted, which tag never
moves, what promotion checks before and after writing, which referrers count
as Sigstore bundles: every case was a hand-made mutant the suite let through.
"""

import hashlib
import json
from http.server import BaseHTTPRequestHandler

import pytest

from fake_github import serving
from pipeline import referrers, registry
from pipeline.errors import CheckFailed, InputError

DIGEST = "sha256:" + "f" * 64
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def realm():
    """A token service on its own port (another host than the registry): records what it was sent."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            body = b'{"token": "t0k"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as host:
        yield host, seen


@pytest.fixture
def challenger():
    """A registry that answers 401 naming the realm the test chooses, and the digest once given "Bearer t0k"."""
    state = {"realm": ""}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_HEAD(self):
            if self.headers.get("Authorization") != "Bearer t0k":
                self.send_response(401)
                self.send_header("WWW-Authenticate", f'Bearer realm="{state["realm"]}",service="reg"')
            else:
                self.send_response(200)
                self.send_header("Docker-Content-Digest", DIGEST)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as host:
        state["host"] = host
        yield state


def test_the_token_never_goes_to_a_realm_on_another_host(challenger, realm):
    host, seen = realm
    challenger["realm"] = f"http://{host}/token"
    resolved = registry.resolve(registry.parse_reference(f"{challenger['host']}/octo/app:v1"), token="ghs_secret")
    assert resolved.digest == DIGEST  # an anonymous token from that realm still works
    assert seen == [None]


@pytest.mark.parametrize("scheme", ["https", "ftp", "file"])
def test_a_realm_on_loopback_must_use_plain_http_like_the_registry(challenger, realm, scheme):
    host, seen = realm
    challenger["realm"] = f"{scheme}://{host}/token"
    with pytest.raises(CheckFailed, match="unusable realm"):
        registry.resolve(registry.parse_reference(f"{challenger['host']}/octo/app:v1"), token="ghs_secret")
    assert seen == []


def test_a_realm_without_a_host_is_unusable(challenger):
    challenger["realm"] = "http:///token"
    with pytest.raises(CheckFailed, match="unusable realm"):
        registry.resolve(registry.parse_reference(f"{challenger['host']}/octo/app:v1"), token="ghs_secret")


@pytest.mark.parametrize(
    ("host", "scheme"),
    [
        ("127.0.0.1:5000", "http"),
        ("localhost:5000", "http"),
        ("127.0.0.1", "http"),
        ("ghcr.io", "https"),
        ("127.0.0.1.evil.example", "https"),
        ("localhost.evil.example:80", "https"),
        ("127.0.0.2:5000", "https"),
    ],
)
def test_plain_http_only_for_this_machine(host, scheme):
    assert registry._scheme(host) == scheme


@pytest.mark.parametrize(
    "text",
    [
        "ghcr.io/octo/app:v1 x",
        "ghcr.io/octo/app:v1\nx",
        "ghcr.io/octo/app:v1@sha256:abc",
        f"ghcr.io/octo/app@{DIGEST}x",
        f"ghcr.io/octo/app@{DIGEST.upper()}",
        "ghcr.io/octo/app:" + "a" * 129,
        "ghcr.io/octo/app:.x",
    ],
)
def test_a_reference_is_refused_unless_it_is_one_whole_reference(text):
    with pytest.raises(InputError, match="not a registry/name:tag"):
        registry.parse_reference(text)


def image(state, content=b'{"schemaVersion": 2, "layers": []}'):
    digest = sha(content)
    state["manifests"][digest] = content
    state["types"][digest] = MANIFEST
    return registry.parse_reference(f"{state['host']}/octo/app@{digest}")


@pytest.mark.parametrize("tag", ["", "bad tag", ".x", "a" * 129, "x/y", "1.2.3:latest"])
def test_promotion_refuses_a_tag_that_is_not_a_tag_before_any_write(oci, tag):
    pinned = image(oci)
    with pytest.raises(InputError, match="not an image tag"):
        registry.promote(pinned, ("1.0", tag))
    assert oci["tags"] == {}


def test_promotion_needs_a_digest(oci):
    with pytest.raises(InputError, match="promote needs name@sha256"):
        registry.promote(registry.parse_reference(f"{oci['host']}/octo/app:v1"), ("1.0",))


@pytest.mark.parametrize("version", ["1.2.3", "1.2.3rc1", "1.2.3a0", "0.1.0b2"])
def test_a_release_version_tag_never_moves_to_other_content(oci, version):
    first, second = image(oci), image(oci, b'{"schemaVersion": 2, "layers": [], "x": 1}')
    assert registry.promote(first, (version,)) == {version: "created"}
    with pytest.raises(CheckFailed, match="refusing to move it"):
        registry.promote(second, (version,))
    assert oci["tags"][version] == first.digest


@pytest.mark.parametrize("tag", ["1.2", "latest", "v1.2.3", "1.2.3.4", "sha-x"])
def test_tags_that_are_not_a_release_version_move(oci, tag):
    first, second = image(oci), image(oci, b'{"schemaVersion": 2, "layers": [], "x": 1}')
    registry.promote(first, (tag,))
    assert registry.promote(second, (tag,)) == {tag: "moved"}


def test_a_tag_that_does_not_resolve_to_the_digest_after_promotion_fails(oci):
    pinned = image(oci)
    oci["rewrite"] = True
    with pytest.raises(CheckFailed, match=r"1\.0 does not resolve to sha256:.* after promotion"):
        registry.promote(pinned, ("1.0",))


def test_a_refused_tag_write_is_named_with_its_status(oci):
    pinned = image(oci)
    oci["refuse_put"] = 403
    with pytest.raises(CheckFailed, match=r"the registry refused .*:1\.0 \(HTTP 403\)"):
        registry.promote(pinned, ("1.0",))


def test_a_manifest_whose_bytes_do_not_match_its_digest_is_never_written_under_a_tag(oci):
    pinned = image(oci)
    oci["corrupt_manifests"].add(pinned.digest)
    with pytest.raises(CheckFailed, match="bytes do not match that digest"):
        registry.promote(pinned, ("1.0",))
    assert oci["tags"] == {}


def _retype(oci, target, *, artifact_type=None, layer_type=None):
    """Rewrite the referrers index (and the artifact manifest) the way another tool might have written them."""
    tag = f"sha256-{target.digest[7:]}"
    index = json.loads(oci["manifests"][oci["tags"][tag]])
    for entry in index["manifests"]:
        manifest = json.loads(oci["manifests"][entry["digest"]])
        if layer_type:
            manifest["layers"][0]["mediaType"] = layer_type
        body = json.dumps(manifest).encode()
        oci["manifests"][sha(body)] = body
        oci["types"][sha(body)] = MANIFEST
        entry["digest"] = sha(body)
        if artifact_type:
            entry["artifactType"] = artifact_type
    body = json.dumps(index).encode()
    oci["manifests"][sha(body)] = body
    oci["types"][sha(body)] = referrers.INDEX
    oci["tags"][tag] = sha(body)


def test_a_referrer_of_another_artifact_type_is_not_a_bundle(oci):
    target = image(oci)
    referrers.attach(target, b'{"bundle": 1}')
    _retype(oci, target, artifact_type="application/spdx+json")
    with pytest.raises(CheckFailed, match="no Sigstore bundle is attached"):
        referrers.find(target)


def test_a_layer_of_another_media_type_is_not_a_bundle(oci):
    target = image(oci)
    referrers.attach(target, b'{"bundle": 1}')
    _retype(oci, target, layer_type="application/vnd.in-toto+json")
    with pytest.raises(CheckFailed, match="no Sigstore bundle is attached"):
        referrers.find(target)


def test_reading_referrers_needs_a_whole_digest():
    short = registry.Reference("127.0.0.1:9", "octo/app", "", "sha256:abc")
    with pytest.raises(InputError, match="needs name@sha256"):
        referrers.find(short)


def test_a_blob_larger_than_the_limit_is_refused_unread(oci, monkeypatch):
    target = image(oci)
    referrers.attach(target, b'{"bundle": "' + b"x" * 64 + b'"}')
    monkeypatch.setattr(referrers, "MAX_BLOB", 32)
    ((origin, data),) = referrers.find(target)
    assert origin.endswith("(blob larger than 32 bytes)")
    assert data == b""


def _rewritten_sorting(order):
    """An image whose tag, once written through ``rewrite``, names a digest sorting ``order`` its own."""
    for i in range(100):
        content = b'{"schemaVersion": 2, "layers": [], "n": %d}' % i
        if order(hashlib.sha256(content + b"\n").hexdigest(), hashlib.sha256(content).hexdigest()):
            return content
    raise AssertionError("no such content in 100 tries")


@pytest.mark.parametrize("order", [str.__lt__, str.__gt__], ids=["sorting-before", "sorting-after"])
def test_after_promotion_any_other_digest_fails_whichever_way_it_sorts(oci, order):
    pinned = image(oci, _rewritten_sorting(order))
    oci["rewrite"] = True
    with pytest.raises(CheckFailed, match=rf"1\.0 does not resolve to {pinned.digest} after promotion"):
        registry.promote(pinned, ("1.0",))


def test_a_bad_reference_is_quoted_to_120_characters():
    with pytest.raises(InputError) as refused:
        registry.parse_reference("Z" * 300)
    assert str(refused.value).endswith(f"reference: {'Z' * 120!r}")


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_a_token_reply_with_an_error_status_is_refused_even_if_it_holds_a_token(challenger, status):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b'{"token": "t0k"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as host:
        challenger["realm"] = f"http://{host}/token"
        with pytest.raises(CheckFailed, match=rf"refused a pull token \(HTTP {status}\)"):
            registry.resolve(registry.parse_reference(f"{challenger['host']}/octo/app:v1"))


def test_a_bad_promotion_tag_is_quoted_to_130_characters(oci):
    with pytest.raises(InputError) as refused:
        registry.promote(image(oci), ("-" * 300,))
    assert str(refused.value) == f"not an image tag: {'-' * 130!r}"


@pytest.mark.parametrize("status", [400, 404, 500])
def test_a_refused_tag_write_is_named_with_any_error_status(oci, status):
    pinned = image(oci)
    oci["refuse_put"] = status
    with pytest.raises(CheckFailed, match=rf"the registry refused .*:1\.0 \(HTTP {status}\)"):
        registry.promote(pinned, ("1.0",))
    assert oci["tags"] == {}


def _content_where(order, altered):
    """A manifest whose altered bytes hash to a digest sorting ``order`` its own."""
    for i in range(100):
        content = b'{"schemaVersion": 2, "layers": [], "m": %d}' % i
        if order(hashlib.sha256(altered(content)).hexdigest(), hashlib.sha256(content).hexdigest()):
            return content
    raise AssertionError("no such content in 100 tries")


ORDERS = pytest.mark.parametrize("order", [str.__lt__, str.__gt__], ids=["sorting-before", "sorting-after"])


@ORDERS
def test_manifest_bytes_of_any_other_digest_are_never_written(oci, order):
    pinned = image(oci, _content_where(order, lambda c: c + b" "))
    oci["corrupt_manifests"].add(pinned.digest)
    with pytest.raises(CheckFailed, match="bytes do not match that digest"):
        registry.promote(pinned, ("1.0",))
    assert oci["tags"] == {}


@ORDERS
def test_a_version_tag_naming_any_other_digest_is_never_moved(oci, order):
    # The tag's current digest sorts before or after the new one: only equality is "unchanged".
    other = b'{"schemaVersion": 2, "layers": [], "other": true}'
    new = _content_where(lambda new_hex, _: order(hashlib.sha256(other).hexdigest(), new_hex), lambda c: c)
    first, second = image(oci, other), image(oci, new)
    registry.promote(first, ("1.2.3",))
    with pytest.raises(CheckFailed, match="refusing to move it"):
        registry.promote(second, ("1.2.3",))
    assert oci["tags"]["1.2.3"] == first.digest


def test_the_tag_is_written_with_the_bare_media_type(oci):
    pinned = image(oci)
    oci["types"][pinned.digest] = f"{MANIFEST}; charset=utf-8"
    registry.promote(pinned, ("1.0",))
    assert oci["types"][oci["tags"]["1.0"]] == MANIFEST


@pytest.mark.parametrize("status", [400, 404, 500])
def test_a_manifest_that_cannot_be_read_is_named_with_its_status(status):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as host:
        pinned = registry.parse_reference(f"{host}/octo/app@sha256:{'a' * 64}")
        with pytest.raises(CheckFailed, match=rf"cannot be read from the registry \(HTTP {status}\)"):
            registry.promote(pinned, ("1.0",))


def test_a_parsed_reference_cannot_be_changed_afterwards():
    import dataclasses  # noqa: PLC0415

    ref = registry.parse_reference(f"127.0.0.1:5000/octo/app@sha256:{'a' * 64}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.digest = f"sha256:{'b' * 64}"  # type: ignore[misc]
    assert ref.pinned == f"127.0.0.1:5000/octo/app@sha256:{'a' * 64}"
