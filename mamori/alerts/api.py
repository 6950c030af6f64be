"""Alerts in the API: the list with the page's filters, one alert with its events, and the
contract's alert settings. The same selectors and service as the pages."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from mamori.alerts import selectors
from mamori.alerts.models import (
    LEVEL_BY_CODE,
    LEVEL_CODES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertSettings,
)
from mamori.alerts.permissions import ALERTS_SETTINGS
from mamori.alerts.services import (
    alert_close,
    alert_settings_of,
    alert_settings_update,
    settings_values,
)
from mamori.alerts.text import alert_summary
from mamori.core.access import Principal, permission_require
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of, text_field
from mamori.core.inputs import InputSchema
from mamori.core.timezones import TIMEZONE_INPUT_DOC
from mamori.directory.selectors import organization_get

router = Router(tags=["Alerts"])
LEVELS_DOC = "important, warning or caution"
KINDS_DOC = ", ".join(AlertKind.values)


def _me(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


class AlertEventOut(Schema):
    """A change of an alert."""

    action: str = Field(description="opened, risen, lowered or cleared")
    level: str = Field(description=f"the level after it: {LEVELS_DOC}")
    previous_level: str | None = Field(description="the level before it; null when opened")
    at: datetime.datetime


class AlertOut(Schema):
    """An alert: the system's finding about a device (or the contract's enterprise)."""

    id: int
    kind: str = Field(description=KINDS_DOC)
    level: str = Field(description=LEVELS_DOC)
    state: str = Field(description="open or cleared")
    device_id: int | None = Field(description="null for enterprise_unbound")
    organization_id: int | None
    opened_at: datetime.datetime
    level_changed_at: datetime.datetime
    cleared_at: datetime.datetime | None
    closed_by: str | None = Field(
        description="the name of whoever closed it by hand; null when it cleared by itself or is "
        "open"
    )
    closable: bool = Field(
        description="open, and unable to clear by itself (left management, any alert of a device "
        "that is gone) or clearing only on a later event that may never come (a failed command "
        "clears when a later command succeeds): a person may close it with POST "
        "/alerts/{id}/close"
    )
    summary: str = Field(description="what it is about, in the token account's language")
    details: dict = Field(
        description="the facts behind it (AMAPI's codes: nonComplianceDetails, postureDetails, "
        "the command's id, type, status and error_code, last_status_report_at…)"
    )


class AlertDetailOut(AlertOut):
    """An alert with its events, oldest first."""

    events: list[AlertEventOut]


class AlertPageOut(Schema):
    """One page of alerts."""

    items: list[AlertOut]
    next_cursor: str | None = Field(description="pass it as after= for the next page")


class AlertFilters(Schema):
    """The Alerts page's filters, as query parameters."""

    level: str = Field("", description=f"{LEVELS_DOC}; empty: any")
    kind: str = Field("", description=f"{KINDS_DOC}; empty: any")
    organization_id: int | None = None
    include_sub_organizations: bool = True
    device_id: int | None = Field(
        None, description="one device's alerts (a device outside the token's reach: 404)"
    )
    state: str = Field("open", description="open, cleared or all")


def _out(alert: Alert, now: datetime.datetime) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "level": LEVEL_CODES[alert.level],
        "state": "cleared" if alert.cleared_at else "open",
        "device_id": alert.device_id,
        "organization_id": alert.organization_id,
        "opened_at": alert.opened_at,
        "level_changed_at": alert.level_changed_at,
        "cleared_at": alert.cleared_at,
        "closed_by": alert.closed_by.user.name if alert.closed_by_id and alert.closed_by else None,
        "closable": alert.closable,
        "summary": alert_summary(alert, now),
        "details": alert.details or {},
    }


def _event(event: AlertEvent) -> AlertEventOut:
    return AlertEventOut(
        action=event.action,
        level=LEVEL_CODES[event.level],
        previous_level=LEVEL_CODES.get(event.previous_level) if event.previous_level else None,
        at=event.at,
    )


def _query(me: Principal, f: AlertFilters) -> selectors.AlertQuery:
    errors: dict[str, list[str]] = {}
    if f.level and f.level not in LEVEL_BY_CODE:
        errors["level"] = [_("Give important, warning or caution.")]
    if f.kind and f.kind not in AlertKind.values:
        errors["kind"] = [_("Unknown alert kind. Known: %(known)s.") % {"known": KINDS_DOC}]
    if f.state not in selectors.STATES:
        errors["state"] = [_("Give open, cleared or all.")]
    if errors:
        raise ValidationError(errors)
    return selectors.AlertQuery(
        level=LEVEL_BY_CODE.get(f.level, 0),
        kind=f.kind,
        organization=organization_get(me, f.organization_id, "alerts.view")
        if f.organization_id is not None
        else None,
        include_sub_organizations=f.include_sub_organizations,
        state=f.state,
        device=selectors.alert_device_get(me, f.device_id) if f.device_id is not None else None,
    )


@router.get("/alerts", response=AlertPageOut, summary="Alerts")
def alerts(
    request: HttpRequest,
    filters: Query[AlertFilters],
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> AlertPageOut:
    """The alerts of the token account's organizations (an alert without an organization,
    ``enterprise_unbound``, only for accounts of the whole contract): important first, then
    newest; page with ``next_cursor``."""
    me = _me(request)
    selectors.alerts_visible_to(me)  # refused (403) before the filters read anything
    query = _query(me, filters)
    rows, next_cursor = selectors.alert_page(me, query, after=after or "", size=limit)
    now = timezone.now()
    return AlertPageOut(items=[AlertOut(**_out(a, now)) for a in rows], next_cursor=next_cursor)


@router.get("/alerts/{alert_id}", response=AlertDetailOut, summary="One alert")
def alert_detail(request: HttpRequest, alert_id: int) -> AlertDetailOut:
    """Another contract's alert, or one outside the token account's organizations, is a 404."""
    me = _me(request)
    alert = selectors.alert_get(me, alert_id)
    return AlertDetailOut(
        **_out(alert, timezone.now()),
        events=[_event(e) for e in selectors.alert_events(alert)],
    )


@router.post("/alerts/{alert_id}/close", response=AlertDetailOut, summary="Close an alert")
def alert_close_endpoint(request: HttpRequest, alert_id: int) -> AlertDetailOut:
    """Close an open alert that cannot clear by itself (``closable``); it then counts as
    cleared, with one operation-log entry. 422 (invalid) for one that is cleared already or
    clears by itself; 403 without the permission to close alerts (administrators have it)."""
    me = _me(request)
    alert = alert_close(
        actor=Actor.from_request(request, kind=ActorKind.API),
        alert=selectors.alert_get(me, alert_id),
    )
    return alert_detail(request, alert.pk)


class AlertSettingsIO(InputSchema):
    """The contract's alert settings."""

    mail_immediately: list[annotation_of(Alert, "kind")] = Field(  # type: ignore[valid-type]
        description=f"the kinds mailed at once when they open or rise: {KINDS_DOC}"
    )
    caution_hours: int = Field(
        description="no_report is a caution after this many hours (1 … 8759)"
    )
    warning_hours: int = Field(
        description="no_report is a warning after this many hours (more than caution_hours, at "
        "most 8760)"
    )
    non_compliance_grace_minutes: int = Field(
        description="non_compliant opens after this many minutes (0: at once; at most 10080)"
    )
    summary_hour: int = Field(description="the daily summary's hour, 0 … 23")
    summary_timezone: str = text_field(
        AlertSettings,
        "summary_timezone",
        description=f"the daily summary's timezone, as {TIMEZONE_INPUT_DOC}",
    )


@router.get("/settings/alerts", response=AlertSettingsIO, summary="Alert settings")
def alert_settings(request: HttpRequest) -> AlertSettingsIO:
    """System administrators only."""
    me = _me(request)
    permission_require(me, ALERTS_SETTINGS)
    return AlertSettingsIO(**settings_values(alert_settings_of(me.contract)))  # type: ignore[attr-defined]


@router.put("/settings/alerts", response=AlertSettingsIO, summary="Change the alert settings")
def alert_settings_update_endpoint(
    request: HttpRequest, payload: AlertSettingsIO
) -> AlertSettingsIO:
    """Every field is given; one operation-log entry names what changed."""
    me = _me(request)
    contract = me.contract  # type: ignore[attr-defined]
    settings = alert_settings_update(
        actor=Actor.from_request(request, kind=ActorKind.API),
        contract=contract,
        values=payload.model_dump(),
    )
    return AlertSettingsIO(**settings_values(settings))
