"""The public door: device- and Google-facing endpoints outside ``/<domain>/``.

``/healthz``, ``/readyz``, ``/metrics`` and the Pub/Sub push. These callers have no session, no
language and no CSRF token, and read no HTML, so their paths get a URLconf of their own
(``settings.PUBLIC_URLCONF``, ``mamori/public_urls.py``) that ``PublicDoorMiddleware`` serves
itself, right after the request id and the security headers: the session, locale, CSRF, auth
and contract middleware never run for them, and every error is JSON::

    {"error": {"code": "not_found", "message": "No public endpoint at this path."}}

A public view authenticates its caller itself (a Pub/Sub push carries an OIDC token) and must
not trust the ``Host`` header: nothing on this door validates it against ``ALLOWED_HOSTS``.
Messages are fixed English: the door serves machines and runs no locale middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core import signals
from django.core.exceptions import (
    BadRequest,
    ObjectDoesNotExist,
    PermissionDenied,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.urls import Resolver404, get_resolver

from mamori.core.toplevel import public_prefixes

logger = logging.getLogger("mamori.door")


def json_error(status: int, code: str, message: str) -> JsonResponse:
    """``{"error": {"code": code, "message": message}}`` with the HTTP status ``status``.

    ``code`` is a stable snake_case word a machine can branch on; ``message`` is for a person
    reading a log.
    """
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _status_error(status: int) -> JsonResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # a status http.HTTPStatus does not know
        phrase = "Error"
    return json_error(status, phrase.lower().replace(" ", "_").replace("-", "_"), f"{phrase}.")


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").split(";", 1)[0].strip() == "application/json"


def response_for_exception(request: HttpRequest, exc: Exception) -> JsonResponse:
    """The JSON answer to an exception raised by a public view.

    Not found (``Http404``, ``ObjectDoesNotExist``) is a 404, ``PermissionDenied`` a 403,
    ``BadRequest`` and ``SuspiciousOperation`` a 400; the database out of reach a 503 with
    ``Retry-After``; anything else is a 500. Both are logged with their traceback and sent to
    ``got_request_exception`` as Django's own handler does. No message of the exception
    reaches the caller.
    """
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return json_error(404, "not_found", "Not found.")
    if isinstance(exc, PermissionDenied):
        return json_error(403, "forbidden", "Forbidden.")
    if isinstance(exc, (BadRequest, SuspiciousOperation)):
        logger.warning("Bad request to the public door: %s", request.path, exc_info=exc)
        return json_error(400, "bad_request", "Bad request.")
    from mamori.core.errors import RETRY_AFTER_SECONDS, database_unavailable

    logger.error("Public view failed: %s %s", request.method, request.path, exc_info=exc)
    signals.got_request_exception.send(sender=None, request=request)
    if database_unavailable(exc):  # nothing was stored: the caller (Pub/Sub) retries later
        response = json_error(503, "unavailable", "The database cannot be reached.")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        response = json_error(500, "internal_error", "Internal server error.")
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's log_response
    return response


def serve_public(request: HttpRequest, urlconf: str) -> HttpResponseBase:
    """Resolve ``request`` against the public URLconf ``urlconf`` and answer it, in JSON on error.

    A path that resolves nowhere is a 404. An error status a view returns without a JSON body
    (``require_http_methods``' 405, say) is replaced by the JSON error of that status, its
    ``Allow`` header kept.
    """
    try:
        match = get_resolver(urlconf).resolve(request.path_info)
    except Resolver404:
        return json_error(404, "not_found", "No public endpoint at this path.")
    request.resolver_match = match
    view = match.func
    if iscoroutinefunction(view):  # served synchronously, as Django's handler would under WSGI
        view = async_to_sync(view)
    try:
        response = view(request, *match.args, **match.kwargs)
        if response is None:
            raise ValueError(f"The public view {match.view_name} returned None.")
        if callable(getattr(response, "render", None)):
            response = response.render()
    except Exception as exc:  # noqa: BLE001 - the door turns every failure into a JSON answer (logged there)
        return response_for_exception(request, exc)
    if response.status_code >= 400 and not _is_json(response):
        replacement = _status_error(response.status_code)
        if "Allow" in response:
            replacement["Allow"] = response["Allow"]
        response = replacement
    return response


class PublicDoorMiddleware:
    """Answer the public URL space here; pass every other request down the stack.

    A request whose first path segment is one of the public URLconf's (``healthz``…) is served
    by ``serve_public`` and never reaches the middleware below this one nor Django's view
    middleware hooks: no session is read or created, no cookie set, no ``Vary`` added, no CSRF
    token required, and nothing is turned into HTML. Place it right after ``SecurityMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        urlconf: str = settings.PUBLIC_URLCONF
        segment = request.path_info.lstrip("/").split("/", 1)[0]
        if segment and segment in public_prefixes(urlconf):
            return serve_public(request, urlconf)
        return self.get_response(request)
