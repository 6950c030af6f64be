"""The alert pages: the list (Devices tab → Alerts), an alert's page, Settings → Alerts. They
only call the selectors and the service."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.alerts import selectors, services
from mamori.alerts.forms import AlertSettingsForm
from mamori.alerts.mail import local_time, main_address, recipients_of
from mamori.alerts.models import (
    LEVEL_BY_CODE,
    LEVEL_CODES,
    Alert,
    AlertAction,
    AlertKind,
    AlertLevel,
    AlertSettings,
    AlertSummary,
)
from mamori.alerts.notices import alert_notices
from mamori.alerts.parts import alert_badge
from mamori.alerts.permissions import ALERTS_CLOSE, ALERTS_SETTINGS
from mamori.alerts.services import (
    GRACE_MAX,
    HOURS_MAX,
    alert_settings_of,
    alert_settings_update,
    settings_values,
)
from mamori.alerts.summary import latest_due, next_due
from mamori.alerts.text import alert_facts, alert_notes
from mamori.android.selectors import enterprise_bound
from mamori.core.access import NotFound, Principal, has_permission, permission_require
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.replica import replica_reads
from mamori.core.widgets import FastSelect
from mamori.directory.forms import organization_options
from mamori.directory.selectors import organization_get

PAGE_SIZE = 50
# The largest id a database stores (a bigger one in the URL reads as no such object).
ID_MAX = 2**63 - 1


def _me(request: HttpRequest) -> Principal:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


def _id(value: str) -> int | None:
    """A positive id from the URL, or None."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= ID_MAX else None


def _visible[T](read: Callable[[Principal, int], T], me: Principal, value: str) -> T | None:
    """The object of the id ``value`` read by ``read`` (a scoped selector), or None when the
    value is no id or names nothing the account may see (said alike: another contract's id is
    indistinguishable from a missing one)."""
    pk = _id(value)
    if pk is None:
        return None
    try:
        return read(me, pk)
    except NotFound:
        return None


def alert_query(request: HttpRequest, params: QueryDict) -> tuple[selectors.AlertQuery, list[str]]:
    """The list's filters from the URL, and the names of those whose value it could not read:
    left out and said on the page, never an error page (an organization or a device the account
    cannot see reads as one that does not exist)."""
    me = _me(request)
    level, kind = params.get("level", ""), params.get("kind", "")
    state, sub = params.get("state", ""), params.get("sub", "")
    org, device = params.get("org", ""), params.get("device", "")
    query = selectors.AlertQuery(
        level=LEVEL_BY_CODE.get(level, 0),
        kind=kind if kind in AlertKind.values else "",
        organization=_visible(lambda who, pk: organization_get(who, pk, "alerts.view"), me, org),
        include_sub_organizations=sub != "0",
        state=state if state in selectors.STATES else "open",
        device=_visible(selectors.alert_device_get, me, device),
    )
    unread = [
        (_("Level"), level and not query.level),
        (_("Kind"), kind and not query.kind),
        (_("Organization"), org and query.organization is None),
        (_("Sub-organizations"), sub not in ("", "0", "1")),
        (_("Device"), device and query.device is None),
        (_("State"), state and state not in selectors.STATES),
    ]
    return query, [str(name) for name, bad in unread if bad]


def alert_row(alert: Alert, now: Any) -> dict[str, Any]:
    """What the list and the page show of an alert (``parts.alert_badge`` and its device)."""
    return {
        **alert_badge(alert, now),
        "device": str(alert.device) if alert.device_id else "",
    }


@require_safe
@account_required
@replica_reads
def alerts_list(request: HttpRequest) -> HttpResponse:
    """Devices → Alerts: important first, then newest; filters by level, kind, organization and
    state (open by default)."""
    me = _me(request)
    selectors.alerts_visible_to(me)  # refused (403) before anything else is read
    query, unread = alert_query(request, request.GET)
    after = request.GET.get("after", "")[:200]
    try:
        alerts, next_cursor = selectors.alert_page(me, query, after=after, size=PAGE_SIZE)
    except ValidationError:
        alerts, next_cursor = selectors.alert_page(me, query, size=PAGE_SIZE)
        unread.append(_("Page"))
        after = ""
    params = request.GET.copy()
    params.pop("after", None)
    now = timezone.now()
    options = organization_options(me, "alerts.view").with_first("", _("All organizations"))
    selected = query.organization.pk if query.organization is not None else ""
    return render(
        request,
        "alerts/list.html",
        {
            "rows": [alert_row(a, now) for a in alerts],
            "query": query,
            "unread": unread,
            "device_name": str(query.device) if query.device is not None else "",
            "without_device": _without(params, "device"),
            "level_code": LEVEL_CODES.get(query.level, ""),
            "levels": [(LEVEL_CODES[v], label) for v, label in reversed(AlertLevel.choices)],
            "kinds": AlertKind.choices,
            "states": [
                ("open", pgettext("alert", "Open")),
                ("cleared", pgettext("alert", "Cleared")),
                ("all", _("All")),
            ],
            "org_select": FastSelect(choices=options).render(
                "org", selected, attrs={"id": "org", "class": "form-select"}
            ),
            "params": params.urlencode(),
            "next_cursor": next_cursor,
            "first_page": not after,
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "devices",
            "section": "alerts",
            "bound": enterprise_bound(me),
        },
    )


def _without(params: QueryDict, name: str) -> str:
    """``params`` without ``name``, URL-encoded."""
    rest = params.copy()
    rest.pop(name, None)
    return rest.urlencode()


def notice_rows(alert: Alert) -> list[dict[str, Any]]:
    """The mails and webhook deliveries of the alert's events (``notices.alert_notices``), with
    their channel and status in words."""
    channels = {
        "at_once": _("Mail at once"),
        "summary": _("Daily summary"),
        "webhook": _("Webhook"),
    }
    statuses = {
        "waiting": _("Waiting to be gathered into one mail"),
        "pending": _("Pending"),
        "running": _("Sending"),
        "sent": _("Sent"),
        "failed": _("Failed"),
        "not_sent": _("Not sent: the recipient can no longer be mailed"),
        "delivered": _("Delivered"),
    }
    actions = dict(AlertAction.choices)
    return [
        {
            "notice": n,
            "action": actions.get(n.action, n.action),
            "channel": channels.get(n.channel, n.channel),
            "status": statuses.get(n.status, n.status),
        }
        for n in alert_notices(alert)
    ]


@require_safe
@account_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """An alert in plain words, with its events."""
    me = _me(request)
    alert = selectors.alert_get(me, alert_id)
    return render(
        request,
        "alerts/detail.html",
        {
            **alert_row(alert, timezone.now()),
            "facts": alert_facts(alert, (get_language() or "en").split("-")[0]),
            # What to do, and how it clears: for an open alert (a cleared one's would mislead).
            "notes": alert_notes(alert) if alert.cleared_at is None else [],
            "clears_later": alert.kind == AlertKind.COMMAND_FAILED
            and not (alert.device and alert.device.deleted_at),
            "events": selectors.alert_events(alert),
            # Who was mailed and which URLs were called (a webhook URL may carry a secret): for
            # those who manage the alert settings and webhooks, not for every viewer of alerts.
            "notices": notice_rows(alert) if has_permission(me, ALERTS_SETTINGS) else None,
            "close_url": _url(request, "alert_close", alert_id=alert.pk)
            if alert.closable and has_permission(me, ALERTS_CLOSE)
            else "",
            "device_url": _url(request, "device_detail", device_id=alert.device_id)
            if alert.device_id
            else "",
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "devices",
            "section": "alerts",
            "bound": enterprise_bound(me),
        },
    )


@require_POST
@account_required
def alert_close(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Close an alert that cannot clear by itself (``services.alert_close``); back to its page
    with what happened."""
    alert = selectors.alert_get(_me(request), alert_id)
    try:
        services.alert_close(actor=Actor.from_request(request), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The alert has been closed."))
    return HttpResponseRedirect(_url(request, "alert_detail", alert_id=alert.pk))


@account_required
def alerts_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Alerts (System administrators only)."""
    me = _me(request)
    permission_require(me, ALERTS_SETTINGS)
    contract = request.contract  # type: ignore[attr-defined]
    data = request.POST if request.method == "POST" else None
    saved = alert_settings_of(contract)
    form = AlertSettingsForm(data, initial=settings_values(saved))
    if data is not None and form.is_valid():
        try:
            alert_settings_update(
                actor=Actor.from_request(request), contract=contract, values=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The alert settings have been saved."))
            return HttpResponseRedirect(_url(request, "alerts_settings"))
    return render(
        request,
        "alerts/settings.html",
        {
            "form": form,
            "hours_max": HOURS_MAX,
            "caution_max": HOURS_MAX - 1,
            "grace_max": GRACE_MAX,
            "next_summary": next_summary(saved),
            "recipients": ", ".join(
                f"{a.user.name} <{main_address(a)}>"
                for a in recipients_of([contract.pk])[contract.pk]
            ),
            "users_url": reverse("panel:users", kwargs={"domain": contract.domain}),
            "tab": "settings",
            "section": "alerts",
        },
    )


def next_summary(settings: AlertSettings) -> dict[str, str]:
    """When the next daily summary is due, as the saved settings make it: ``summary`` in the
    summary's timezone, ``viewer`` in the viewer's (empty when they are the same zone), each
    with the zone named; ``now`` "1" when the latest due one is not made yet (the hour was just
    moved to one already past today, or the workers were down at the hour): a worker sends it
    within a minute."""
    now = timezone.now()
    zone = zoneinfo.ZoneInfo(settings.summary_timezone)
    day, latest = latest_due(now, settings.summary_hour, zone)
    pending = not AlertSummary.objects.filter(contract_id=settings.contract_id, day=day).exists()
    due = latest if pending else next_due(now, settings.summary_hour, zone)
    viewer = timezone.get_current_timezone()
    return {
        "now": "1" if pending else "",
        "summary": local_time(due, zone),
        "viewer": "" if str(viewer) == str(zone) else local_time(due, viewer),
    }
