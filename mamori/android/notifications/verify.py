"""Authenticating a Pub/Sub push: Google's OIDC token, verified with google-auth, cached.

Pub/Sub signs each push with an RS256 OpenID Connect token of the subscription's service
account (``Authorization: Bearer …``; ANDROID.md 3.2). ``push_verify`` checks it the way Google
documents: ``google.oauth2.id_token.verify_token`` (signature against Google's certificates,
``aud``, ``exp``/``iat``), then what google-auth leaves to the caller: the issuer
(``accounts.google.com`` or ``https://accounts.google.com``), ``email`` equal to
``MAMORI_PUBSUB_SERVICE_ACCOUNT`` and ``email_verified`` true.

Two caches keep this off the request's critical path (google-auth fetches the certificates on
every call otherwise: 8 ms a token, ANDROID.md 3.2):

- ``CachedCerts``: the certificates document per URL, in process, for the ``max-age`` of its
  ``Cache-Control`` (Google's: a few hours; at least ``CERTS_MIN_SECONDS``).
- verified token strings, until their ``exp`` (Pub/Sub reuses a token for up to an hour).

Tests run this same code with a key they make: either a transport injected with
``verifier_set(PushVerifier(transport=…))`` or ``MAMORI_PUBSUB_CERTS_URL`` pointing at a local
server (the sandbox serves its certificates at ``/oauth2/v1/certs``: ANDROID.md 3.3).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from google.auth import exceptions as auth_exceptions
from google.oauth2 import id_token

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_MIN_SECONDS = 60.0  # a certs answer without max-age is kept this long
CERTS_TIMEOUT = 5.0  # seconds: the push must be answered within Pub/Sub's ack deadline (10 s)
TOKENS_KEPT = 1000  # verified tokens cached at most (Pub/Sub uses a handful at a time)
# Seconds Mamori's clock may differ from Google's when ``iat``/``exp`` are checked (google-auth's
# default is 0: a token issued a second "in the future" would be refused, and redelivered).
CLOCK_SKEW = 30
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


class PushRefused(Exception):
    """The push is not Google's: ``status`` 401 (no token, or one that does not verify) or 403
    (a valid token of another account, or an unverified e-mail); ``code`` a snake_case word."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.status = status
        self.code = code


@dataclasses.dataclass(frozen=True)
class _Response:
    """What google-auth reads of an HTTP answer (``google.auth.transport.Response``)."""

    status: int
    headers: Mapping[str, str]
    data: bytes


Transport = Callable[..., Any]


def urllib_transport(url: str, method: str = "GET", **_: Any) -> _Response:
    """A minimal google-auth transport over ``urllib``: GET ``url``, ``CERTS_TIMEOUT`` seconds."""
    if not url.startswith(("https://", "http://")):
        raise auth_exceptions.TransportError(f"Refusing to fetch certificates from {url!r}")
    request = urllib.request.Request(url, method=method)  # noqa: S310 - http(s) only, checked above
    try:
        with urllib.request.urlopen(request, timeout=CERTS_TIMEOUT) as answer:  # noqa: S310
            return _Response(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as exc:
        return _Response(exc.code, dict(exc.headers or {}), b"")
    except (OSError, ValueError) as exc:
        raise auth_exceptions.TransportError(str(exc)) from exc


class CachedCerts:
    """A google-auth ``request`` callable that answers a certificates URL from memory while its
    last answer is fresh (``Cache-Control: max-age``), and asks ``transport`` otherwise.

    Only 200 answers are kept. Thread-safe; one fetch at a time per process.
    """

    def __init__(self, transport: Transport = urllib_transport) -> None:
        self.transport = transport
        self.fetches = 0
        self._kept: dict[str, tuple[float, _Response]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        with self._lock:
            kept = self._kept.get(url)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
            answer = self.transport(url, method=method, **kwargs)
            self.fetches += 1
            if getattr(answer, "status", 0) == 200:
                headers = getattr(answer, "headers", {}) or {}
                control = next((v for k, v in headers.items() if k.lower() == "cache-control"), "")
                found = _MAX_AGE.search(control)
                seconds = max(float(found.group(1)) if found else 0.0, CERTS_MIN_SECONDS)
                self._kept[url] = (time.monotonic() + seconds, answer)
            return answer

    def forget(self) -> None:
        """Drop every kept answer (a new signing key the cache does not know yet)."""
        with self._lock:
            self._kept.clear()


class PushVerifier:
    """Verifies push tokens against the settings read at each call; keeps what verified."""

    def __init__(self, transport: Transport = urllib_transport) -> None:
        self.certs = CachedCerts(transport)
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, authorization: str) -> None:
        """Accept the ``Authorization`` header's token or raise ``PushRefused``.

        The audience is ``MAMORI_PUBSUB_AUDIENCE``, the account ``MAMORI_PUBSUB_SERVICE_ACCOUNT``,
        the certificates those at ``MAMORI_PUBSUB_CERTS_URL``.
        """
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 8192:
            raise PushRefused(401, "token_missing")
        audience = str(settings.MAMORI_PUBSUB_AUDIENCE)
        email = str(settings.MAMORI_PUBSUB_SERVICE_ACCOUNT)
        certs_url = str(settings.MAMORI_PUBSUB_CERTS_URL)
        key = hashlib.sha256(f"{audience}\n{email}\n{certs_url}\n{token}".encode()).hexdigest()
        now = time.time()
        with self._lock:
            expires = self._tokens.get(key)
        if expires is not None and expires > now:
            return
        claims = self._claims(token, audience, certs_url)
        if claims.get("iss") not in ISSUERS:
            raise PushRefused(401, "token_invalid", "issuer")
        if claims.get("email") != email:
            raise PushRefused(403, "token_account", "email")
        if claims.get("email_verified") is not True:
            raise PushRefused(403, "token_account", "email_verified")
        self._keep(key, float(claims.get("exp", 0)), now)

    def _claims(self, token: str, audience: str, certs_url: str) -> Mapping[str, Any]:
        try:
            return id_token.verify_token(
                token,
                self.certs,  # type: ignore[arg-type]  # a google-auth Request: called alike
                audience=audience,
                certs_url=certs_url,
                clock_skew_in_seconds=CLOCK_SKEW,
            )
        except auth_exceptions.TransportError as exc:
            # Google's certificates could not be fetched: not the caller's fault, but nothing
            # is stored unverified; Pub/Sub redelivers.
            raise PushRefused(503, "certs_unavailable", str(exc)) from exc
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            if "Certificate for key id" in str(exc):
                # A new signing key: the kept certificates predate it. Once, at most per answer.
                self.certs.forget()
            raise PushRefused(401, "token_invalid", str(exc)) from exc

    def _keep(self, key: str, expires: float, now: float) -> None:
        with self._lock:
            if len(self._tokens) >= TOKENS_KEPT:
                for old in [k for k, e in self._tokens.items() if e <= now]:
                    del self._tokens[old]
                if len(self._tokens) >= TOKENS_KEPT:
                    self._tokens.clear()
            self._tokens[key] = expires


_verifier: list[PushVerifier] = [PushVerifier()]


def verifier() -> PushVerifier:
    """The process's verifier."""
    return _verifier[0]


def verifier_set(new: PushVerifier) -> PushVerifier:
    """Replace the process's verifier (tests inject a transport); returns the previous one."""
    old = _verifier[0]
    _verifier[0] = new
    return old


def push_verify(authorization: str) -> None:
    """``verifier().verify(authorization)``: raises ``PushRefused`` unless Google signed it."""
    verifier().verify(authorization)
