"""The local authority over HTTP on 127.0.0.1: the endpoints sigstore's signer calls.

``POST /api/v2/signingCert`` (Fulcio), ``POST /api/v1/log/entries`` and
``GET /api/v1/log`` (Rekor v1), ``POST /oidc/token`` (the stand-in for the
runner's token service: claims in, ``{"value": token}`` out), and the trust
documents ``GET /trust_config.json`` and ``GET /trusted_root.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.authority import LocalAuthority
from pipeline.errors import CheckFailed, InputError

MAX_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    server: AuthorityServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - http.server's signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _reply(self, status: int, document: Any) -> None:  # noqa: ANN401 - JSON
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        authority = self.server.authority
        routes = {
            "/trust_config.json": authority.trust_config,
            "/trusted_root.json": authority.trusted_root,
            "/api/v1/log": authority.log.info,
        }
        route = routes.get(self.path.split("?")[0])
        if route is None:
            self._reply(HTTPStatus.NOT_FOUND, {"message": f"no such endpoint: {self.path[:80]}"})
            return
        self._reply(HTTPStatus.OK, route())

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._reply(HTTPStatus.BAD_REQUEST, {"message": "a JSON body of at most 1 MiB is required"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, RecursionError):
            self._reply(HTTPStatus.BAD_REQUEST, {"message": "the body is not JSON"})
            return
        authority, path = self.server.authority, self.path.split("?")[0]
        try:
            if path == "/oidc/token":
                self._reply(HTTPStatus.OK, {"value": authority.token(body)})
            elif path == "/api/v2/signingCert":
                reply = authority.signing_certificate(body, self.headers.get("Authorization", ""))
                self._reply(HTTPStatus.CREATED, reply)
            elif path == "/api/v1/log/entries":
                self._reply(HTTPStatus.CREATED, authority.log_entry(body))
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"message": f"no such endpoint: {path[:80]}"})
        except InputError as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"message": str(error)})
        except CheckFailed as error:
            status = HTTPStatus.UNAUTHORIZED if path == "/api/v2/signingCert" else HTTPStatus.BAD_REQUEST
            self._reply(status, {"message": str(error)})


class AuthorityServer(ThreadingHTTPServer):
    """One authority, served on 127.0.0.1 only."""

    daemon_threads = True

    def __init__(self, state: Path, port: int = 0, *, verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.verbose = verbose
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.authority = LocalAuthority(state, self.url)
        self.authority.write_trust_files()

    def start(self) -> AuthorityServer:
        """Serve in a background thread (tests); ``shutdown`` stops it.

        ``shutdown`` waits for the next poll: at the default 0.5 s that wait
        was most of each signing test's time.
        """
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.authority --state DIR [--port N] [--url-file F]``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.authority", description=__doc__)
    parser.add_argument("--state", required=True, help="directory for the keys, the log and the trust files")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--url-file", help="write the URL here once serving")
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    try:
        server = AuthorityServer(Path(args.state), args.port, verbose=args.verbose)
    except (OSError, InputError) as error:
        print(f"error: the local Sigstore authority cannot start: {error}", file=sys.stderr)
        return 1
    if args.url_file:
        Path(args.url_file).write_text(server.url, encoding="utf-8")
    print(f"local Sigstore authority (a test authority, trusted nowhere else) on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
