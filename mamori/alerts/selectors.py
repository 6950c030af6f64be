"""Reads of alerts a person can reach: scoped like devices (an alert's organization is its
device's; one without an organization, ``enterprise_unbound``, is seen by accounts of the whole
contract only), taking the action (CONTRIBUTING: another contract's alert is a 404)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.db.models import Q, QuerySet

from mamori.alerts.models import Alert, AlertEvent, AlertLevel
from mamori.alerts.permissions import ALERTS_VIEW
from mamori.android.models import Device
from mamori.core.access import Principal, has_permission, object_get, permission_code, restrict
from mamori.core.keyset import Keyset
from mamori.directory.models import Organization

ORDER = Keyset("level", descending=True)  # important first, then newest (ids grow with time)
STATES = ("open", "cleared", "all")


def alerts_visible_to(account: Principal, action: str = "view") -> QuerySet[Alert]:
    """The contract's alerts in the account's organizations; ``PermissionDenied`` without
    ``alerts.<action>``."""
    return restrict(
        Alert.objects.all(),
        account,
        permission_code("alerts", action),
        path_field="organization__path",
    )


def alert_get(account: Principal, pk: int | str) -> Alert:
    """One alert with its device and organization: ``NotFound`` outside the account's contract
    or organizations, ``PermissionDenied`` in scope without ``alerts.view``."""
    return object_get(
        Alert.objects.select_related("device", "organization", "closed_by__user"),
        account,
        pk,
        ALERTS_VIEW,
        path_field="organization__path",
    )


def alert_events(alert: Alert) -> list[AlertEvent]:
    """The alert's events, oldest first (the alert was read through ``alert_get``)."""
    return list(AlertEvent.objects.filter(alert=alert).order_by("at", "pk"))


@dataclasses.dataclass(frozen=True)
class AlertQuery:
    """The list's filters: ``level`` a rank (0: any), ``kind`` a code (""), ``organization``
    with its sub-organizations, ``device`` (read through ``alert_device_get``), ``state`` one of
    ``STATES``."""

    level: int = 0
    kind: str = ""
    organization: Organization | None = None
    include_sub_organizations: bool = True
    state: str = "open"
    device: Device | None = None


def alert_device_get(account: Principal, pk: int | str) -> Device:
    """A device whose alerts the account may filter by: ``NotFound`` outside the account's
    contract or organizations (as for its alerts), ``PermissionDenied`` without
    ``alerts.view``. Removed devices too (their alerts stay)."""
    return object_get(
        Device.objects.all(), account, pk, ALERTS_VIEW, path_field="organization__path"
    )


def device_open_alerts(account: Principal, device: Device) -> list[Alert]:
    """The device's open alerts the account may see, important first then newest (one query:
    at most one a kind, ``alert_open_once_per_device``); ``PermissionDenied`` without
    ``alerts.view``. The caller read ``device`` through a scoped selector."""
    return list(ORDER.order(alerts_visible_to(account).filter(device=device, cleared_at=None)))


def alerts_filtered(account: Principal, query: AlertQuery) -> QuerySet[Alert]:
    """The alerts of ``query`` the account may see, in the list's order."""
    rows = alerts_visible_to(account)
    if query.level:
        rows = rows.filter(level=query.level)
    if query.kind:
        rows = rows.filter(kind=query.kind)
    if query.organization is not None:
        org = query.organization
        rows = rows.filter(
            Q(organization__path__startswith=org.path)
            if query.include_sub_organizations
            else Q(organization=org)
        )
    if query.device is not None:
        rows = rows.filter(device=query.device)
    if query.state == "open":
        rows = rows.filter(cleared_at__isnull=True)
    elif query.state == "cleared":
        rows = rows.filter(cleared_at__isnull=False)
    return ORDER.order(rows.select_related("device", "organization", "closed_by__user"))


def alert_page(
    account: Principal, query: AlertQuery, *, after: str = "", size: int = 50
) -> tuple[list[Alert], str | None]:
    """One page of the list and the cursor of the next (None on the last page). A bad cursor is
    a ``ValidationError`` on ``after``."""
    rows = alerts_filtered(account, query)
    if after:
        rows = ORDER.after(rows, ORDER.decode(after, field="after"))
    found = list(rows[: size + 1])
    more = len(found) > size
    return found[:size], ORDER.encode(found[size - 1]) if more else None


def open_levels(account: Principal, device_ids: Sequence[int]) -> dict[int, int]:
    """``{device id: highest open level}`` of the devices that have an open alert the account
    may see (one query); empty without ``alerts.view``."""
    if not device_ids or not has_permission(account, ALERTS_VIEW):
        return {}
    levels: dict[int, int] = {}
    for device_id, level in (
        alerts_visible_to(account)
        .filter(device_id__in=list(device_ids), cleared_at__isnull=True)
        .values_list("device_id", "level")
    ):
        levels[device_id] = max(level, levels.get(device_id, 0))
    return levels


def open_important_count(account: Principal) -> int:
    """How many important alerts are open that the account may see; 0 without ``alerts.view``."""
    if not has_permission(account, ALERTS_VIEW):
        return 0
    return (
        alerts_visible_to(account)
        .filter(cleared_at__isnull=True, level=AlertLevel.IMPORTANT)
        .count()
    )
