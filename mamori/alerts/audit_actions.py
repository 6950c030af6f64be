"""The operation-log actions of the alerts: a change of the contract's alert settings (issue 10
point 6) and a person closing an alert. Alerts themselves are the system's findings, not
operation-log entries."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mamori.alerts.models import AlertKind
from mamori.audit.registry import (
    action_register,
    key_labels_register,
    target_label_register,
    value_labels_register,
)
from mamori.audit.targets import TargetType

SETTING_KEYS = (
    "mail_immediately",
    "caution_hours",
    "warning_hours",
    "non_compliance_grace_minutes",
    "summary_hour",
    "summary_timezone",
)


CLOSE_KEYS = ("alert_state",)


class AlertsAction(StrEnum):
    SETTINGS_CHANGED = "alert_settings.changed"
    CLOSED = "alert.closed"


def audit_actions_register() -> None:
    """Called from ``AlertsConfig.ready()``."""
    action_register(
        AlertsAction.SETTINGS_CHANGED,
        _("Alert settings changed"),
        before=SETTING_KEYS,
        after=SETTING_KEYS,
    )
    action_register(AlertsAction.CLOSED, _("Alert closed"), before=CLOSE_KEYS, after=CLOSE_KEYS)
    key_labels_register(
        {
            "alert_state": _("State"),
            "mail_immediately": _("Kinds mailed at once"),
            "caution_hours": _("No report: caution after (hours)"),
            "warning_hours": _("No report: warning after (hours)"),
            "non_compliance_grace_minutes": _("Non-compliance grace (minutes)"),
            "summary_hour": _("Daily summary at (hour)"),
            "summary_timezone": _("Daily summary timezone"),
        }
    )
    # Codes shown by their names in the reader's language (a newcomer read "left_management").
    kinds = dict(AlertKind.choices)
    value_labels_register("mail_immediately", kinds)
    value_labels_register(
        "alert_state", {"open": pgettext_lazy("alert", "Open"), "closed": _("Closed by hand")}
    )
    # The target's label is stored as "<kind code> <device>" and read in the reader's language.
    target_label_register(TargetType.ALERT, alert_target_label)


def alert_target_label(stored: str) -> str | None:
    """``"left_management SN-1"`` → "Left management: SN-1" in the active language; ``None``
    for a label it does not know."""
    code, _sep, device = stored.partition(" ")
    label = dict(AlertKind.choices).get(code)
    if label is None:
        return None
    return f"{label}: {device}" if device else str(label)
