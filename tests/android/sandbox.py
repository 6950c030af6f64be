"""The ``amapi_sandbox`` fixture: Mamori's AMAPI sandbox over real HTTP, for any test.

One server per test process (session scope, a free port, a temporary var dir), its state
emptied before each test, so a test costs a few SQLite deletes. The fixture sets
``settings.MAMORI_AMAPI_ENDPOINT``, ``MAMORI_AMAPI_CREDENTIALS`` and ``MAMORI_PUBSUB_TOPIC`` for
the test (pytest-django's ``settings``), and yields an ``AmapiSandbox``.

The server's virtual devices run as under ``serve`` (a device picks a command up 1 s after it is
issued, reports every 900 s and at once on a change) and push nowhere until a test says where
(``push_to``); ``tune`` changes the timings for one test, and the reset before the next test
puts them back.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document

from mamori.android.sandbox.app import Seen
from mamori.android.sandbox.common import discovery
from mamori.android.sandbox.enroll import enroll
from mamori.android.sandbox.keys import PROJECT_ID, SCOPE
from mamori.android.sandbox.push import Pusher
from mamori.android.sandbox.server import SandboxServer
from mamori.android.sandbox.virtual import DeviceLoop

PUBSUB_TOPIC = f"projects/{PROJECT_ID}/topics/mamori"
COMMAND_DELAY = 1.0  # seconds, serve's default
REPORT_INTERVAL = 900.0


class AmapiSandbox:
    """A running sandbox, as a test sees it.

    ``endpoint`` (``http://127.0.0.1:PORT/``), ``key_file`` (the service-account key),
    ``project_id``, ``server`` (the ``SandboxServer``), ``store`` (its state file).
    """

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.endpoint = server.endpoint
        self.key_file: Path = server.key_file
        self.project_id = PROJECT_ID
        self.store = server.store
        self.certs_url = server.certs_url
        self.devices: DeviceLoop = server.devices
        self.pusher: Pusher = server.pusher

    def tune(self, *, command_delay: float | None = None,
             report_interval: float | None = None) -> None:  # fmt: skip
        """Change when devices pick commands up and how often they report (seconds)."""
        if command_delay is not None:
            self.devices.command_delay = command_delay
        if report_interval is not None:
            self.devices.report_interval = report_interval

    def push_to(self, url: str | None, **settings: Any) -> None:
        """Push notifications to ``url`` (None: nowhere). Keywords: ``audience``, ``email``
        (token claims), ``duplicate_rate``, ``reorder``, ``min_backoff``, ``max_backoff``."""
        for name in ("duplicate_rate", "reorder", "min_backoff", "max_backoff"):
            if name in settings:
                setattr(self.pusher, name, settings.pop(name))
        self.pusher.configure(url, **settings)

    def requests(self) -> list[tuple[str, str]]:
        """Every request seen since the test began, as ``(method, path)`` (no query string).

        Includes ``POST /token`` and the signup page; API calls are the paths under ``/v1/``.
        """
        return [(seen.method, seen.path) for seen in self.server.app.log]

    def request_log(self) -> list[Seen]:
        """The same requests with their time (``time.time()``), query string and status."""
        return list(self.server.app.log)

    def enroll(self, token_value: str, count: int = 1, **kw: Any) -> list[str]:
        """Enroll virtual devices, as ``mamori amapi-sandbox enroll`` does; returns their names.

        Keywords: ``model``, ``password``, ``personal``. Raises
        ``mamori.android.sandbox.enroll.EnrollRefused``.
        """
        return enroll(self.store, token_value, count, **kw)

    def confirm_signup(self, signup_url: str, organization_name: str) -> str:
        """Submit the signup page at ``signup_url``; returns the callback URL it redirects to."""
        parts = urlsplit(signup_url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request(
                "POST",
                parts.path,
                body=urlencode({"organization_name": organization_name}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        assert response.status == 303, response.status
        return str(response.getheader("Location"))

    def limits(self, **limits: Any) -> None:
        """Change ``quota`` (queries), ``quota_window`` (seconds), ``device_cap`` (0 = none)."""
        self.store.limits_set(**limits)

    def client(self) -> Any:
        """A ``googleapiclient`` AMAPI client on the sandbox, with the key file's credentials."""
        credentials = service_account.Credentials.from_service_account_file(
            str(self.key_file), scopes=[SCOPE]
        )
        return build_from_document(
            discovery(), credentials=credentials, client_options={"api_endpoint": self.endpoint}
        )

    def reset(self) -> None:
        """Empty the state (limits back to default) and forget the requests and the quota window."""
        self.push_to(None, duplicate_rate=0.0, reorder=False, min_backoff=1.0, max_backoff=60.0)
        self.tune(command_delay=COMMAND_DELAY, report_interval=REPORT_INTERVAL)
        self.store.reset()
        self.server.app.quota_reset()
        self.pusher.delivered.clear()


@pytest.fixture(scope="session")
def amapi_sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One sandbox per test process, on a free port, with a var dir of its own."""
    server = SandboxServer(tmp_path_factory.mktemp("amapi-sandbox"), "127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def amapi_sandbox(amapi_sandbox_server: SandboxServer, settings: Any) -> AmapiSandbox:
    """The sandbox with empty state; Mamori's settings point at it for this test."""
    sandbox = AmapiSandbox(amapi_sandbox_server)
    sandbox.reset()
    settings.MAMORI_AMAPI_ENDPOINT = sandbox.endpoint
    settings.MAMORI_AMAPI_CREDENTIALS = str(sandbox.key_file)
    settings.MAMORI_PUBSUB_TOPIC = PUBSUB_TOPIC
    return sandbox


def json_of(response: http.client.HTTPResponse) -> Any:
    """The JSON body of a response."""
    return json.loads(response.read())
