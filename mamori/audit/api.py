"""The operation log in the API: pages newest first by keyset, one entry, the same scope as the log
screen."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from mamori.audit.labels import actor_kind_label, actor_label
from mamori.audit.models import LogEntry
from mamori.audit.registry import action_exists, action_label, target_label
from mamori.audit.retention import (
    RETENTION_MAX,
    SETTINGS_PERMISSION,
    log_settings_of,
    log_settings_update,
    settings_values,
)
from mamori.audit.selectors import LOG_ORDER, LogFilter, log_actors_of, log_entry_get, log_page
from mamori.core.access import Principal, permission_require
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import IsoDatetime
from mamori.core.inputs import InputSchema
from mamori.core.keyset import Position
from mamori.core.timezones import instant_errors

router = Router(tags=["operation log"])


class ActorOut(Schema):
    kind: str
    label: str  # as the log screen shows it, e.g. "Mamori for 山田 (yamada)" for on_behalf
    id: int | None
    name: str
    account_name: str
    privilege: str


class TargetOut(Schema):
    type: str
    id: str
    label: str


class LogEntryOut(Schema):
    id: int
    seq: int
    time: datetime.datetime
    local_time: str
    actor: ActorOut
    ip: str | None
    user_agent: str
    request_id: str
    action: str
    action_label: str
    target: TargetOut
    before: Any
    after: Any
    result: str

    @classmethod
    def of(cls, entry: LogEntry, zone: zoneinfo.ZoneInfo) -> LogEntryOut:
        return cls(
            id=entry.pk,
            seq=entry.seq,
            time=entry.created_at,
            local_time=entry.created_at.astimezone(zone).isoformat(timespec="seconds"),
            actor=ActorOut(
                kind=entry.actor_kind,
                id=entry.actor_id,
                name=entry.actor_name or actor_kind_label(entry.actor_kind),
                label=actor_label(entry.actor_kind, entry.actor_name, entry.actor_account_name),
                account_name=entry.actor_account_name,
                privilege=entry.actor_privilege,
            ),
            ip=entry.ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
            action=entry.action,
            action_label=action_label(entry.action),
            target=TargetOut(
                type=entry.target_type,
                id=entry.target_id,
                label=target_label(entry.target_type, entry.target_label),
            ),
            before=entry.before,
            after=entry.after,
            result=entry.result,
        )


class LogPageOut(Schema):
    items: list[LogEntryOut]
    next_cursor: str | None
    prev_cursor: str | None


def _aware(
    value: datetime.datetime | None, zone: zoneinfo.ZoneInfo, field: str
) -> datetime.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=zone)
    errors = instant_errors(value)
    if errors:
        # A query parameter out of range is a bad request like one that does not parse: the
        # same code (invalid_request) and the same details.
        raise NinjaValidationError(
            [{"loc": ("query", field), "type": "value_error", "ctx": {"error": e}} for e in errors]
        )
    return value


def _cursor(text: str | None, field: str) -> Position | None:
    return LOG_ORDER.decode(text, field=field) if text else None


@router.get("/logs", response=LogPageOut, summary="Operation log, newest first")
def logs(
    request: HttpRequest,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    actor: int | None = None,
    action: str | None = None,
    before: str | None = None,
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> LogPageOut:
    """Times without an offset are read in the token account's timezone; an offset is between
    -14:00 and +14:00. Page with the ``next_cursor`` (older entries, as ``before``) and
    ``prev_cursor`` (newer, as ``after``)."""
    account = request.auth  # type: ignore[attr-defined]
    if action and not action_exists(action):
        raise ValidationError({"action": [_("Unknown action code.")]})
    if actor is not None and not log_actors_of(account).filter(pk=actor).exists():
        raise Http404  # another contract's account is as unknown as one that never existed
    zone = zoneinfo.ZoneInfo(account.timezone)
    page = log_page(
        account,
        LogFilter(
            since=_aware(since, zone, "since"),
            until=_aware(until, zone, "until"),
            actor_id=actor,
            action=action,
        ),
        before=_cursor(before, "before"),
        after=_cursor(after, "after"),
        size=limit,
        columns=(),  # the API gives every field
    )
    return LogPageOut(
        items=[LogEntryOut.of(e, zone) for e in page.entries],
        next_cursor=page.older,
        prev_cursor=page.newer,
    )


@router.get("/logs/{entry_id}", response=LogEntryOut, summary="One entry")
def log_entry(request: HttpRequest, entry_id: int) -> LogEntryOut:
    account = request.auth  # type: ignore[attr-defined]
    return LogEntryOut.of(log_entry_get(account, entry_id), zoneinfo.ZoneInfo(account.timezone))


class LogSettingsIO(InputSchema):
    """The contract's operation-log retention."""

    retention_months: int | None = Field(
        description="entries older than the start (00:00 UTC) of the month this many months "
        f"before the current month (UTC) are removed by a daily run; 1 … {RETENTION_MAX}; "
        "null: kept forever"
    )
    archive: bool = Field(
        description="write removed entries to a gzip'd JSON-lines file per month on the server "
        "first (MAMORI_AUDIT_ARCHIVE_DIR)"
    )


def _settings_account(request: HttpRequest) -> Principal:
    me: Principal = request.auth  # type: ignore[attr-defined]
    permission_require(me, SETTINGS_PERMISSION)
    return me


@router.get("/settings/log", response=LogSettingsIO, summary="Operation log settings")
def log_settings(request: HttpRequest) -> LogSettingsIO:
    """System administrators only (as the security settings)."""
    me = _settings_account(request)
    return LogSettingsIO(**settings_values(log_settings_of(me.contract)))  # type: ignore[attr-defined]


@router.put("/settings/log", response=LogSettingsIO, summary="Change the operation log settings")
def log_settings_update_endpoint(request: HttpRequest, payload: LogSettingsIO) -> LogSettingsIO:
    """Every field is given; a months value out of 1 … 1200 is a 422 ``invalid``.
    One operation-log entry names what changed; the next daily run applies it."""
    me = _settings_account(request)
    chain = log_settings_update(
        actor=Actor.from_request(request, kind=ActorKind.API),
        contract=me.contract,  # type: ignore[attr-defined]
        values=payload.model_dump(),
    )
    return LogSettingsIO(**settings_values(chain))
