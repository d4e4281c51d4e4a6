"""The trust selection as a user meets it when the local authority misbehaves.

Every answer the authority can give, however wrong, ends in one line that
names what was wrong: never a traceback, never a signature or verdict built
on it. The selection itself and the two roots' separation are tested with a
real authority in test_authority.py.
"""

from __future__ import annotations

import dataclasses
import json
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from fake_github import serving
from pipeline.errors import CheckFailed, one_line
from pipeline.trust import Trust

CLAIMS = {"repository": "octo/app"}  # the issuer's stand-in below never reads them


@pytest.fixture
def authority():
    """An authority stand-in answering every request with ``reply`` (status, body)."""
    state = {"reply": (200, b"{}"), "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state["paths"].append(self.path)
            status, body = state["reply"]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.do_GET()

    with serving(Handler) as host:
        state["trust"] = Trust(local_url=f"http://{host}")
        yield state


def refusal(call) -> str:
    with pytest.raises(CheckFailed) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    assert len(message) < 400, message
    return message


def test_each_instance_is_described_as_what_it_is():
    assert Trust().describe() == "Sigstore's public-good instance"
    assert Trust(offline=True).describe() == "Sigstore's public-good instance (offline root)"
    local = Trust(local_url="http://127.0.0.1:5010")
    assert local.describe() == "the local test authority at http://127.0.0.1:5010 (trusted nowhere else)"


def test_a_selected_trust_cannot_be_changed_afterwards():
    chosen = Trust(local_url="http://127.0.0.1:5010")
    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.local_url = ""  # type: ignore[misc]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",  # not JSON
        b"[1, 2]",  # JSON, not an object
        json.dumps({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v9+json"}).encode(),
    ],
    ids=["not-json", "not-an-object", "another-format"],
)
def test_a_malformed_trust_root_is_one_line(authority, body):
    authority["reply"] = (200, body)
    message = refusal(authority["trust"].verifier)
    assert message.startswith("the local Sigstore authority's trust root is malformed: ")
    assert authority["paths"] == ["/trust_config.json"]


def test_a_well_formed_root_without_the_keys_verification_needs_is_unusable(local_authority, authority):
    config = requests.get(f"{local_authority.url}/trust_config.json", timeout=10).json()
    config["trustedRoot"]["tlogs"] = []  # no transparency log to check inclusion against
    authority["reply"] = (200, json.dumps(config).encode())
    message = refusal(authority["trust"].verifier)
    assert message.startswith("the local Sigstore authority's trust root is unusable: ")
    assert message.endswith("no transparency log instances")


def test_a_token_from_an_issuer_that_does_not_answer_is_refused():
    trust = Trust(local_url="http://127.0.0.1:9")
    assert refusal(lambda: trust.identity_token(CLAIMS)) == ("the local OIDC issuer does not answer (ConnectionError)")


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ((502, b"<html>Bad Gateway</html>"), "HTTP 502, no token"),
        ((200, b"[]"), "HTTP 200, no token"),
        ((200, b'{"value": 7}'), "HTTP 200, no token"),
        # A failure status wins even over a token-shaped reply.
        ((500, b'{"value": "eyJ.eyJ.sig"}'), "HTTP 500, no token"),
        ((400, b'{"message": "claim ref is missing"}'), "claim ref is missing"),
        ((400, b'{"message": "   "}'), "HTTP 400, no token"),
        ((403, json.dumps({"message": "line one\nline two " + "x" * 600}).encode()), "line one line two …"),
    ],
    ids=["html", "list", "value-not-text", "error-status", "its-reason", "blank-reason", "long-reason"],
)
def test_a_token_request_that_yields_no_token_says_why_in_one_line(authority, reply, detail):
    authority["reply"] = reply
    message = refusal(lambda: authority["trust"].identity_token(CLAIMS))
    assert message.startswith(f"the local OIDC issuer refused the token request: {detail}")


def test_a_token_that_is_not_a_jwt_is_unusable(authority):
    authority["reply"] = (200, b'{"value": "not-a-jwt"}')
    message = refusal(lambda: authority["trust"].identity_token(CLAIMS))
    assert message.startswith("the local OIDC issuer's token is unusable: ")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short\n  and\tspaced", 240, "short and spaced"),
        ("a" * 10, 10, "a" * 10),  # exactly at the limit: whole
        ("one two three", 9, "one two …"),  # cut at a word, marked
        ("one, two", 6, "one …"),  # no dangling comma before the mark
    ],
)
def test_one_line(text, limit, expected):
    assert one_line(text, limit) == expected
