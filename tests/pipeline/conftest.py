"""Fixtures of the pipeline tests: an in-memory OCI registry on 127.0.0.1."""

import hashlib
import re
from http.server import BaseHTTPRequestHandler

import pytest

from fake_github import serving


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def oci():
    """Manifests by digest and tag, blobs, uploads; the referrers API answers 404 (like distribution 2.x).

    Faults a test may switch on: ``corrupt`` (blob digests served with other
    bytes), ``corrupt_manifests`` (manifest digests served with other bytes),
    ``refuse_put`` (an HTTP status for every tag write), ``rewrite`` (a tag
    write stores other bytes than those sent, as a registry converting
    manifests would).
    """
    state = {"manifests": {}, "types": {}, "tags": {}, "blobs": {}, "corrupt": set(), "corrupt_manifests": set()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, status, body=b"", headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _manifest(self, reference):
            digest = state["tags"].get(reference, reference)
            return digest, state["manifests"].get(digest)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = self.path.split("?")[0]
            if (m := re.fullmatch(r"/v2/(.+)/referrers/sha256:([0-9a-f]+)", path)) and state.get("api"):
                _, body = self._manifest(f"sha256-{m[2]}")  # the API's answer: the same index, or none
                body = b'{"manifests": []}' if state.get("api_empty") or not body else body
                return self._reply(200, body, {"Content-Type": "application/vnd.oci.image.index.v1+json"})
            if m := re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path):
                digest, body = self._manifest(m[2])
                if body is None:
                    return self._reply(404)
                headers = {"Docker-Content-Digest": digest, "Content-Type": state["types"][digest]}
                return self._reply(200, body + b" " if digest in state["corrupt_manifests"] else body, headers)
            if m := re.fullmatch(r"/v2/(.+)/blobs/(sha256:[0-9a-f]+)", path):
                blob = state["blobs"].get(m[2])
                if blob is None:
                    return self._reply(404)
                return self._reply(200, b"tampered" if m[2] in state["corrupt"] else blob)
            return self._reply(404)

        def do_POST(self):
            return self._reply(202, headers={"Location": "/v2/upload/1"})

        def do_PUT(self):
            path, _, query = self.path.partition("?")
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if path == "/v2/upload/1":
                state["blobs"][re.search(r"digest=([^&]+)", query)[1]] = data
                return self._reply(201)
            if m := re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path):
                if state.get("refuse_put") and not m[2].startswith(("sha256:", "sha256-")):
                    return self._reply(state["refuse_put"])
                if state.get("rewrite") and not m[2].startswith(("sha256:", "sha256-")):
                    data += b"\n"
                digest = sha(data)
                state["manifests"][digest] = data
                state["types"][digest] = self.headers.get("Content-Type", "")
                if not m[2].startswith("sha256:"):
                    state["tags"][m[2]] = digest
                return self._reply(201, headers={"Docker-Content-Digest": digest})
            return self._reply(404)

    with serving(Handler) as host:
        state["host"] = host
        yield state
