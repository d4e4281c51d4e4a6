"""A stateful fake of the GitHub REST API on 127.0.0.1, with fault injection.

Used in-process by the tests (the ``fake_github`` fixture) and as a process of
its own by the workflow runner (``tests/workflows/run_act.py``), which seeds it
and reads what the workflows posted through two extra routes:

- ``POST /_fake/seed``  JSON ``{"pulls": [...], "pulls_by_commit": {sha: [...]}, "commits": {sha: {...}}}``
- ``GET  /_fake/state`` JSON ``{"comments": {...}, "requests": [[method, path], ...], "releases": {...},
  "attestations": {digest: count}}`` (``releases``: by tag, the published one before a draft)

Releases are modelled as GitHub keeps them: drafts (listed by ``GET /releases``
only; ``GET /releases/tags/{tag}`` answers 404 for a draft), several drafts of
one tag, assets with ``state`` and ``digest`` ("sha256:...", GitHub's field since
2025; ``asset_digests = False`` models the API before it), a 422 for an upload
under a name that is taken, ``PATCH`` to publish, ``DELETE`` of assets and
releases. Faults, besides ``faults`` (served before anything):

- ``post_faults``: statuses for POSTs refused before anything is applied;
- ``lost_replies``: for POSTs that are applied, then answered with this
  status, or ``"reset"`` (the connection is closed without a reply), or
  ``("hold", seconds)`` (held that long, then applied and answered: a client
  with a shorter timeout has given up by then);
- ``partial_uploads``: uploads stored as an incomplete asset (``state:
  "starter"``, half the bytes), then the connection is reset;
- ``hangs``: seconds the next requests wait before they are served (an API
  that hangs); ``unblock`` (an Event) ends every wait at once;
- ``list_lag``: seconds a new comment, release or asset stays out of lists
  (GitHub's lists are eventually consistent).

    python tests/fake_github.py --port-file PATH   (prints nothing; PATH gets the URL)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeGitHub:
    """Comments persist between calls; ``faults`` are served first, in order."""

    def __init__(self):
        self.comments: dict[int, list[dict]] = {}
        self.pulls_by_commit: dict[str, list[dict]] = {}
        self.pulls: list[dict] = []
        # sha -> {"sha": ..., "parents": [{"sha": ...}, ...]} (GET /repos/{o}/{r}/commits/{sha})
        self.commits: dict[str, dict] = {}
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
        # By the number of the POST (1 = the first): refused before it is applied with
        # this status; or applied, then answered as a ``lost_replies`` item says.
        self.refuse_posts: dict[int, int] = {}
        self.lose_posts: dict[int, object] = {}
        self.post_count = 0
        self.release_list: list[dict] = []  # in creation order; drafts too
        self.asset_bytes: dict[int, bytes] = {}
        self.asset_digests = True
        self.partial_uploads = 0
        self.hangs: list[float] = []
        self.unblock = threading.Event()
        self.list_lag = 0.0
        self.created_at: dict[int, float] = {}

    @property
    def releases(self) -> dict[str, dict]:
        """By tag: the published release, else the newest draft (what the tests read)."""
        found: dict[str, dict] = {}
        for made in self.release_list:
            if made["tag_name"] not in found or found[made["tag_name"]]["draft"]:
                found[made["tag_name"]] = made
        return found

    def new_id(self) -> int:
        self.next_id += 1
        self.created_at[self.next_id] = time.monotonic()
        return self.next_id

    def listed(self, items: list[dict]) -> list[dict]:
        """What a list shows: items older than ``list_lag``."""
        if not self.list_lag:
            return items
        now = time.monotonic()
        return [i for i in items if now - self.created_at.get(i.get("id", 0), 0.0) >= self.list_lag]

    def add_release(self, tag: str, *, draft: bool = False, host: str = "", **fields) -> dict:
        """A release as GitHub stores it (tests seed with it too)."""
        made_id = self.new_id()
        made = {
            "id": made_id,
            "tag_name": tag,
            "name": fields.get("name", tag),
            "body": fields.get("body", ""),
            "prerelease": fields.get("prerelease", False),
            "draft": draft,
            "assets": [],
            "upload_url": f"{host or self.url}/uploads/releases/{made_id}/assets{{?name,label}}",
        }
        self.release_list.append(made)
        return made

    def add_asset(self, release: dict, name: str, content: bytes, *, state: str = "uploaded", host: str = "") -> dict:
        """An asset of ``release`` with GitHub's fields."""
        asset_id = self.new_id()
        base = host or self.url
        asset = {
            "id": asset_id,
            "name": name,
            "size": len(content),
            "state": state,
            "url": f"{base}/repos/octo/app/releases/assets/{asset_id}",
            "browser_download_url": f"{base}/downloads/{asset_id}/{name}",
        }
        if self.asset_digests:
            asset["digest"] = "sha256:" + hashlib.sha256(content).hexdigest()
        self.asset_bytes[asset_id] = content
        release["assets"].append(asset)
        return asset


def make_handler(state: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body=None, headers=None):
            data = b"" if status == 204 else json.dumps(body if body is not None else {}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (its timeout): as GitHub, the write stands
                pass

        def _reset(self):
            """Close the connection without a reply."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def _hang(self):
            if state.hangs:
                state.unblock.wait(state.hangs.pop(0))

        def _host(self):
            return f"http://{self.headers['Host']}"

        def _release(self, release_id):
            return next((r for r in state.release_list if r["id"] == release_id), None)

        def _after_write(self, status, body):
            """Answer an applied POST: as planned, or with the fault planned for it."""
            fault = self.fault
            if fault is None or isinstance(fault, (tuple, list)):  # a hold was served before it was applied
                return self._send(status, body)
            if fault == "reset":
                return self._reset()
            return self._send(fault, {"message": "Server Error"})

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

        def _get_release(self, path, query):
            """The release routes of GET: True when the path is one of them (answered)."""
            if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path):
                newest_first = list(reversed(state.listed(state.release_list)))
                chunk, headers = self._page(newest_first, path, query)
                return self._send(200, chunk, headers) or True
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/(\d+)/assets", path):
                made = self._release(int(m[1]))
                if made is None:
                    return self._send(404, {"message": "Not Found"}) or True
                chunk, headers = self._page(state.listed(made["assets"]), path, query)
                return self._send(200, chunk, headers) or True
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/assets/(\d+)", path):
                if int(m[1]) not in state.asset_bytes:
                    return self._send(404, {"message": "Not Found"}) or True
                if self.headers.get("Accept") == "application/octet-stream":  # as GitHub: to the storage host
                    storage = self._host().replace("127.0.0.1", "localhost")  # another host, as GitHub's
                    return self._send(302, {}, {"Location": f"{storage}/downloads/{m[1]}/asset"}) or True
                return self._send(200, {"id": int(m[1])}) or True
            if m := re.fullmatch(r"/downloads/(\d+)/[^/]+", path):
                content = state.asset_bytes.get(int(m[1]))
                if content is None or "Authorization" in self.headers:  # a signed URL: no token wanted
                    return self._send(404 if content is None else 400, {"message": "Not Found"}) or True
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return True
            return False

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
            self._hang()
            if self._fault():
                return None
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
                chunk, headers = self._page(state.listed(state.comments.get(int(m[1]), [])), path, query)
                return self._send(200, chunk, headers)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]{40})", path):
                commit = state.commits.get(m.group(1))
                return self._send(200, commit) if commit else self._send(404, {"message": "No commit found"})
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
                # As GitHub: a draft is not found by its tag.
                found = next((r for r in state.release_list if r["tag_name"] == m[1] and not r["draft"]), None)
                return self._send(200, found) if found else self._send(404, {"message": "Not Found"})
            if self._get_release(path, query):
                return None
            if path.startswith("/bundles/") and state.attestations.get("raw"):
                return self._send(200, json.loads(state.attestations["raw"][0]["data"]))
            return self._send(404, {"message": "Not Found"})

        def _body(self):
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def _upload(self, release_id, query, raw):
            """A release asset, as GitHub's upload host takes it."""
            name = re.search(r"(?:^|&)name=([^&]+)", query)
            made = self._release(release_id)
            if made is None or not name:
                return self._send(404, {"message": "Not Found"})
            if any(a["name"] == name[1] for a in made["assets"]):
                return self._send(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]})
            if state.partial_uploads:
                state.partial_uploads -= 1
                state.add_asset(made, name[1], raw[: len(raw) // 2], state="starter", host=self._host())
                return self._reset()
            return self._after_write(201, state.add_asset(made, name[1], raw, host=self._host()))

        def do_POST(self):
            if self.path == "/_fake/seed":
                seed = self._body()
                state.pulls = seed.get("pulls", [])
                state.pulls_by_commit = seed.get("pulls_by_commit", {})
                state.commits = seed.get("commits", {})
                return self._send(200, {})
            state.requests.append(("POST", self.path))
            self._hang()
            if self._fault():
                return None
            state.post_count += 1
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.post_faults or state.post_count in state.refuse_posts:
                status = state.refuse_posts.pop(state.post_count, None) or state.post_faults.pop(0)
                return self._send(status, {"message": "Server Error" if status >= 500 else "Refused"})
            path, _, query = self.path.partition("?")
            self.fault = state.lose_posts.pop(state.post_count, None)
            if self.fault is None and state.lost_replies:
                self.fault = state.lost_replies.pop(0)
            if isinstance(self.fault, (tuple, list)):
                state.unblock.wait(self.fault[1])  # held past the client's timeout, then committed
            if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path):
                data = json.loads(raw or b"{}")
                if not data.get("draft") and any(
                    r["tag_name"] == data["tag_name"] and not r["draft"] for r in state.release_list
                ):
                    return self._send(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]})
                made = state.add_release(
                    data["tag_name"],
                    draft=bool(data.get("draft", False)),
                    host=self._host(),
                    name=data.get("name", data["tag_name"]),
                    body=data.get("body", ""),
                    prerelease=data.get("prerelease", False),
                )
                return self._after_write(201, made)
            if re.fullmatch(r"/repos/[^/]+/[^/]+/attestations", path):
                # As GitHub: the bundle is stored under every subject digest of its statement.
                bundle = json.loads(raw or b"{}").get("bundle")
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
                return self._upload(int(m[1]), query, raw)
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", self.path)
            if not m:
                return self._send(404, {"message": "Not Found"})
            comment_id = state.new_id()
            comment = {
                "id": comment_id,
                "body": json.loads(raw)["body"],
                "user": {"login": state.login},
                "html_url": f"https://example.invalid/c/{comment_id}",
            }
            state.comments.setdefault(int(m[1]), []).append(comment)
            return self._after_write(201, comment)

        def do_PATCH(self):
            state.requests.append(("PATCH", self.path))
            self._hang()
            if self._fault():
                return None
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/(\d+)", self.path):
                made = self._release(int(m[1]))
                if made is None:
                    return self._send(404, {"message": "Not Found"})
                for key, value in self._body().items():
                    if key in {"draft", "name", "body", "prerelease", "tag_name"}:
                        made[key] = value
                return self._send(200, made)
            m = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", self.path)
            for comments in state.comments.values():
                for comment in comments:
                    if m and comment["id"] == int(m[1]):
                        comment["body"] = self._body()["body"]
                        return self._send(200, comment)
            return self._send(404, {"message": "Not Found"})

        def do_DELETE(self):
            state.requests.append(("DELETE", self.path))
            self._hang()
            if self._fault():
                return None
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", self.path):
                for comments in state.comments.values():
                    for comment in list(comments):
                        if comment["id"] == int(m[1]):
                            comments.remove(comment)
                            return self._send(204)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/assets/(\d+)", self.path):
                for made in state.release_list:
                    for asset in list(made["assets"]):
                        if asset["id"] == int(m[1]):
                            made["assets"].remove(asset)
                            state.asset_bytes.pop(asset["id"], None)
                            return self._send(204)
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/releases/(\d+)", self.path):
                made = self._release(int(m[1]))
                if made is not None:
                    state.release_list.remove(made)
                    return self._send(204)
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
