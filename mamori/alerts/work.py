"""The alerts' registrations with ``android.hooks`` and ``core.work`` (from
``AlertsConfig.ready()``): detection on every device change, command end and gateway answer;
the periodic check; the device list's column and the Devices tab's section."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from html import escape

from django.utils.translation import gettext_lazy as _

from mamori.alerts import selectors
from mamori.alerts.checks import alerts_check
from mamori.alerts.detect import command_detect, devices_detect, enterprise_detect
from mamori.alerts.models import AlertLevel
from mamori.alerts.permissions import ALERTS_VIEW
from mamori.android import hooks
from mamori.android.models import Command
from mamori.core.access import Principal
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import periodic_job

CHECK_EVERY = datetime.timedelta(minutes=1)
TONES = {
    AlertLevel.IMPORTANT: "bg-red-lt",
    AlertLevel.WARNING: "bg-orange-lt",
    AlertLevel.CAUTION: "bg-yellow-lt",
}


def devices_changed(device_ids: Sequence[int], removed_by_mamori: bool) -> None:
    """``android.hooks`` listener: detect the device kinds for the changed devices."""
    devices_detect(device_ids, removed_by_mamori=removed_by_mamori)


def command_finished(command: Command) -> None:
    """``android.hooks`` listener: ``command_failed``."""
    command_detect(command)


def enterprise_answered(contract_id: int, method: str, error: Exception | None) -> None:
    """``android.hooks`` listener: ``enterprise_unbound``."""
    enterprise_detect(contract_id, method, error)


def check_job(work: Work, actor: Actor) -> str:
    """The periodic check (``checks.alerts_check``)."""
    return ", ".join(f"{k} {v}" for k, v in alerts_check().items())


def level_cells(account: Principal, device_ids: Sequence[int]) -> dict[int, str]:
    """The device list's "Alert" column: each device's highest open level (one query)."""
    labels = dict(AlertLevel.choices)
    return {
        pk: f'<span class="badge {TONES[AlertLevel(level)]}" data-alert-level="{level}">'
        f"{escape(str(labels[level]))}</span>"
        for pk, level in selectors.open_levels(account, device_ids).items()
    }


def register() -> None:
    """Called from ``AlertsConfig.ready()``."""
    hooks.devices_changed_register("alerts", devices_changed)
    hooks.command_finished_register("alerts", command_finished)
    hooks.enterprise_answered_register("alerts", enterprise_answered)
    hooks.device_column_register(hooks.DeviceColumn("alerts", _("Alert"), level_cells))
    hooks.devices_nav_register(
        hooks.DevicesNavItem(
            section="alerts",
            label=_("Alerts"),
            url_name="alerts",
            permission=ALERTS_VIEW,
            badge=selectors.open_important_count,
        )
    )
    periodic_job("alerts.check", every=CHECK_EVERY)(check_job)
