"""An alert in plain words, in the active language (the alert page, the API's ``summary``, and
the mail the other half of issue 10 writes): what happened and the facts of its ``details``,
in the past tense once the alert had cleared.
Non-compliance reasons and security risks reuse the Devices page's words
(``android.inventory.page``, ``reasons.py``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.alerts.models import Alert, AlertKind, AlertLevel
from mamori.android.commands.lifecycle import RPC_CODES, command_reason
from mamori.android.inventory.page import compliance
from mamori.android.inventory.reasons import reason_text
from mamori.android.models import Command, CommandStatus, CommandType, SecurityPosture
from mamori.android.user_facing import user_facing_text

# A failed command's ``error_code`` is Google's own answer when it is a ``google.rpc.Code`` name
# (a refused ``issueCommand``, or the operation's ``error``), Mamori's NOT_SENT when it never
# reached Google, and the device's otherwise (AMAPI's ``Command.errorCode`` and the
# command-specific statuses, ANDROID.md 2.2). UNKNOWN is both a code name and an errorCode; the
# errorCode is read first (``lifecycle.operation_outcome``), so it counts as the device's.
GOOGLE_CODES = frozenset(RPC_CODES.values()) - {"UNKNOWN"}
NOT_SENT = "NOT_SENT"


def _hours_between(value: Any, now: datetime.datetime) -> int | None:
    when = parse_datetime(value) if isinstance(value, str) else None
    return int((now - when).total_seconds() // 3600) if when else None


def is_past(alert: Alert, now: datetime.datetime) -> bool:
    """Whether ``alert`` had cleared at ``now``: it is then told in the past tense."""
    return alert.cleared_at is not None and alert.cleared_at <= now


def alert_summary(alert: Alert, now: datetime.datetime) -> str:
    """One sentence saying what the alert is about (no device name: shown beside it), as at
    ``now``: in the past tense once the alert had cleared then (``is_past``)."""
    past = is_past(alert, now)
    if alert.kind == AlertKind.NON_COMPLIANT:
        return _non_compliant(alert, past)
    if alert.kind == AlertKind.NO_REPORT:
        return _no_report(alert, alert.cleared_at if past and alert.cleared_at else now, past)
    if alert.kind == AlertKind.COMPROMISED:
        return _compromised(alert, past)
    if alert.kind == AlertKind.COMMAND_FAILED:
        return _command_failed(alert.details or {})
    if alert.kind == AlertKind.ENTERPRISE_UNBOUND:
        return _enterprise_unbound(alert.details or {}, past)
    if alert.kind == AlertKind.LEFT_MANAGEMENT:
        return _(
            "The device left management without Mamori ordering it: it reported its deletion, "
            "or Google no longer lists it."
        )
    return str(alert.get_kind_display())


def _non_compliant(alert: Alert, past: bool) -> str:
    count = len((alert.details or {}).get("nonComplianceDetails") or [])
    if past:
        return ngettext(
            "The device did not comply with its profile (%(count)d reason).",
            "The device did not comply with its profile (%(count)d reasons).",
            count,
        ) % {"count": count}
    return ngettext(
        "The device does not comply with its profile (%(count)d reason).",
        "The device does not comply with its profile (%(count)d reasons).",
        count,
    ) % {"count": count}


def _no_report(alert: Alert, until: datetime.datetime, past: bool) -> str:
    hours = _hours_between((alert.details or {}).get("last_status_report_at"), until)
    if hours is None:
        if past:
            return _("The device had never sent a status report.")
        return _("The device has never sent a status report.")
    if past:
        return ngettext(
            "The device sent no status report for %(hours)d hour.",
            "The device sent no status report for %(hours)d hours.",
            hours,
        ) % {"hours": hours}
    return ngettext(
        "The device has sent no status report for %(hours)d hour.",
        "The device has sent no status report for %(hours)d hours.",
        hours,
    ) % {"hours": hours}


def _compromised(alert: Alert, past: bool) -> str:
    # The level says the posture (``detect.RISKY``): an event told at a level that is no longer
    # the alert's is told with the posture of that level, not the alert's latest details.
    from mamori.alerts.detect import RISKY  # detect → dispatch → mail → text

    at_level = {level: posture for posture, level in RISKY.items()}
    posture = at_level.get(AlertLevel(alert.level), (alert.details or {}).get("posture"))
    if posture == SecurityPosture.POTENTIALLY_COMPROMISED:
        if past:
            return _("Google reported the device as potentially compromised.")
        return _("Google reports the device as potentially compromised.")
    if past:
        return _("Google reported the device as at risk.")
    return _("Google reports the device as at risk.")


def _command_failed(details: dict[str, Any]) -> str:
    label = dict(CommandType.choices).get(details.get("type", ""), details.get("type", ""))
    code = str(details.get("error_code") or "")
    if details.get("status") == CommandStatus.EXPIRED:
        return _("The command “%(command)s” expired before the device carried it out.") % {
            "command": label
        }
    if code == NOT_SENT:
        return _("The command “%(command)s” could not be sent to Google.") % {"command": label}
    if code in GOOGLE_CODES:
        return _("Google refused the command “%(command)s”.") % {"command": label}
    return _("The command “%(command)s” failed on the device.") % {"command": label}


def _enterprise_unbound(details: dict[str, Any], past: bool) -> str:
    code = {"code": details.get("code", "")}
    if past:
        return (
            _(
                "Google refused Mamori's calls about this contract's Android Enterprise "
                "(%(code)s): Mamori's access to it had been revoked, or the enterprise deleted."
            )
            % code
        )
    return (
        _(
            "Google refuses Mamori's calls about this contract's Android Enterprise (%(code)s): "
            "Mamori's access to it was revoked, or the enterprise was deleted."
        )
        % code
    )


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
        AlertKind.COMMAND_FAILED: _("It clears when a later command to this device succeeds."),
        AlertKind.ENTERPRISE_UNBOUND: _(
            "Restore Mamori's access in Google's console (managed Google Play, or the Google "
            "Admin console): the alert clears at Mamori's next successful call to Google about "
            "the enterprise. Sign up for a new enterprise only if this one is truly gone: the "
            "devices enrolled in it do not come back, and each would have to be enrolled again."
        ),
    }
    return [str(notes[AlertKind(alert.kind)])] if alert.kind in AlertKind.values else []


def alert_facts(alert: Alert, language: str | None = None) -> dict[str, Any]:
    """The details in words, in ``language`` (default: the active one): ``reasons``
    (non-compliance rows as the Devices page shows them), ``risks`` (``[{"risk", "advice":
    [str]}]``, Google's advice in that language: ``android.user_facing``), ``command`` (its
    reason when it failed), ``command_id`` (the failed command, whose page tells each app's
    result; None) and ``enterprise_settings`` (True: the page of Settings → Android Enterprise
    is where the binding is seen)."""
    details = alert.details or {}
    facts: dict[str, Any] = {
        "reasons": [],
        "risks": [],
        "command": "",
        "command_id": None,
        "enterprise_settings": alert.kind == AlertKind.ENTERPRISE_UNBOUND,
    }
    if alert.kind == AlertKind.NON_COMPLIANT:
        facts["reasons"] = compliance(details)
    if alert.kind == AlertKind.COMPROMISED:
        facts["risks"] = [
            {
                "risk": reason_text("risk", d.get("securityRisk")),
                "advice": [
                    text
                    for text in (user_facing_text(a, language) for a in d.get("advice") or [])
                    if text
                ],
            }
            for d in details.get("postureDetails") or []
        ]
    if alert.kind == AlertKind.COMMAND_FAILED:
        if details.get("error_code"):
            facts["command"] = command_reason(Command(error_code=str(details["error_code"])))
        if isinstance(details.get("command_id"), int):
            facts["command_id"] = details["command_id"]
    return facts
