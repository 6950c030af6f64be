"""A small HTTP proxy between the gateway and the AMAPI sandbox, for the gateway's tests.

It forwards every request to the sandbox and records its time, and it can break what a test
asks it to break: answer a path with an HTTP error without forwarding (``refuse``), or forward
the request and then withhold the answer past the client's timeout (``lose``: the call happened,
its answer was lost).
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class GatewayProxy:
    """``endpoint`` to give the gateway; ``seen`` lists ``(time, method, path)`` forwarded."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.seen: list[tuple[float, str, str]] = []
        self.refused: list[tuple[float, str, str]] = []
        self._refuse: list[tuple[str, int, int]] = []  # (path part, status, times)
        self._lose: list[tuple[str, float]] = []  # (path part, seconds to hold)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def refuse(self, path_part: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path contains ``path_part`` with ``status``."""
        self._refuse.append((path_part, status, times))

    def lose(self, path_part: str, hold: float) -> None:
        """Forward the next request whose path contains ``path_part``, then hold its answer."""
        self._lose.append((path_part, hold))

    def calls(self, path_part: str = "/v1/", method: str | None = None) -> list[float]:
        """Times of the forwarded requests whose path contains ``path_part``."""
        return [
            at
            for at, verb, path in self.seen
            if path_part in path and (method is None or verb == method)
        ]

    def _take_refusal(self, path: str) -> int:
        with self._lock:
            for index, (part, status, times) in enumerate(self._refuse):
                if part in path:
                    if times <= 1:
                        del self._refuse[index]
                    else:
                        self._refuse[index] = (part, status, times - 1)
                    return status
        return 0

    def _take_loss(self, path: str) -> float:
        with self._lock:
            for index, (part, hold) in enumerate(self._lose):
                if part in path:
                    del self._lose[index]
                    return hold
        return 0.0

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        status = self._take_refusal(request.path)
        if status:
            self.refused.append((time.time(), request.command, request.path))
            code = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(status, "UNAVAILABLE")
            self._answer(
                request,
                status,
                f'{{"error": {{"code": {status}, "message": "refused by the test proxy", '
                f'"status": "{code}"}}}}'.encode(),
                {"Content-Type": "application/json"},
            )
            return
        self.seen.append((time.time(), request.command, request.path))
        hold = self._take_loss(request.path)
        upstream = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        upstream.request(request.command, request.path, body, headers)
        answer = upstream.getresponse()
        content = answer.read()
        upstream.close()
        if hold:
            time.sleep(hold)
            request.close_connection = True
            return
        self._answer(
            request,
            answer.status,
            content,
            {k: v for k, v in answer.getheaders() if k.lower() in {"content-type", "retry-after"}},
        )

    @staticmethod
    def _answer(
        request: BaseHTTPRequestHandler, status: int, content: bytes, headers: dict[str, str]
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
