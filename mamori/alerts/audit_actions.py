"""The operation-log action of the alerts: a change of the contract's alert settings (issue 10
point 6). Alerts themselves are the system's findings, not operation-log entries."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register

SETTING_KEYS = (
    "mail_immediately",
    "caution_hours",
    "warning_hours",
    "non_compliance_grace_minutes",
    "summary_hour",
    "summary_timezone",
)


class AlertsAction(StrEnum):
    SETTINGS_CHANGED = "alert_settings.changed"


def audit_actions_register() -> None:
    """Called from ``AlertsConfig.ready()``."""
    action_register(
        AlertsAction.SETTINGS_CHANGED,
        _("Alert settings changed"),
        before=SETTING_KEYS,
        after=SETTING_KEYS,
    )
    key_labels_register(
        {
            "mail_immediately": _("Kinds mailed at once"),
            "caution_hours": _("No report: caution after (hours)"),
            "warning_hours": _("No report: warning after (hours)"),
            "non_compliance_grace_minutes": _("Non-compliance grace (minutes)"),
            "summary_hour": _("Daily summary at (hour)"),
            "summary_timezone": _("Daily summary timezone"),
        }
    )
