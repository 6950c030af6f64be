"""The REST API at /api/v1/: bearer tokens, JSON errors with stable codes, same rules as the panel."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from mamori.accounts.models import Account
from mamori.accounts.selectors import accounts_visible_to
from mamori.accounts.services import api_token_authenticate
from mamori.api.schemas import AccountOut, ContractOut, LogEntryOut, LogPageOut, MeOut
from mamori.audit.registry import action_exists
from mamori.audit.selectors import Cursor, LogFilter, log_entry_get, log_page


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        account = api_token_authenticate(token)
        if account is not None:
            request.user = account
            translation.activate(account.language)
            timezone.activate(zoneinfo.ZoneInfo(account.timezone))
        return account


api = NinjaAPI(
    title="Mamori API",
    version="1",
    description="Everything an administrator can do in the Mamori panel. "
    "Authenticate with `Authorization: Bearer <token>`; tokens are made on your account page.",
    auth=TokenAuth(),
    urls_namespace="api",
)


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, **extra}}, status=status
    )


@api.exception_handler(AuthenticationError)
def on_unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 401, "unauthorized", _("A valid API token is required."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", _("Not found."))


@api.exception_handler(ObjectDoesNotExist)
def on_does_not_exist(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    message = str(exc) or _("Your admin privilege does not allow this.")
    return error(request, 403, "forbidden", message)


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    return error(request, 422, "invalid_request", _("The request is not valid."), details=details)


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = (
        [{"field": f, "message": m} for f, ms in exc.message_dict.items() for m in ms]
        if hasattr(exc, "error_dict")
        else [{"field": "", "message": m} for m in exc.messages]
    )
    return error(request, 422, "invalid", _("The request is not valid."), details=details)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(request, exc.status_code, getattr(exc, "code", "error"), str(exc))


def _account(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined,no-any-return]


@api.get("/me", response=MeOut, tags=["accounts"], summary="The token's account")
def me(request: HttpRequest) -> MeOut:
    account = _account(request)
    return MeOut(
        account=AccountOut.of(account),
        contract=ContractOut(
            domain=account.contract.domain, company_name=account.contract.company_name
        ),
    )


def _aware(value: datetime.datetime | None, zone: zoneinfo.ZoneInfo) -> datetime.datetime | None:
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=zone)


def _cursor(text: str | None, field: str) -> Cursor | None:
    if not text:
        return None
    cursor = Cursor.decode(text)
    if cursor is None:
        raise ValidationError({field: [_("This cursor is not valid.")]})
    return cursor


@api.get(
    "/logs", response=LogPageOut, tags=["operation log"], summary="Operation log, newest first"
)
def logs(
    request: HttpRequest,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    actor: int | None = None,
    action: str | None = None,
    before: str | None = None,
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),  # type: ignore[type-arg]
) -> LogPageOut:
    """Times without an offset are read in the token account's timezone. Page with the
    ``next_cursor`` (older entries, as ``before``) and ``prev_cursor`` (newer, as ``after``)."""
    account = _account(request)
    if action and not action_exists(action):
        raise ValidationError({"action": [_("Unknown action code.")]})
    if actor is not None and not accounts_visible_to(account).filter(pk=actor).exists():
        raise Http404  # another contract's account is as unknown as one that never existed
    zone = zoneinfo.ZoneInfo(account.timezone)
    page = log_page(
        account,
        LogFilter(
            since=_aware(since, zone), until=_aware(until, zone), actor_id=actor, action=action
        ),
        before=_cursor(before, "before"),
        after=_cursor(after, "after"),
        size=limit,
    )
    return LogPageOut(
        items=[LogEntryOut.of(e, zone) for e in page.entries],
        next_cursor=page.older.encode() if page.older else None,
        prev_cursor=page.newer.encode() if page.newer else None,
    )


@api.get("/logs/{entry_id}", response=LogEntryOut, tags=["operation log"], summary="One entry")
def log_entry(request: HttpRequest, entry_id: int) -> LogEntryOut:
    account = _account(request)
    return LogEntryOut.of(log_entry_get(account, entry_id), zoneinfo.ZoneInfo(account.timezone))


def _add_routers() -> None:
    from mamori.directory.api import router as directory_router
    from mamori.directory.api_csv import router as directory_csv_router
    from mamori.support.api import router as support_router

    # CSV first: "users/imports" and "users/export" would otherwise match "users/{user_id}".
    api.add_router("", directory_csv_router)
    api.add_router("", directory_router)
    api.add_router("", support_router)


_add_routers()
