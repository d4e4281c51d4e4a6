"""Digest resolution against a registry on 127.0.0.1 that asks for a token."""

from http.server import BaseHTTPRequestHandler

import pytest

from fake_github import serving
from pipeline import registry
from pipeline.errors import CheckFailed, InputError

DIGEST = "sha256:" + "f" * 64


@pytest.fixture
def fake_registry():
    state = {"auth": [], "token_reply": b'{"token": "t0k"}', "digest": DIGEST, "realm": None}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_HEAD(self):
            if state.get("head_status"):
                self.send_response(state["head_status"])
                self.end_headers()
                return
            if self.path.endswith("/manifests/missing"):
                self.send_response(404)
                self.end_headers()
                return
            if self.headers.get("Authorization") != "Bearer t0k":
                self.send_response(401)
                realm = state["realm"] or f"http://{self.headers['Host']}/token"
                self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="reg"')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Docker-Content-Digest", state["digest"])
            self.end_headers()

        def do_GET(self):
            state["auth"].append(self.headers.get("Authorization"))
            self.send_response(state.get("token_status", 200))
            self.send_header("Content-Length", str(len(state["token_reply"])))
            self.end_headers()
            self.wfile.write(state["token_reply"])

    with serving(Handler) as host:
        state["host"] = host
        yield state


def ref(state, tag="v1"):
    return registry.parse_reference(f"{state['host']}/octo/app:{tag}")


def test_token_dance_then_digest(fake_registry):
    resolved = registry.resolve(ref(fake_registry), token="secret")
    assert resolved.digest == DIGEST
    assert resolved.pinned == f"{fake_registry['host']}/octo/app@{DIGEST}"
    assert fake_registry["auth"][0].startswith("Basic ")  # credentials to the registry's own realm


def test_credentials_never_go_to_another_host(fake_registry):
    fake_registry["realm"] = "http://localhost:1/token"
    with pytest.raises(CheckFailed, match="cannot reach"):
        registry.resolve(ref(fake_registry), token="secret")
    fake_registry["realm"] = "ftp://x/token"
    with pytest.raises(CheckFailed, match="unusable realm"):
        registry.resolve(ref(fake_registry), token="secret")


@pytest.mark.parametrize(
    ("reply", "message"), [(b"not json", "unreadable token"), (b"{}", "no token"), (b"[]", "unreadable")]
)
def test_bad_token_replies(fake_registry, reply, message):
    fake_registry["token_reply"] = reply
    with pytest.raises(CheckFailed, match=message):
        registry.resolve(ref(fake_registry))


def test_missing_tag_and_bad_digest(fake_registry):
    with pytest.raises(CheckFailed, match="does not exist"):
        registry.resolve(ref(fake_registry, "missing"))
    fake_registry["digest"] = "md5:x"
    with pytest.raises(CheckFailed, match="no usable digest"):
        registry.resolve(ref(fake_registry))


def test_a_pinned_reference_is_not_resolved_again():
    pinned = registry.parse_reference(f"ghcr.io/octo/app@{DIGEST}")
    assert registry.resolve(pinned) is pinned


@pytest.mark.parametrize("text", ["app", "ghcr.io/octo/app", "ghcr.io/Octo/app:v1", "ghcr.io/o/a:-x"])
def test_references_must_be_fully_qualified(text):
    with pytest.raises(InputError):
        registry.parse_reference(text)


def test_registry_and_token_errors(fake_registry):
    fake_registry["token_status"] = 401
    with pytest.raises(CheckFailed, match=r"refused a pull token \(HTTP 401\)"):
        registry.resolve(ref(fake_registry))
    fake_registry["head_status"] = 500
    with pytest.raises(CheckFailed, match="answered HTTP 500"):
        registry.resolve(ref(fake_registry))


def test_referrers_need_a_digest_and_a_reachable_registry():
    from pipeline import referrers  # noqa: PLC0415
    from pipeline.errors import CheckFailed, InputError  # noqa: PLC0415

    with pytest.raises(InputError, match="needs name@sha256"):
        referrers.find(registry.parse_reference("127.0.0.1:9/o/r:tag"))
    with pytest.raises(CheckFailed, match="cannot reach the registry"):
        referrers.find(registry.parse_reference("127.0.0.1:9/o/r@sha256:" + "a" * 64))
