"""What an operation-log entry is about: its target, and optionally a related object."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any


class TargetType(StrEnum):
    """The kinds of object an entry's target or related object can be (``LogEntry.target_type``,
    ``LogEntry.related_type``). The writer refuses any other; a new kind of object adds a member.
    """

    CONTRACT = "contract"
    ACCOUNT = "account"
    USER = "user"
    ORGANIZATION = "organization"
    SCHEME = "scheme"
    API_TOKEN = "api_token"  # noqa: S105 (a type name)
    USER_IMPORT = "user_import"
    INQUIRY = "inquiry"
    NOTICE = "notice"
    # Android Enterprise (coming): devices and what is done to them.
    ENTERPRISE = "enterprise"
    DEVICE = "device"
    ENROLLMENT_TOKEN = "enrollment_token"  # noqa: S105 (a type name)
    POLICY = "policy"
    COMMAND = "command"
    COMMAND_JOB = "command_job"
    WEBHOOK = "webhook"
    ALERT = "alert"


@dataclasses.dataclass(frozen=True)
class Target:
    """An object an entry names: a ``TargetType`` value, an id and a label a person recognises.

    The id is stored as text (at most 64 characters); ``None`` for an object that has none (a
    failed login's unknown account name, a notice). The label is a snapshot (at most 200
    characters) and is not kept for a related object.
    """

    type: str
    id: str | int | None = None
    label: str = ""


def _target_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy as _

    return {
        TargetType.CONTRACT: _("Contract"),
        TargetType.ACCOUNT: _("Mamori account"),
        TargetType.USER: _("User"),
        TargetType.ORGANIZATION: _("Organization"),
        TargetType.SCHEME: _("Custom permission scheme"),
        TargetType.API_TOKEN: _("API token"),
        TargetType.USER_IMPORT: _("CSV import"),
        TargetType.INQUIRY: _("Support inquiry"),
        TargetType.NOTICE: _("Notice mail"),
        TargetType.ENTERPRISE: _("Android Enterprise"),
        TargetType.DEVICE: _("Device"),
        TargetType.ENROLLMENT_TOKEN: _("Enrollment token"),
        TargetType.POLICY: _("Policy"),
        TargetType.COMMAND: _("Device command"),
        TargetType.COMMAND_JOB: _("Bulk device command"),
        TargetType.WEBHOOK: _("Webhook"),
        TargetType.ALERT: _("Alert"),
    }


def target_type_label(code: str) -> str:
    """The kind of target in the active language; the code itself for one this version lacks."""
    if not code:
        return ""
    label = _target_labels().get(code)
    return str(label) if label is not None else code
