"""A command's lifecycle as AMAPI's ``Operation`` reports it.

MINIMAL VERSION carried by the notifications branch for its tests; the commands branch owns
this module (its version, with the operation-log entries of each transition, replaces this one).
The contract the notifications rely on is ``operation_apply``'s docstring.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from mamori.android.models import COMMAND_DONE, Command, CommandStatus

# google.rpc.Code values AMAPI's Operation.error carries (ANDROID.md 2.2, 4).
CANCELLED = 1
DEADLINE_EXCEEDED = 4
# Command-specific statuses that mean the command failed (ANDROID.md 2.2).
STATUS_FIELDS = ("startLostModeStatus", "stopLostModeStatus", "clearAppsDataStatus")
FAILING = {
    "startLostModeStatus": {
        "RESET_PASSWORD_RECENTLY",
        "USER_EXIT_LOST_MODE_RECENTLY",
        "ALREADY_IN_LOST_MODE",
    },
    "stopLostModeStatus": {"NOT_IN_LOST_MODE"},
}


def _outcome(operation: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """``(status, error code, error message, result)`` of a finished operation."""
    metadata = operation.get("metadata") or {}
    result = {k: metadata[k] for k in STATUS_FIELDS if isinstance(metadata.get(k), dict)}
    error = operation.get("error") or {}
    code = error.get("code") if isinstance(error, dict) else None
    if code == CANCELLED:
        return CommandStatus.CANCELLED, "", "", result
    if code == DEADLINE_EXCEEDED:
        return CommandStatus.EXPIRED, "", "", result
    for field, failing in FAILING.items():
        status = (result.get(field) or {}).get("status")
        if status in failing:
            return CommandStatus.FAILED, str(status), "", result
    error_code = str(metadata.get("errorCode") or "")
    if error_code and error_code != "COMMAND_ERROR_CODE_UNSPECIFIED":
        return CommandStatus.FAILED, error_code, "", result
    if code:
        return (
            CommandStatus.FAILED,
            str(error.get("status") or code),
            str(error.get("message", "")),
            result,
        )
    return CommandStatus.SUCCEEDED, "", "", result


def operation_apply(operation: dict[str, Any]) -> bool:
    """Record what AMAPI's ``Operation`` (a COMMAND notification, or ``operations.get``) says
    about the command Mamori stored with that ``operation_name``.

    Returns False when no command with ``operation["name"]`` is stored (yet): the caller keeps
    the message and tries again later. True otherwise, whether it changed anything or not: a
    command in a terminal state stays in it (sticky), an operation not ``done`` changes nothing.
    ``error.code`` 1 (CANCELLED) is cancelled; ``error.code`` 4 (DEADLINE_EXCEEDED) is
    expired — the reconciliation passes ``{"name": …, "done": true, "error": {"code": 4}}``
    for a sent command whose operation Google no longer has after the command's expiry.
    """
    name = str(operation.get("name") or "")
    if not name:
        return False
    with transaction.atomic():
        command = Command.objects.select_for_update().filter(operation_name=name).first()
        if command is None:
            return False
        if command.status in COMMAND_DONE or not operation.get("done"):
            return True
        status, error_code, message, result = _outcome(operation)
        Command.objects.filter(pk=command.pk).update(
            status=status,
            error_code=error_code[:60],
            error_message=message,
            result=result,
            finished_at=timezone.now(),
        )
    return True
