"""A small HTTP server standing in for Mamori's Pub/Sub push endpoint in the sandbox's tests.

``Receiver`` records every POST (path, headers, JSON body) and answers each with the next status
of ``answers`` (then 204), over HTTP/1.1 keep-alive like a real server. ``messages()`` decodes
the Pub/Sub bodies: ``(notificationType, resource JSON, message)``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SECRET = "push-secret-7f3a"


@dataclass(frozen=True)
class Received:
    """One POST: its path, headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class Receiver:
    """The stand-in endpoint (see the module docstring)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.close_each = False  # answer with Connection: close, as a server without keep-alive
        self.hold: threading.Event | None = None  # when set: answer only once it is set
        self.waiting = threading.Event()  # a request is being held
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if receiver.hold is not None:
                    receiver.waiting.set()
                    receiver.hold.wait(timeout=30)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if receiver.close_each:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/pubsub/amapi/{SECRET}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def messages(self, kind: str | None = None) -> list[tuple[str, dict[str, Any], dict]]:
        """``(notificationType, resource, message)`` of each POST, in arrival order."""
        out = []
        with self._lock:
            received = list(self.received)
        for item in received:
            message = item.body["message"]
            notification = message["attributes"]["notificationType"]
            if kind is None or notification == kind:
                out.append((notification, json.loads(base64.b64decode(message["data"])), message))
        return out

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``condition`` every 20 ms until it is truthy; its value. Fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running ``Receiver``."""
    server = Receiver()
    yield server
    server.close()
