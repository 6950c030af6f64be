"""What the alerts add to android's pages through ``android.hooks`` (registered by ``work``):
the device list's "Alert" column, the count of open important alerts on the Devices tab and its
Alerts section, and the Alerts section of a device's page. Each reads in one query at most."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from html import escape
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.alerts import selectors
from mamori.alerts.models import LEVEL_CODES, Alert, AlertKind, AlertLevel
from mamori.alerts.permissions import ALERTS_VIEW
from mamori.alerts.text import alert_summary
from mamori.android.hooks import NavBadge
from mamori.android.models import Device
from mamori.core.access import Principal, has_permission

LEVEL_TONES = {
    AlertLevel.IMPORTANT: "bg-red-lt",
    AlertLevel.WARNING: "bg-orange-lt",
    AlertLevel.CAUTION: "bg-yellow-lt",
}
_COUNT_ON_REQUEST = "_mamori_open_important_alerts"


def alert_badge(alert: Alert, now: datetime.datetime) -> dict[str, Any]:
    """What every view of an alert shows beside it: ``level_code``, ``tone`` (the badge's
    colour) and ``summary`` (one sentence, ``text.alert_summary``)."""
    return {
        "alert": alert,
        "level_code": LEVEL_CODES[alert.level],
        "tone": LEVEL_TONES[AlertLevel(alert.level)],
        "summary": alert_summary(alert, now),
    }


def level_cells(account: Principal, device_ids: Sequence[int]) -> dict[int, str]:
    """The device list's "Alert" column: each device's highest open level (one query)."""
    labels = dict(AlertLevel.choices)
    return {
        pk: f'<span class="badge {LEVEL_TONES[AlertLevel(level)]}" data-alert-level="{level}">'
        f"{escape(str(labels[level]))}</span>"
        for pk, level in selectors.open_levels(account, device_ids).items()
    }


def important_open(request: HttpRequest) -> int:
    """``selectors.open_important_count`` for the account of ``request``, counted once per
    request (the navigation's Devices tab, the Devices sub-tab and the home page all show it)."""
    count = getattr(request, _COUNT_ON_REQUEST, None)
    if count is None:
        count = selectors.open_important_count(request.user)  # type: ignore[arg-type]
        setattr(request, _COUNT_ON_REQUEST, count)
    return int(count)


def important_badge(request: HttpRequest) -> NavBadge | None:
    """The badge of the Devices tab and its Alerts section: "3 important" (重要 3), saying in
    full what it counts; None when no important alert is open."""
    count = important_open(request)
    if not count:
        return None
    return NavBadge(
        text=_("%(n)s important") % {"n": count},
        title=ngettext("%(n)s important alert open", "%(n)s important alerts open", count)
        % {"n": count},
    )


def device_alerts_html(request: HttpRequest, device: Device) -> str:
    """The Alerts section of a device's page: its open alerts (level, kind, since when, the
    list's sentence), each linking to its page, and a link to the list of all its alerts. For
    accounts with ``alerts.view`` only ("" otherwise); one query."""
    account: Principal = request.user  # type: ignore[assignment]
    if not has_permission(account, ALERTS_VIEW):
        return ""
    now = timezone.now()
    domain = account.contract.domain  # type: ignore[attr-defined]
    rows = [
        {
            **alert_badge(alert, now),
            "url": reverse("panel:alert_detail", kwargs={"domain": domain, "alert_id": alert.pk}),
        }
        for alert in selectors.device_open_alerts(account, device)
    ]
    all_url = reverse("panel:alerts", kwargs={"domain": domain})
    return render_to_string(
        "alerts/device_section.html",
        {
            "rows": rows,
            "all_url": f"{all_url}?device={device.pk}&state=all",
            "zone_name": timezone.get_current_timezone_name(),
        },
        request=request,
    )


def binding_notice(request: HttpRequest) -> str:
    """Above Settings → Android Enterprise while the contract's ``enterprise_unbound`` alert is
    open (one query): Google refuses Mamori's calls; restore access in Google's console rather
    than unbind and sign up again (the devices would not come back)."""
    account = request.user
    if not has_permission(account, ALERTS_VIEW):  # type: ignore[arg-type]
        return ""
    alert = (
        selectors.alerts_visible_to(account)  # type: ignore[arg-type]
        .filter(device__isnull=True, kind=AlertKind.ENTERPRISE_UNBOUND, cleared_at__isnull=True)
        .first()
    )
    if alert is None:
        return ""
    return render_to_string(
        "alerts/binding_notice.html",
        {
            "alert": alert,
            "url": reverse(
                "panel:alert_detail",
                kwargs={"domain": request.contract.domain, "alert_id": alert.pk},  # type: ignore[attr-defined]
            ),
        },
        request=request,
    )
