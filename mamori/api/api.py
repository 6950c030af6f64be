"""The REST API at /api/v1/: bearer tokens, JSON errors with stable codes, same rules as the panel.

Each app keeps its endpoints in its own ``api.py`` (a ninja ``Router``); this module only assembles
them under one ``NinjaAPI`` with the token authentication and the error format. Errors no endpoint
answers (an unknown path, a method not allowed, a body too large, a server error) get the same
shape from ``mamori.core.errors``.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.core.exceptions import (
    ImproperlyConfigured,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import Operation
from ninja.security import HttpBearer

from mamori.accounts.models import Account
from mamori.accounts.services.tokens import TokenRefused, api_token_authenticate
from mamori.android.services import PolicyInvalid
from mamori.api.openapi import DocumentedAPI
from mamori.core.errors import api_error
from mamori.core.fields import too_long_message
from mamori.core.inputs import InputSchema
from mamori.core.middleware import too_large


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: the token's account, in its language and timezone."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        account = api_token_authenticate(token)
        if account is not None:
            request.user = account
            translation.activate(account.language)
            timezone.activate(zoneinfo.ZoneInfo(account.timezone))
        return account


api = DocumentedAPI(
    title="Mamori API",
    version="1",
    description="Everything an administrator can do in the Mamori panel. "
    "Authenticate with `Authorization: Bearer <token>`; tokens are made on your account page.",
    auth=TokenAuth(),
    urls_namespace="api",
)


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    """The API's one error shape: ``{"error": {"code": …, "message": …, …extra}}``."""
    return api.create_response(
        request, {"error": {"code": code, "message": message, **extra}}, status=status
    )


@api.exception_handler(AuthenticationError)
def on_unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 401, "unauthorized", _("A valid API token is required."))


@api.exception_handler(TokenRefused)
def on_token_refused(request: HttpRequest, exc: TokenRefused) -> HttpResponse:
    """A genuine token its account may not use now (``two_factor_required``): 401, saying why."""
    return error(request, 401, exc.code, exc.message)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    message = str(exc) or _("Your admin privilege does not allow this.")
    return error(request, 403, "forbidden", message)


def _field(loc: tuple | list) -> str:
    # ("body", "payload", "emails", 0, "address") names the body's field "emails.0.address":
    # the client never sees the endpoint's parameter name ("payload").
    if loc and loc[0] == "body":
        return ".".join(str(p) for p in loc[2:])  # ("body", "payload"): the body itself, ""
    return ".".join(str(p) for p in loc[1:])


# Pydantic's messages are English whatever the account's language: the common kinds are said
# again here, translated (error types: https://docs.pydantic.dev/latest/errors/validation_errors/).
_PYDANTIC_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: _("This field is required."),
    "string_type": lambda ctx: _("Enter text."),
    # int_type and bool_type come from strict bodies (core.inputs): say what the JSON must be.
    # (1.5 is a JSON number too: what it lacks is being whole; ninja drops the input, so the
    # message names every case.)
    "int_type": lambda ctx: _(
        "Enter a whole number as a JSON number, such as 3 (not 1.5, text, true or false)."
    ),
    "int_parsing": lambda ctx: _("Enter a whole number."),
    "int_from_float": lambda ctx: _("Enter a whole number."),
    "int_parsing_size": lambda ctx: _("Enter a whole number."),
    "finite_number": lambda ctx: _("Enter a finite number."),
    "float_type": lambda ctx: _("Enter a number."),
    "float_parsing": lambda ctx: _("Enter a number."),
    "bool_type": lambda ctx: _("Enter true or false (not text or a number)."),
    "bool_parsing": lambda ctx: _("Enter true or false."),
    "list_type": lambda ctx: _("Enter a list."),
    "dict_type": lambda ctx: _("Enter an object."),
    "model_type": lambda ctx: _("Enter an object."),
    "model_attributes_type": lambda ctx: _("Enter an object."),
    "extra_forbidden": lambda ctx: _(
        "This field is not known: check its name against the API document."
    ),
    "greater_than_equal": lambda ctx: _("Enter %(limit)s or more.") % {"limit": ctx.get("ge")},
    "less_than_equal": lambda ctx: _("Enter %(limit)s or less.") % {"limit": ctx.get("le")},
    "greater_than": lambda ctx: _("Enter more than %(limit)s.") % {"limit": ctx.get("gt")},
    "less_than": lambda ctx: _("Enter less than %(limit)s.") % {"limit": ctx.get("lt")},
    "string_too_short": lambda ctx: (
        _("Enter at least %(count)s characters.") % {"count": ctx.get("min_length")}
    ),
    "string_pattern_mismatch": lambda ctx: _("The value does not have the expected form."),
    "too_long": lambda ctx: _("At most %(count)s items.") % {"count": ctx.get("max_length")},
    "too_short": lambda ctx: _("At least %(count)s items.") % {"count": ctx.get("min_length")},
    "enum": lambda ctx: _("Choose one of: %(values)s.") % {"values": ctx.get("expected", "")},
    "literal_error": lambda ctx: (
        _("Choose one of: %(values)s.") % {"values": ctx.get("expected", "")}
    ),
    "datetime_type": lambda ctx: _("Enter a date and time such as 2026-04-01T09:00+09:00."),
    "datetime_parsing": lambda ctx: _("Enter a date and time such as 2026-04-01T09:00+09:00."),
    "datetime_from_date_parsing": lambda ctx: _(
        "Enter a date and time such as 2026-04-01T09:00+09:00."
    ),
    "json_invalid": lambda ctx: _("The request body is not valid JSON."),
}


def _message(error: dict[str, Any]) -> str:
    """A pydantic error as a person reads it, in the active language: text over a column's
    length as the services and the panel say it, our own validators' messages as they raised
    them (already translated), the common kinds from ``_PYDANTIC_MESSAGES``, else pydantic's."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "string_too_long":
        return too_long_message(ctx.get("max_length", 0))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    said = _PYDANTIC_MESSAGES.get(kind)
    return said(ctx) if said else str(error.get("msg", ""))


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [
        {"field": field, "message": _message(e)}
        if field or e.get("type") != "missing"
        else {"field": "", "message": _("Send a JSON object as the request body.")}
        for e in exc.errors
        for field in [_field(e.get("loc", ()))]
    ]
    return error(request, 422, "invalid_request", _("The request is not valid."), details=details)


@api.exception_handler(PolicyInvalid)
def on_policy_invalid(request: HttpRequest, exc: PolicyInvalid) -> HttpResponse:
    """A policy the Policy schema refuses: 400 ``invalid``, a detail per field path."""
    details = [{"field": f"policy.{f}" if f else "policy", "message": m} for f, m in exc.errors]
    return error(request, 400, "invalid", _("The policy is not valid."), details=details)


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = (
        [{"field": f, "message": m} for f, ms in exc.message_dict.items() for m in ms]
        if hasattr(exc, "error_dict")
        else [{"field": "", "message": m} for m in exc.messages]
    )
    return error(request, 422, "invalid", _("The request is not valid."), details=details)


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` that reached the API: 413 ``too_large``."""
    return too_large(request)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = getattr(exc, "code", None)
    if code is not None:
        return error(request, exc.status_code, code, str(exc))
    if exc.status_code == 400:  # ninja could not parse the body (its message is English)
        return error(request, 400, "invalid_request", _("The request body is not valid JSON."))
    return api_error(exc.status_code)


def query_names(operation: Operation) -> frozenset[str]:
    """The query parameters ``operation`` reads (as ninja maps them: a ``Query[Schema]``'s fields
    flattened), the names its OpenAPI document lists."""
    return frozenset(
        name
        for model in operation.models
        if model.__ninja_param_source__ == "query"
        for name in getattr(model, "__ninja_flatten_map__", {})
    )


def query_strict(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse a query parameter the operation does not read: 422 ``invalid_request`` naming
    each, as a body field it does not know is (``core.inputs``). ninja would drop it without a
    word, so ``GET /alerts?cursor=…`` (the parameter is ``after``) gave the first page again and
    a client paging with it looped for ever.

    A ``view`` decorator of the whole API (``api.add_decorator``): ``run`` is the bound
    ``Operation.run`` of each operation. The token is checked first, so that a refusal is a 401
    before it is a 422 and speaks the account's language."""
    operation = run.__self__  # type: ignore[attr-defined]
    known = query_names(operation)

    @functools.wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        unknown = [name for name in request.GET if name not in known]
        if not unknown:
            return run(request, *args, **kwargs)
        refused = operation._run_checks(request)  # authentication, as run() does first
        if refused is not None:
            return refused
        message = (
            _("This query parameter is not known. This endpoint reads: %(known)s.")
            % {"known": ", ".join(sorted(known))}
            if known
            else _("This query parameter is not known. This endpoint reads none.")
        )
        said = [
            {"loc": ("query", n), "type": "value_error", "ctx": {"error": message}} for n in unknown
        ]
        return on_invalid_request(request, NinjaValidationError(said))

    return checked


api.add_decorator(query_strict, mode="view")


def _add_routers() -> None:
    from mamori.accounts.api import router as accounts_router
    from mamori.alerts.api import router as alerts_router
    from mamori.alerts.webhooks.api import router as webhooks_router
    from mamori.android.api import router as android_router
    from mamori.android.commands.api import router as commands_router
    from mamori.android.inventory.api import router as devices_router
    from mamori.audit.api import router as audit_router
    from mamori.directory.api import router as directory_router
    from mamori.support.api import router as support_router
    from mamori.users_csv.api import router as users_csv_router

    api.add_router("", accounts_router)
    api.add_router("", audit_router)
    # CSV first: "users/imports" and "users/export" would otherwise match "users/{user_id}".
    api.add_router("", users_csv_router)
    api.add_router("", directory_router)
    api.add_router("", support_router)
    # Commands before any "devices/{id}" route: "devices/commands" is not a device id.
    api.add_router("", commands_router)
    api.add_router("", android_router)
    api.add_router("", devices_router)
    api.add_router("", alerts_router)
    api.add_router("", webhooks_router)


def bodies_strict(ninja_api: NinjaAPI) -> None:
    """Refuse to start with a JSON body of ``ninja_api`` whose schema is not an ``InputSchema``
    (strict, closed: ``mamori.core.inputs``), so no endpoint can take ``true`` for an id or drop
    a misspelt field. Form and file parameters (multipart text) are not bodies here.

    Raises ``ImproperlyConfigured`` naming the operation."""
    for _prefix, router in ninja_api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for model in operation.models:
                    if model.__ninja_param_source__ != "body":
                        continue
                    for name, field in model.model_fields.items():
                        kind = field.annotation
                        if not (isinstance(kind, type) and issubclass(kind, InputSchema)):
                            raise ImproperlyConfigured(
                                f"{operation.methods} {path}: the body {name!r} must be an "
                                "InputSchema (mamori.core.inputs)"
                            )


_add_routers()
bodies_strict(api)
