"""``POST /pubsub/amapi/<secret>``: where Google's Pub/Sub pushes device notifications.

Served by the public door (``core/door.py``: no session, CSRF or locale middleware, errors in
JSON). In order: the secret (constant-time; wrong or unset: 404, as for any unknown path), the
method (405), the OIDC token when ``MAMORI_PUBSUB_AUDIENCE`` is set (401/403; 503 when Google's
certificates cannot be fetched), the body's size (413 past what Pub/Sub can send); then the
message is stored once and committed, and the answer is 204 — for a malformed body too (kept
aside): any other answer makes Pub/Sub redeliver (ANDROID.md 7).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mamori.android.notifications.store import push_store
from mamori.android.notifications.verify import PushRefused, push_verify
from mamori.core.door import json_error

# Pub/Sub's largest message is 10 MB; base64 and the envelope add a third.
MAX_BODY = 16 * 1024 * 1024


def _secret_matches(given: str) -> bool:
    expected = str(settings.MAMORI_PUBSUB_PUSH_SECRET)
    if not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _body(request: HttpRequest) -> bytes | None:
    """The request body, or None when it is longer than ``MAX_BODY``."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    body = request.read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


def pubsub_push(request: HttpRequest, secret: str) -> HttpResponse:
    """Store one pushed message and answer 204 (see the module's docstring)."""
    if not _secret_matches(secret):
        return json_error(404, "not_found", "No public endpoint at this path.")
    if request.method != "POST":
        response = json_error(405, "method_not_allowed", "Method not allowed.")
        response["Allow"] = "POST"
        return response
    if settings.MAMORI_PUBSUB_AUDIENCE:
        try:
            push_verify(request.headers.get("Authorization", ""))
        except PushRefused as exc:
            response = json_error(exc.status, exc.code, "The push is not authenticated.")
            if exc.status == 401:
                response["WWW-Authenticate"] = "Bearer"
            return response
    body = _body(request)
    if body is None:
        return json_error(413, "too_large", "The body is larger than a Pub/Sub message.")
    push_store(body)
    return HttpResponse(status=204)
