"""Mamori's errors for AMAPI calls, and the mapping from what the Google client raises.

Every failure of a gateway call is one of three classes (all ``AmapiError``):

- ``AmapiUnavailable``: it may pass; try again later (HTTP 429, 5xx, a timeout, a refused or
  broken connection, a token endpoint that did not answer, Mamori's own limiter being full).
- ``AmapiNotFound``: HTTP 404, the enterprise, device, policy, token or operation is gone.
- ``AmapiRefused``: any other 4xx, or credentials Google refuses: trying again changes nothing.

Google's error body is a ``google.rpc.Status`` (``{"error": {"code", "message", "status",
"details"}}``, discovery document ``androidmanagement.v1.json``; ANDROID.md 1.4); its
``details`` may hold a ``type.googleapis.com/google.rpc.BadRequest`` with ``fieldViolations``.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import httplib2
from django.utils.translation import gettext, ngettext
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# "Google asks callers to wait at least 60 seconds before retrying a quota error" (ANDROID.md 4).
QUOTA_WAIT_SECONDS = 60.0
# Statuses worth trying again: quota, and a server that failed or was not reached.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# google.rpc.Code names for the statuses Google sends without a body Mamori can read.
STATUS_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class AmapiError(Exception):
    """A failed AMAPI call.

    ``status``: the HTTP status (0 when no answer came); ``code``: the ``google.rpc.Code`` name
    (``"NOT_FOUND"``, ``"INVALID_ARGUMENT"``, ``"RESOURCE_EXHAUSTED"``…; Mamori's own:
    ``"TIMEOUT"``, ``"CONNECTION"``, ``"QUOTA_IN_USE"``, ``"NOT_CONFIGURED"``); ``message``:
    Google's message, kept raw (English, never shown without ``reason()``'s sentence around it);
    ``field_violations``: ``[(field path, description)]`` from ``google.rpc.BadRequest``;
    ``method``: the AMAPI method id (``"enterprises.devices.issueCommand"``), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        field_violations: list[tuple[str, str]] | None = None,
        method: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or STATUS_CODES.get(status, "UNKNOWN")
        self.field_violations = list(field_violations or [])
        self.method = method

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        text = f"{where}AMAPI {self.status or '-'} {self.code}: {self.message}"
        for field, description in self.field_violations:
            text += f"; {field}: {description}"
        return text

    def reason(self) -> str:
        """A sentence for a person, in the active language, with Google's message in it."""
        details = "; ".join(f"{field}: {text}" for field, text in self.field_violations)
        return gettext("Google refused the request (%(code)s): %(message)s") % {
            "code": self.code,
            "message": "; ".join(part for part in (self.message, details) if part),
        }


class AmapiUnavailable(AmapiError):
    """A failure that may pass: try the call again after ``retry_after`` seconds (≥ 60 after a 429).

    ``answer_lost`` is true when the request may have reached Google but no answer came back (a
    timeout or a broken connection after sending): a non-idempotent call must then be
    reconciled, not repeated (ANDROID.md 4; the gateway does it for the calls it can).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = 0.0,
        answer_lost: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.answer_lost = answer_lost

    def reason(self) -> str:
        """A sentence for a person, in the active language."""
        seconds = max(1, round(self.retry_after))
        if self.code == "QUOTA_IN_USE":
            return ngettext(
                "Google's quota is in use, try again in %(seconds)d second.",
                "Google's quota is in use, try again in %(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
        return ngettext(
            "Google's Android Management API did not answer (%(code)s); "
            "try again in %(seconds)d second.",
            "Google's Android Management API did not answer (%(code)s); "
            "try again in %(seconds)d seconds.",
            seconds,
        ) % {"code": self.code, "seconds": seconds}


class AmapiNotFound(AmapiError):
    """HTTP 404: the resource is gone (a deleted device, an expired token, an unbound enterprise)."""

    def reason(self) -> str:
        """A sentence for a person, in the active language."""
        return gettext("Google no longer knows this resource: %(message)s") % {
            "message": self.message
        }


class AmapiRefused(AmapiError):
    """A permanent refusal: a 4xx other than 404/408/429, or credentials Google refuses."""


class AmapiNotConfigured(AmapiRefused):
    """``MAMORI_AMAPI_CREDENTIALS`` is not set, or its key file cannot be read."""

    def reason(self) -> str:
        """A sentence for a person, in the active language."""
        return gettext(
            "Android Enterprise is not configured on this Mamori: its operator must set "
            "MAMORI_AMAPI_CREDENTIALS."
        )


def _status_body(content: bytes | str | None) -> dict[str, Any]:
    try:
        body = json.loads(content or b"{}")
    except (ValueError, TypeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def field_violations(details: object) -> list[tuple[str, str]]:
    """``[(field, description)]`` from the ``fieldViolations`` of ``google.rpc.BadRequest`` details."""
    found: list[tuple[str, str]] = []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("@type") == BAD_REQUEST_TYPE:
            for violation in detail.get("fieldViolations") or []:
                if isinstance(violation, dict):
                    found.append(
                        (str(violation.get("field", "")), str(violation.get("description", "")))
                    )
    return found


def _retry_after(exc: HttpError, status: int) -> float:
    header = exc.resp.get("retry-after", "") if exc.resp is not None else ""
    try:
        asked = float(header)
    except ValueError:
        asked = 0.0
    return max(asked, QUOTA_WAIT_SECONDS) if status == 429 else asked


def from_http_error(exc: HttpError, method: str = "") -> AmapiError:
    """Map a ``googleapiclient.errors.HttpError`` by its status and ``google.rpc.Status`` body."""
    status = int(exc.resp.status) if exc.resp is not None else 0
    error = _status_body(exc.content)
    message = str(error.get("message") or exc.reason or http.client.responses.get(status, ""))
    kwargs: dict[str, Any] = {
        "status": status,
        "code": str(error.get("status") or ""),
        "field_violations": field_violations(error.get("details")),
        "method": method,
    }
    if status == 404:
        return AmapiNotFound(message, **kwargs)
    if status in RETRYABLE_STATUSES:
        return AmapiUnavailable(message, retry_after=_retry_after(exc, status), **kwargs)
    return AmapiRefused(message, **kwargs)


def from_exception(exc: BaseException, method: str = "") -> AmapiError | None:
    """Map what a call through the Google client raised; ``None`` for anything else.

    ``HttpError`` → by status; a socket timeout or a connection broken after sending →
    ``AmapiUnavailable(answer_lost=True)``; a refused or unreachable connection (nothing was
    sent) → ``AmapiUnavailable``; ``google.auth`` ``TransportError`` → ``AmapiUnavailable``;
    ``RefreshError`` → ``AmapiUnavailable`` when google-auth marks it retryable (the token
    endpoint failed), ``AmapiRefused`` otherwise (a key Google refuses: ``invalid_grant``).
    """
    if isinstance(exc, AmapiError):
        return exc
    if isinstance(exc, HttpError):
        return from_http_error(exc, method)
    if isinstance(exc, auth_exceptions.RefreshError):
        if getattr(exc, "retryable", False):
            return AmapiUnavailable(str(exc), code="UNAVAILABLE", method=method)
        return AmapiRefused(str(exc), code="UNAUTHENTICATED", method=method)
    if isinstance(exc, auth_exceptions.TransportError):
        return AmapiUnavailable(str(exc), code="CONNECTION", method=method)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return AmapiUnavailable(
            str(exc) or "timed out", code="TIMEOUT", answer_lost=True, method=method
        )
    if isinstance(exc, (ConnectionRefusedError, httplib2.ServerNotFoundError, socket.gaierror)):
        return AmapiUnavailable(str(exc), code="CONNECTION", method=method)
    if isinstance(exc, (OSError, http.client.HTTPException, httplib2.HttpLib2Error)):
        return AmapiUnavailable(str(exc), code="CONNECTION", answer_lost=True, method=method)
    return None
