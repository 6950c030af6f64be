"""Google's error format, as the sandbox answers it.

Every refused API call is ``{"error": {"code": <HTTP status>, "message": str, "status": <google.rpc
code name>, "details": [Any]}}`` (the ``Status`` schema of the discovery document, which
``googleapiclient.errors.HttpError`` reads: ``.status_code``, ``.reason`` = message,
``.error_details`` = details). Field errors carry one ``google.rpc.BadRequest`` with
``fieldViolations: [{"field", "description"}]``, as Google's do. ``details`` is always present
(an empty list when there is nothing to add).
"""

from __future__ import annotations

from typing import Any

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

# HTTP status of each google.rpc code the sandbox uses.
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
}


class ApiError(Exception):
    """A refused call: ``status`` (google.rpc code name), ``message``, ``details`` (list)."""

    def __init__(self, status: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    @property
    def http_status(self) -> int:
        """The HTTP status Google answers with for ``status``."""
        return HTTP_STATUS[self.status]

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {"code", "message", "status", "details"}}``."""
        return {
            "error": {
                "code": self.http_status,
                "message": self.message,
                "status": self.status,
                "details": self.details,
            }
        }


def not_found() -> ApiError:
    """404 NOT_FOUND with Google's usual message."""
    return ApiError("NOT_FOUND", "Requested entity was not found.")


def invalid(field: str, description: str, message: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT naming ``field`` in a ``google.rpc.BadRequest`` field violation."""
    violation = {"field": field, "description": description}
    return ApiError(
        "INVALID_ARGUMENT",
        message or description,
        [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]}],
    )


def precondition(message: str) -> ApiError:
    """400 FAILED_PRECONDITION: the call is valid but the state forbids it."""
    return ApiError("FAILED_PRECONDITION", message)


def unauthenticated(reason: str) -> ApiError:
    """401 UNAUTHENTICATED, with an ``ErrorInfo`` whose ``reason`` says what was wrong."""
    return ApiError(
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        [{"@type": ERROR_INFO_TYPE, "reason": reason, "domain": "googleapis.com"}],
    )


def quota_exhausted(quota: int, window: float, project: str) -> ApiError:
    """429 RESOURCE_EXHAUSTED in the words of Google's quota errors (ANDROID.md part 4)."""
    return ApiError(
        "RESOURCE_EXHAUSTED",
        f"Quota exceeded for quota metric 'Queries' and limit 'Queries per {window:g} seconds' "
        f"of service 'androidmanagement.googleapis.com' for consumer 'project:{project}' "
        f"({quota} queries).",
        [
            {
                "@type": ERROR_INFO_TYPE,
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_limit_value": str(quota),
                    "service": "androidmanagement.googleapis.com",
                    "consumer": f"projects/{project}",
                },
            }
        ],
    )
