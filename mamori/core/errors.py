"""Error answers: the product's own pages for the panel, JSON with a code for every path of the API.

``mamori/urls.py`` names ``bad_request`` and ``server_error`` as its 400 and 500 handlers (404 and
403 are Django's, rendering ``404.html`` and ``403.html``; a CSRF failure renders
``403_csrf.html``). Under ``/api/`` every error is JSON, whoever answers it (ninja, Django's URL
resolver, a middleware, a handler): ``ApiErrorMiddleware`` replaces any error response that is not
JSON by ``{"error": {"code": …, "message": …}}`` with the same status, the message in the
request's language. ``API_ERRORS`` is the catalogue of those codes; the README lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

from mamori.core.door import json_error

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    """Whether ``request`` is for the API: its path is ``/api`` or below it."""
    return request.path_info == API_PREFIX.rstrip("/") or request.path_info.startswith(API_PREFIX)


def upload_limit_megabytes() -> float:
    """``DATA_UPLOAD_MAX_MEMORY_SIZE`` in megabytes (1,000,000 bytes), for messages."""
    return round((settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / 1_000_000, 1)


# Status → (code, message) of an API error no view chose itself. Messages are built when needed,
# in the language active then.
API_ERRORS: dict[int, tuple[str, Callable[[], str]]] = {
    400: ("bad_request", lambda: _("The request could not be read.")),
    401: ("unauthorized", lambda: _("A valid API token is required.")),
    403: ("forbidden", lambda: _("Your admin privilege does not allow this.")),
    404: ("not_found", lambda: _("There is no API endpoint at this address.")),
    405: ("method_not_allowed", lambda: _("This endpoint does not accept this method.")),
    413: (
        "too_large",
        lambda: (
            _("The request is too large: its body may be at most %(size)s MB.")
            % {"size": upload_limit_megabytes()}
        ),
    ),
    429: ("too_many_requests", lambda: _("Too many requests: wait a moment and try again.")),
    500: ("internal_error", lambda: _("Something went wrong on our side. It has been logged.")),
    503: (
        "unavailable",
        lambda: _("The service cannot reach its database at the moment. Try again shortly."),
    ),
}
# Seconds a client is asked to wait before trying again after a 503 (Retry-After, RFC 9110).
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot be used right now (a refused or broken
    connection, a server restarting or shutting down): Django's ``OperationalError`` and
    ``InterfaceError``, which a retry a little later may not meet. Answered with 503."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def api_error(status: int) -> JsonResponse:
    """The API's JSON error for ``status`` (``API_ERRORS``; an unlisted status gets the code
    ``error``, or ``internal_error`` from 500 up); a 503 carries ``Retry-After``."""
    code, message = API_ERRORS.get(
        status, API_ERRORS[500] if status >= 500 else ("error", API_ERRORS[400][1])
    )
    response = json_error(status, code, message())
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").split(";", 1)[0].strip() == "application/json"


class ApiErrorMiddleware:
    """Under ``/api/``, answer every error in JSON: an error response of any other type (Django's
    HTML 404 for an unknown path, ninja's empty 405, the 500 page) is replaced by ``api_error`` of
    its status, its ``Allow`` header kept. Place it right below ``LocaleMiddleware``, so the
    message is in the request's language (or the token's account's, which the API activates)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or not is_api(request) or _is_json(response):
            return response
        replacement = api_error(response.status_code)
        if "Allow" in response:
            replacement["Allow"] = response["Allow"]
        # Django logs an error response once; the one replacing it carries that mark on.
        if getattr(response, "_has_been_logged", False):
            replacement._has_been_logged = True  # type: ignore[attr-defined]
        return replacement


class RequestRefused(BadRequest):
    """A request refused with a message a person may read (in the active language): the 400
    page shows it. Other 400s show a generic sentence (their messages are not for people)."""


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 400 handler; a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``, read
    by whichever layer first touched the body) is a 413 instead. ``400.html`` in the panel,
    with the message of a ``RequestRefused``."""
    too_large = isinstance(exception, RequestDataTooBig)
    status = 413 if too_large else 400
    if is_api(request):
        return api_error(status)
    context = {
        "too_large": too_large,
        "size": upload_limit_megabytes(),
        "message": str(exception) if isinstance(exception, RequestRefused) else "",
    }
    body = loader.get_template("400.html").render(context, request)
    return HttpResponse(body, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler: ``500.html`` with the request id to quote, and no context processor (the
    failure may lie in what they read); JSON under ``/api/``. When the failure is the database
    being unreachable (``database_unavailable``; Django calls this handler while handling the
    exception), a 503 with ``Retry-After`` and ``503.html`` instead: the request changed
    nothing and may be retried."""
    status = 503 if database_unavailable(sys.exc_info()[1]) else 500
    if is_api(request):
        return api_error(status)
    context = {"request_id": getattr(request, "request_id", "")}
    response = HttpResponse(loader.get_template(f"{status}.html").render(context), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
