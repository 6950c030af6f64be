"""Middleware of every request: a request id, text no database can store refused, and the idle
timeout of logged-in sessions."""

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from mamori.core.door import json_error
from mamori.core.errors import RequestRefused, api_error, bad_request, is_api

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The request being answered, for every log line written meanwhile (core.logs.RequestIdFilter).
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed one from the proxy) for logs and replies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex  # type: ignore[attr-defined]
        token = REQUEST_ID.set(request.request_id)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


# A NUL character or a lone surrogate: PostgreSQL refuses both in text (a 500 if they reach it),
# SQLite stores them and a CSV export then carries them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# No JSON body Mamori takes nests anywhere near this deep (a policy is refused past 32 levels):
# a deeper one is refused before anything walks it recursively.
JSON_DEPTH_MAX = 64


class _TooDeep(Exception):
    pass


def _strings(value: Any) -> Iterator[str]:
    """Every string (keys too) in a JSON value, walked without recursion; ``_TooDeep`` past
    ``JSON_DEPTH_MAX`` levels."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict | list):
            if depth >= JSON_DEPTH_MAX:
                raise _TooDeep
            if isinstance(item, dict):
                for key, inner in item.items():
                    yield str(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)


class UnstorableTextMiddleware:
    """Refuse a request whose text no database can store: a NUL character or a lone surrogate in
    its query string, its form fields or its JSON body is a 400 before any view runs (JSON with
    the code ``invalid_request`` under ``/api/``), so no service ever sees one.

    Uploaded files are not looked at: their content is checked by what reads them (the CSV
    import refuses a file that is not UTF-8 or Shift_JIS text).

    A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) is a 413 here too (``too_large`` under
    ``/api/``), before anything else reads it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        message = ""
        try:
            if any(_UNSTORABLE.search(text) for text in self._texts(request)):
                message = _(
                    "The request contains a character that cannot be stored (NUL or an unpaired surrogate)."
                )
        except RequestDataTooBig:
            return too_large(request)
        except (_TooDeep, RecursionError):
            message = _("The JSON is nested more than %(limit)s levels deep.") % {
                "limit": JSON_DEPTH_MAX
            }
        if message:
            if is_api(request):
                return json_error(400, "invalid_request", message)
            return bad_request(request, RequestRefused(message))
        return self.get_response(request)

    def _texts(self, request: HttpRequest) -> Iterator[str]:
        for key, values in request.GET.lists():
            yield key
            yield from values
        content_type = request.content_type or ""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        forms = ("application/x-www-form-urlencoded", "multipart/form-data")
        # The API reads any body but an upload as JSON, whatever its Content-Type says (curl's
        # --data-binary sends a form type; a client may send text/plain): look at it as JSON.
        as_json = content_type == "application/json" or (
            is_api(request) and content_type != "multipart/form-data"
        )
        if as_json:
            try:
                yield from _strings(json.loads(request.body or b"null"))
                return
            except (ValueError, UnicodeDecodeError):
                if content_type not in forms:
                    return  # malformed JSON: the API answers that itself
        if content_type in forms:
            try:
                for key, values in request.POST.lists():
                    yield key
                    yield from values
            except MultiPartParserError:
                return  # the view's own form handling answers a broken upload


def too_large(request: HttpRequest) -> HttpResponse:
    """413 for a request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: the API's JSON error
    (``too_large``) under ``/api/``, the product's page elsewhere (``core.errors``)."""
    if is_api(request):
        return api_error(413)
    return bad_request(request, RequestDataTooBig())


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
