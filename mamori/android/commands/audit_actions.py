"""The operation-log actions of device commands: CLOMO's command chain (who issued it, then each
transition by the system with AMAPI's operation name). A new password is never on an
allow-list: it is not even passed to the log (``ResetPassword.secret``)."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.android.models import CommandType
from mamori.audit.registry import (
    action_register,
    key_labels_register,
    target_label_register,
    value_labels_register,
)
from mamori.audit.targets import TargetType

# The parameters a command may log (each class's ``loggable``), under "params".
PARAMS = (
    "params.require_entry",
    "params.lock_now",
    "params.do_not_ask_credentials_on_boot",
    "params.message",
    "params.phone_number",
    "params.email",
    "params.street_address",
    "params.organization",
    "params.package_names",
    "params.preserve_reset_protection_data",
    "params.wipe_external_storage",
    "params.wipe_esims",
    "params.reason",
)


LABEL_JOIN = " · "  # between a command target's type and its device


def command_target_label(label: str) -> str | None:
    """A command's or bulk job's stored target label ("LOCK · 0213…", or "LOCK") with the type
    in the active language ("ロック · 0213…"); ``None`` for a label stored in words before
    (an older entry: shown as it is). Registered with ``audit.registry.target_label_register``."""
    code, join, rest = label.partition(LABEL_JOIN)
    if code not in CommandType.values:
        return None
    return f"{CommandType(code).label}{join}{rest}"


class CommandAction(StrEnum):
    ISSUED = "command.issued"
    SENT = "command.sent"
    SUCCEEDED = "command.succeeded"
    FAILED = "command.failed"
    EXPIRED = "command.expired"
    CANCELLED = "command.cancelled"
    CANCEL_REQUESTED = "command.cancel_requested"
    JOB_CREATED = "command_job.created"
    JOB_CANCELLED = "command_job.cancelled"
    SETTINGS_CHANGED = "command_settings.changed"


def audit_actions_register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    A = CommandAction
    action_register(
        A.ISSUED, _("Device command issued"), after=("type", "expires_at", "job", *PARAMS)
    )
    action_register(A.SENT, _("Device command sent to Google"), after=("operation",))
    action_register(A.SUCCEEDED, _("Device command succeeded"), after=("operation",))
    action_register(
        A.FAILED, _("Device command failed"), after=("operation", "error_code", "error_message")
    )
    action_register(A.EXPIRED, _("Device command expired"), after=("operation",))
    action_register(
        A.CANCELLED, _("Device command cancelled"), after=("operation", "error_message")
    )
    action_register(
        A.CANCEL_REQUESTED, _("Cancellation of a device command requested"), after=("operation",)
    )
    action_register(
        A.JOB_CREATED,
        _("Bulk device command issued"),
        after=("type", "total", "skipped", *PARAMS),
    )
    action_register(
        A.JOB_CANCELLED,
        _("Bulk device command cancelled"),
        after=("cancelled", "cancel_requested"),
    )
    action_register(
        A.SETTINGS_CHANGED,
        _("Device command expiry changed"),
        before=("command_expiry_days",),
        after=("command_expiry_days",),
    )
    key_labels_register(
        {
            "type": _("Command"),
            "job": _("Bulk device command"),
            "operation": _("AMAPI operation"),
            "error_code": _("Error code"),
            "error_message": _("Error"),
            "total": _("Devices"),
            "skipped": _("Devices skipped"),
            "cancelled": _("Commands cancelled"),
            "cancel_requested": _("Sent commands Google was asked to cancel"),
            "params": _("Parameters"),
            "command_expiry_days": _("Device commands expire after (days)"),
        }
    )
    value_labels_register("type", dict(CommandType.choices))
    # Targets store the command type as its code; the reader's language writes it out.
    target_label_register(TargetType.COMMAND, command_target_label)
    target_label_register(TargetType.COMMAND_JOB, command_target_label)
