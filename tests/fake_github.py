"""A stateful fake of the GitHub REST API on 127.0.0.1, with fault injection.

Used in-process by the tests (the ``fake_github`` fixture) and as a process of
its own by the workflow runner (``tests/workflows/run_act.py``), which seeds it
and reads what the workflows posted through two extra routes:

- ``POST /_fake/seed``  JSON ``{"pulls": [...], "pulls_by_commit": {sha: [...]}}``
- ``GET  /_fake/state`` JSON ``{"comments": {...}, "requests": [[method, path], ...], "releases": {...},
  "attestations": {digest: count}}``

    python tests/fake_github.py --port-file PATH   (prints nothing; PATH gets the URL)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeGitHub:
    """Comments persist between calls; ``faults`` are served first, in order."""

    def __init__(self):
        self.comments: dict[int, list[dict]] = {}
        self.pulls_by_commit: dict[str, list[dict]] = {}
        self.pulls: list[dict] = []
        self.attestations: dict[str, list[dict]] = {}
        self.faults: list[tuple[int, dict[str, str]]] = []
        self.requests: list[tuple[str, str]] = []
        self.next_id = 1000
        self.login = "github-actions[bot]"
        self.per_page = 2
        self.artifacts: list[dict] = []
        # Statuses for POSTs that are applied and then answered with this error
        # (the reply is lost after GitHub created the comment).
        self.lost_replies: list[int] = []
        # Statuses for POSTs that fail before anything is applied.
        self.post_faults: list[int] = []
        self.releases: dict[str, dict] = {}  # by tag


def make_handler(state: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body=None, headers=None):
            data = json.dumps(body if body is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _page(self, items, path, query):
            match = re.search(r"(?:^|&)page=(\d+)", query)
            page = int(match.group(1)) if match else 1
            chunk = items[(page - 1) * state.per_page : page * state.per_page]
            headers = {}
            if page * state.per_page < len(items):
                host = f"http://{self.headers['Host']}"
                headers["Link"] = f'<{host}{path}?page={page + 1}>; rel="next"'
            return chunk, headers

        def _fault(self):
            if not state.faults:
                return False
            status, headers, *raw = state.faults.pop(0)
            if raw:  # a reply that is not what the API promises
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw[0])))
                self.end_headers()
                self.wfile.write(raw[0])
            else:
                self._send(status, {"message": "injected"}, headers)
            return True

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/_fake/state":
                return self._send(
                    200,
                    {
                        "comments": state.comments,
                        "requests": state.requests,
                        "releases": state.releases,
                        "attestations": {d: len(items) for d, items in state.attestations.items()},
                    },
                )
            state.requests.append(("GET", self.path))
            if self._fault():
                return None
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
                chunk, headers = self._page(state.comments.get(int(m[1]), []), path, query)
                return self._send(200, chunk, headers)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path):
                return self._send(200, state.pulls_by_commit.get(m[1], []))
            if re.fullmatch(r"/repos/[^/]+/[^/]+/pulls", path):
                return self._send(200, state.pulls)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/attestations/sha256:([0-9a-f]+)", path):
                items = state.attestations.get(m[1])
                if items is None:
                    return self._send(404, {"message": "Not Found"})
                chunk, headers = self._page(items, path, query)
                return self._send(200, {"attestations": chunk}, headers)
            if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/runs/\d+/artifacts", path):
                chunk, headers = self._page(state.artifacts, path, query)
                return self._send(200, {"total_count": len(state.artifacts), "artifacts": chunk}, headers)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/tags/([^/]+)", path):
                found = state.releases.get(m[1])
                return self._send(200, found) if found else self._send(404, {"message": "Not Found"})
            if path.startswith("/bundles/"):
                return self._send(200, json.loads(state.attestations["raw"][0]["data"]))
            return self._send(404, {"message": "Not Found"})

        def _body(self):
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def do_POST(self):
            if self.path == "/_fake/seed":
                seed = self._body()
                state.pulls = seed.get("pulls", [])
                state.pulls_by_commit = seed.get("pulls_by_commit", {})
                return self._send(200, {})
            state.requests.append(("POST", self.path))
            if self._fault():
                return None
            if state.post_faults:
                return self._send(state.post_faults.pop(0), {"message": "Server Error"})
            path, _, query = self.path.partition("?")
            if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path):
                data = self._body()
                state.next_id += 1
                host = f"http://{self.headers['Host']}"
                made = {
                    "id": state.next_id,
                    "tag_name": data["tag_name"],
                    "body": data.get("body", ""),
                    "prerelease": data.get("prerelease", False),
                    "assets": [],
                    "upload_url": f"{host}/uploads/releases/{state.next_id}/assets{{?name,label}}",
                }
                state.releases[data["tag_name"]] = made
                return self._send(201, made)
            if re.fullmatch(r"/repos/[^/]+/[^/]+/attestations", path):
                # As GitHub: the bundle is stored under every subject digest of its statement.
                bundle = self._body().get("bundle")
                try:
                    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
                    digests = [s["digest"]["sha256"] for s in payload["subject"]]
                except (TypeError, KeyError, ValueError):
                    return self._send(422, {"message": "Invalid bundle"})
                state.next_id += 1
                for digest in digests:
                    state.attestations.setdefault(digest, []).append({"bundle": bundle, "repository_id": 1})
                return self._send(201, {"id": state.next_id})
            if m := re.fullmatch(r"/uploads/releases/(\d+)/assets", path):
                name = re.search(r"(?:^|&)name=([^&]+)", query)
                length = int(self.headers.get("Content-Length", "0"))
                content = self.rfile.read(length)
                for made in state.releases.values():
                    if made["id"] == int(m[1]) and name:
                        made["assets"].append({"name": name[1], "size": len(content)})
                        return self._send(201, made["assets"][-1])
                return self._send(404, {"message": "Not Found"})
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", self.path)
            if not m:
                return self._send(404, {"message": "Not Found"})
            state.next_id += 1
            comment = {
                "id": state.next_id,
                "body": self._body()["body"],
                "user": {"login": state.login},
                "html_url": f"https://example.invalid/c/{state.next_id}",
            }
            state.comments.setdefault(int(m[1]), []).append(comment)
            if state.lost_replies:
                return self._send(state.lost_replies.pop(0), {"message": "Server Error"})
            return self._send(201, comment)

        def do_PATCH(self):
            state.requests.append(("PATCH", self.path))
            if self._fault():
                return None
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", self.path)
            for comments in state.comments.values():
                for comment in comments:
                    if m and comment["id"] == int(m[1]):
                        comment["body"] = self._body()["body"]
                        return self._send(200, comment)
            return self._send(404, {"message": "Not Found"})

    return Handler


def serve_handler(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread (the tests' fake servers)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the next poll: the default 0.5 s would be most of a test's time.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    return server, thread


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``serve_handler`` for the length of a ``with``; yields ``host:port``."""
    server, _ = serve_handler(handler)
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve(state: FakeGitHub) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start the fake GitHub for ``state``; sets ``state.url``."""
    server, thread = serve_handler(make_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port-file", required=True, help="written with the base URL once the server listens")
    args = parser.parse_args()
    state = FakeGitHub()
    state.per_page = 30
    _, thread = serve(state)
    tmp = Path(args.port_file + ".tmp")
    tmp.write_text(state.url, encoding="utf-8")
    tmp.replace(args.port_file)
    thread.join()


if __name__ == "__main__":
    main()
