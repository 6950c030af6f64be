"""The alerts' registrations with ``android.hooks`` and ``core.work`` (from
``AlertsConfig.ready()``): detection on every device change, command end and gateway answer;
the periodic check; what the alerts add to android's pages (``parts``): the device list's
column, the Devices tab's section and badge, a device's Alerts section."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from mamori.alerts import parts
from mamori.alerts.checks import alerts_check
from mamori.alerts.detect import command_detect, devices_detect, enterprise_detect
from mamori.alerts.models import Alert
from mamori.alerts.permissions import ALERTS_VIEW
from mamori.android import hooks
from mamori.android.models import Command
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import periodic_job

CHECK_EVERY = datetime.timedelta(minutes=1)


def devices_changed(device_ids: Sequence[int], removed_by_mamori: bool) -> None:
    """``android.hooks`` listener: detect the device kinds for the changed devices."""
    devices_detect(device_ids, removed_by_mamori=removed_by_mamori)


def devices_moved(device_ids: Sequence[int], organization_id: int) -> None:
    """``android.hooks`` listener: every alert of the moved devices, open or cleared, follows
    them (alerts are scoped like their devices: the new organization's administrators see the
    device's history, the old one's no longer do). One UPDATE."""
    Alert.objects.filter(device_id__in=list(device_ids)).exclude(
        organization_id=organization_id
    ).update(organization_id=organization_id)


def command_finished(command: Command) -> None:
    """``android.hooks`` listener: ``command_failed``."""
    command_detect(command)


def enterprise_answered(contract_id: int, method: str, error: Exception | None) -> None:
    """``android.hooks`` listener: ``enterprise_unbound``."""
    enterprise_detect(contract_id, method, error)


def check_job(work: Work, actor: Actor) -> str:
    """The periodic check (``checks.alerts_check``)."""
    return ", ".join(f"{k} {v}" for k, v in alerts_check().items())


def register() -> None:
    """Called from ``AlertsConfig.ready()``."""
    hooks.devices_changed_register("alerts", devices_changed)
    hooks.devices_moved_register("alerts", devices_moved)
    hooks.enterprise_notice_register("alerts", parts.binding_notice)
    hooks.command_finished_register("alerts", command_finished)
    hooks.enterprise_answered_register("alerts", enterprise_answered)
    hooks.device_column_register(hooks.DeviceColumn("alerts", _("Alert"), parts.level_cells))
    hooks.devices_nav_register(
        hooks.DevicesNavItem(
            section="alerts",
            label=_("Alerts"),
            url_name="alerts",
            permission=ALERTS_VIEW,
            badge=parts.important_badge,
            on_devices_tab=True,
        )
    )
    hooks.device_section_register(hooks.DeviceSection("alerts", parts.device_alerts_html))
    periodic_job("alerts.check", every=CHECK_EVERY)(check_job)
