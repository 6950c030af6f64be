"""What an operation-log entry is about: its target, and optionally a related object."""

from __future__ import annotations

import dataclasses
from enum import StrEnum


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
