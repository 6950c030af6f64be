"""The Google API client for AMAPI: one discovery document per process, one client per thread.

- The discovery document is the one shipped in google-api-python-client
  (``googleapiclient/discovery_cache/documents/androidmanagement.v1.json``), parsed once per
  process: ``build()`` would parse its 382 KB each time (~17 ms), ``build_from_document`` on
  the parsed dict costs ~0.2 ms (ANDROID.md 1.1, 1.4).
- Credentials: ``google.oauth2.service_account.Credentials`` from ``MAMORI_AMAPI_CREDENTIALS``,
  cached per process (they refresh their own token), the same code for Google and the sandbox
  (the sandbox's key file names its own ``token_uri``; ANDROID.md 1.3).
- ``httplib2.Http`` is not thread-safe (ANDROID.md 1.4): each thread builds its own client, one
  per timeout, through ``google_auth_httplib2.AuthorizedHttp`` around ``httplib2.Http(timeout=)``
  so the timeout applies to AMAPI and to the token endpoint alike. ``http=`` and
  ``credentials=`` are mutually exclusive in ``build_from_document``: the credentials ride in
  the authorized ``http``.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

import google_auth_httplib2
import googleapiclient
import httplib2
from django.conf import settings
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document

from mamori.android.amapi.errors import AmapiNotConfigured

SCOPE = "https://www.googleapis.com/auth/androidmanagement"
DISCOVERY = (
    Path(googleapiclient.__file__).parent
    / "discovery_cache"
    / "documents"
    / "androidmanagement.v1.json"
)

_lock = threading.Lock()
_local = threading.local()
_credentials: dict[str, service_account.Credentials] = {}


@cache
def discovery_document() -> dict[str, Any]:
    """The parsed AMAPI discovery document (revision 20261104 in client 2.202.0), once per process."""
    document: dict[str, Any] = json.loads(DISCOVERY.read_text(encoding="utf-8"))
    return document


def key_file() -> Path:
    """``MAMORI_AMAPI_CREDENTIALS`` as a path; ``AmapiNotConfigured`` when unset or missing."""
    path = settings.MAMORI_AMAPI_CREDENTIALS
    if not path or not Path(path).is_file():
        raise AmapiNotConfigured(
            "MAMORI_AMAPI_CREDENTIALS is not set" if not path else f"{path} is not a file",
            code="NOT_CONFIGURED",
        )
    return Path(path)


@cache
def _key_project(path: str, mtime: float) -> str:
    try:
        return str(json.loads(Path(path).read_text(encoding="utf-8")).get("project_id") or "")
    except (OSError, ValueError, AttributeError) as exc:
        raise AmapiNotConfigured(f"{path} is not a key file: {exc}", code="NOT_CONFIGURED") from exc


def key_project_id() -> str:
    """The ``project_id`` of the key file (re-read when the file changes)."""
    path = key_file()
    return _key_project(str(path), path.stat().st_mtime)


def credentials() -> service_account.Credentials:
    """The service account's credentials for the AMAPI scope, one object per key file and process."""
    path = str(key_file())
    with _lock:
        found = _credentials.get(path)
        if found is None:
            try:
                found = service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
            except (OSError, ValueError, KeyError) as exc:
                raise AmapiNotConfigured(
                    f"{path} is not a service-account key file: {exc}", code="NOT_CONFIGURED"
                ) from exc
            _credentials[path] = found
    return found


def service(timeout: float) -> Any:
    """This thread's AMAPI ``Resource`` for ``timeout`` seconds per request.

    Rebuilt when the endpoint or key file setting changes (tests point it at a sandbox).
    """
    key = (settings.MAMORI_AMAPI_ENDPOINT, settings.MAMORI_AMAPI_CREDENTIALS, timeout)
    clients: dict[tuple[str, str, float], Any] = getattr(_local, "clients", None) or {}
    _local.clients = clients
    client = clients.get(key)
    if client is None:
        http = google_auth_httplib2.AuthorizedHttp(
            credentials(), http=httplib2.Http(timeout=timeout)
        )
        client = build_from_document(
            discovery_document(),
            http=http,
            client_options={"api_endpoint": settings.MAMORI_AMAPI_ENDPOINT},
        )
        clients[key] = client
    return client


def forget() -> None:
    """Drop the cached credentials and this thread's clients (tests, a rotated key file)."""
    with _lock:
        _credentials.clear()
    _local.clients = {}
