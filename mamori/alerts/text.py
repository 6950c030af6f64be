"""An alert in plain words, in the active language (the alert page, the API's ``summary``, and
the mail the other half of issue 10 writes): what happened and the facts of its ``details``.
Non-compliance reasons and security risks reuse the Devices page's words
(``android.inventory.page``, ``reasons.py``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.alerts.models import Alert, AlertKind
from mamori.android.commands.lifecycle import command_reason
from mamori.android.inventory.page import compliance
from mamori.android.inventory.reasons import reason_text
from mamori.android.models import Command, CommandStatus, CommandType


def _hours_since(value: Any, now: datetime.datetime) -> int | None:
    when = parse_datetime(value) if isinstance(value, str) else None
    return int((now - when).total_seconds() // 3600) if when else None


def _message(message: Any, language: str) -> str:
    if not isinstance(message, dict):
        return ""
    localized = message.get("localizedMessages") or {}
    return str(localized.get(language) or message.get("defaultMessage") or "")


def alert_summary(alert: Alert, now: datetime.datetime) -> str:
    """One sentence saying what the alert is about (no device name: shown beside it)."""
    details = alert.details or {}
    if alert.kind == AlertKind.LEFT_MANAGEMENT:
        return _(
            "The device left management without Mamori ordering it: it reported its deletion, "
            "or Google no longer lists it."
        )
    if alert.kind == AlertKind.NON_COMPLIANT:
        count = len(details.get("nonComplianceDetails") or [])
        return ngettext(
            "The device does not comply with its profile (%(count)d reason).",
            "The device does not comply with its profile (%(count)d reasons).",
            count,
        ) % {"count": count}
    if alert.kind == AlertKind.NO_REPORT:
        hours = _hours_since(details.get("last_status_report_at"), now)
        if hours is None:
            return _("The device has never sent a status report.")
        return ngettext(
            "The device has sent no status report for %(hours)d hour.",
            "The device has sent no status report for %(hours)d hours.",
            hours,
        ) % {"hours": hours}
    if alert.kind == AlertKind.COMPROMISED:
        if details.get("posture") == "POTENTIALLY_COMPROMISED":
            return _("Google reports the device as potentially compromised.")
        return _("Google reports the device as at risk.")
    if alert.kind == AlertKind.COMMAND_FAILED:
        label = dict(CommandType.choices).get(details.get("type", ""), details.get("type", ""))
        if details.get("status") == CommandStatus.EXPIRED:
            return _("The command “%(command)s” expired before the device carried it out.") % {
                "command": label
            }
        return _("The command “%(command)s” failed on the device.") % {"command": label}
    if alert.kind == AlertKind.ENTERPRISE_UNBOUND:
        return _(
            "Google answered that the Android Enterprise of this contract is gone or that "
            "Mamori's access to it was revoked (%(code)s). Devices cannot be managed until it "
            "is bound again."
        ) % {"code": details.get("code", "")}
    return str(alert.get_kind_display())


def alert_notes(alert: Alert) -> list[str]:
    """More sentences a person needs (what Mamori cannot know, what clears the alert)."""
    notes = {
        AlertKind.LEFT_MANAGEMENT: _(
            "Google does not reliably tell when a user removes the work profile or resets the "
            "device: such devices show up as “No status report” instead. This alert stays open: "
            "a device that left does not come back under the same name."
        ),
        AlertKind.NON_COMPLIANT: _(
            "Opened once the device had been non-compliant for the contract's grace period; it "
            "clears when the device reports compliance."
        ),
        AlertKind.NO_REPORT: _(
            "Measured from the newest status report Mamori applied, on the server's clock. A "
            "device whose work profile was removed or that was reset stops reporting without "
            "telling. It clears when the device reports again."
        ),
        AlertKind.COMPROMISED: _("It clears when Google reports the device secure again."),
        AlertKind.COMMAND_FAILED: _("It clears when a later command of the device succeeds."),
        AlertKind.ENTERPRISE_UNBOUND: _(
            "It clears when a call to Google about the enterprise succeeds again."
        ),
    }
    return [str(notes[AlertKind(alert.kind)])] if alert.kind in AlertKind.values else []


def alert_facts(alert: Alert, language: str) -> dict[str, Any]:
    """The details in words: ``reasons`` (non-compliance rows as the Devices page shows them),
    ``risks`` (``[{"risk", "advice": [str]}]``), ``command`` (its reason when it failed)."""
    details = alert.details or {}
    facts: dict[str, Any] = {"reasons": [], "risks": [], "command": ""}
    if alert.kind == AlertKind.NON_COMPLIANT:
        facts["reasons"] = compliance(details)
    if alert.kind == AlertKind.COMPROMISED:
        facts["risks"] = [
            {
                "risk": reason_text("risk", d.get("securityRisk")),
                "advice": [m for m in (_message(a, language) for a in d.get("advice") or []) if m],
            }
            for d in details.get("postureDetails") or []
        ]
    if alert.kind == AlertKind.COMMAND_FAILED and details.get("error_code"):
        facts["command"] = command_reason(Command(error_code=str(details["error_code"])))
    return facts
