"""Middleware of every request: a request id, and the idle timeout of logged-in sessions."""

import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed one from the proxy) for logs and replies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class SessionIdleMiddleware:
    """Push a logged-in session's expiry forward at most once a minute.

    ``SESSION_COOKIE_AGE`` is then an idle timeout (to within a minute) without an UPDATE of the
    session row on every request, which ``SESSION_SAVE_EVERY_REQUEST`` would cost.
    """

    TOUCH_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get("touched", 0) >= self.TOUCH_EVERY:
                session["touched"] = now  # modified: saved with a new expiry
        return self.get_response(request)
