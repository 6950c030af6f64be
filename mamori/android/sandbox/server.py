"""Running the sandbox: a threaded werkzeug server on loopback, in the foreground or a thread.

``SandboxServer(var_dir, host, port)`` opens the state file, writes the key file (its
``token_uri`` pointing at this server) and binds; ``serve_forever()`` runs it (``mamori
amapi-sandbox serve``), ``start()`` runs it in a daemon thread (the tests' fixture), ``stop()``
shuts it down. Port 0 picks a free port (``port`` then tells which).

Besides the HTTP threads, two of the sandbox's own run beside it: ``devices`` (a
``virtual.DeviceLoop``: reports, commands) and ``pusher`` (a ``push.Pusher``: Pub/Sub delivery
to ``push_url``, none when it is None). ``push`` holds the ``Pusher``'s settings:
``audience``, ``email``, ``duplicate_rate``, ``reorder``.
"""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mamori.android.sandbox.app import Sandbox
from mamori.android.sandbox.keys import KEY_FILE_NAME, key_file_write
from mamori.android.sandbox.push import Pusher
from mamori.android.sandbox.store import STATE_FILE_NAME, Store
from mamori.android.sandbox.virtual import DeviceLoop


def loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without a log line per request (``--verbose`` keeps them)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: the sandbox keeps its own log (``Sandbox.log``)."""


class SandboxServer:
    """The sandbox bound to ``host:port`` with its state under ``var_dir``.

    Raises ``ValueError`` for a host that is not loopback, ``OSError`` when the port is taken.
    """

    def __init__(self, var_dir: Path, host: str = "127.0.0.1", port: int = 8765, *,
                 verbose: bool = False, report_interval: float = 900.0,
                 command_delay: float = 1.0, push_url: str | None = None,
                 push: dict[str, Any] | None = None) -> None:  # fmt: skip
        if not loopback(host):
            raise ValueError(
                f"{host} is not a loopback address: the sandbox serves 127.0.0.1 only."
            )
        self.var_dir = var_dir
        self.store = Store(var_dir / STATE_FILE_NAME)
        self.key_file = var_dir / KEY_FILE_NAME
        handler = WSGIRequestHandler if verbose else QuietHandler
        # Bound before the key file is written: port 0 becomes a real port first.
        self.server: BaseWSGIServer = make_server(
            host, port, self._dispatch, threaded=True, request_handler=handler
        )
        self.host = host
        self.port = int(self.server.server_port)
        key_file_write(self.key_file, f"{self.endpoint}token")
        self.app = Sandbox(self.store, self.key_file)
        self.devices = DeviceLoop(
            self.store, report_interval=report_interval, command_delay=command_delay
        )
        self.pusher = Pusher(self.store, self.app.key, push_url, **(push or {}))
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT/``: what ``MAMORI_AMAPI_ENDPOINT`` is set to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def _dispatch(self, environ, start_response):  # type: ignore[no-untyped-def]
        return self.app(environ, start_response)

    @property
    def certs_url(self) -> str:
        """Where the push tokens' certificates are: what ``MAMORI_PUBSUB_CERTS_URL`` is set to."""
        return f"{self.endpoint}oauth2/v1/certs"

    def serve_forever(self) -> None:
        """Serve, report and push until interrupted (Ctrl-C or SIGTERM stop the command)."""
        self.devices.start()
        self.pusher.start()
        try:
            self.server.serve_forever()
        finally:
            self.devices.stop()
            self.pusher.close()

    def start(self) -> SandboxServer:
        """Serve, report and push in daemon threads; returns self."""
        self.devices.start()
        self.pusher.start()
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="amapi-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, reporting and pushing; close the socket."""
        self.devices.stop()
        self.pusher.close()
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server.server_close()
