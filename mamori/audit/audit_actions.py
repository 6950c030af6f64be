"""The operation-log actions of the log itself: its settings changed (retention), and the
retention job removing old entries."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register

SETTING_KEYS = ("retention_months", "archive")
# What a retention run says: how many entries older than which time (UTC, ISO 8601: "cutoff")
# were removed, the kept chain's new start, and the archive files written (names inside the
# archive directory, "<domain>/<YYYY-MM>.jsonl.gz"). No entry contents: those are in the files.
APPLIED_KEYS = ("removed", "cutoff", "retention_months", "first_seq", "archives")


class LogAction(StrEnum):
    # "contract.": the log's settings are the contract's, and the log screen's action filter
    # groups actions by what comes before the dot (these join "Contract").
    SETTINGS_CHANGED = "contract.log_settings_changed"
    RETENTION_APPLIED = "contract.log_retention_applied"


def audit_actions_register() -> None:
    """Called from ``AuditConfig.ready()``."""
    action_register(
        LogAction.SETTINGS_CHANGED,
        _("Operation log settings changed"),
        before=SETTING_KEYS,
        after=SETTING_KEYS,
    )
    action_register(
        LogAction.RETENTION_APPLIED, _("Old operation log entries removed"), after=APPLIED_KEYS
    )
    key_labels_register(
        {
            "retention_months": _("Retention (months)"),
            "archive": _("Archive before removing"),
            "removed": _("Entries removed"),
            "cutoff": _("Removed the entries older than (UTC)"),
            "first_seq": _("Oldest kept entry number"),
            "archives": _("Archive files"),
        }
    )
