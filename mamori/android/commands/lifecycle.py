"""A command's lifecycle after it is issued: registered → sent → succeeded / failed / expired /
cancelled, each transition written to the operation log by the system with AMAPI's operation
name (CLOMO's command chain), and the device's next command started when one finishes.

**One command at a time per device, in order.** AMAPI documents no queue of a device's
commands (ANDROID.md 2.2, 4), so Mamori keeps its own: a device's next command is sent only
once the one before it is *finished*, not merely sent. ``command_next`` submits the send of the
device's oldest registered command whenever one finishes, in the same transaction.

``operation_apply`` is how AMAPI's answer arrives: a COMMAND notification (Pub/Sub, helper B),
the reconciliation's ``operations.get``, or this module's own ``operations.get`` after a cancel.
Outcomes are read as ANDROID.md 2.2 says: the command-specific status first
(``startLostModeStatus``, ``stopLostModeStatus``, ``clearAppsDataStatus``), then
``metadata.errorCode``, then ``Operation.error`` (``code`` 1 = CANCELLED, ANDROID.md 4).
Nothing of the metadata is stored but the command-specific status: never ``newPassword``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.android import hooks
from mamori.android.commands.audit_actions import LABEL_JOIN, CommandAction
from mamori.android.commands.definitions import command_of_type, device_label
from mamori.android.models import COMMAND_DONE, Command, CommandJob, CommandStatus
from mamori.audit.services import LogRecord, Target, TargetType, log_records
from mamori.core.actor import Actor
from mamori.core.work import work_submit, work_submit_many

SEND = "android.command_send"
JOB = "android.command_job"
CANCEL = "android.command_cancel"
EXPIRE = "android.commands_expire"
OPEN = (CommandStatus.REGISTERED, CommandStatus.SENT)
CANCELLED_CODE = 1  # google.rpc.Code CANCELLED: what operations.cancel leaves (ANDROID.md 4)
# google.rpc.Code DEADLINE_EXCEEDED: the sandbox's (and, unverified, Google's) expired command;
# reconciliation also uses it for an operation Google dropped after the command's expiry.
DEADLINE_EXCEEDED = 4
# google.rpc.Code names of Operation.error.code: every code of google/rpc/code.proto but OK (0).
RPC_CODES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
NO_ERROR = ("", "COMMAND_ERROR_CODE_UNSPECIFIED")
FINISH_ACTION = {
    CommandStatus.SUCCEEDED: CommandAction.SUCCEEDED,
    CommandStatus.FAILED: CommandAction.FAILED,
    CommandStatus.EXPIRED: CommandAction.EXPIRED,
    CommandStatus.CANCELLED: CommandAction.CANCELLED,
}


def command_target(command: Command) -> Target:
    """The log's target for ``command``: its AMAPI type and device ("LOCK · 0213…"), the type
    stored as its code and written out in the reader's language (``command_target_label``)."""
    return Target(
        TargetType.COMMAND, command.pk, f"{command.type}{LABEL_JOIN}{device_label(command.device)}"
    )


def command_record(
    command: Command,
    action: str,
    *,
    actor: Actor | None = None,
    after: Mapping[str, Any] | None = None,
    success: bool = True,
) -> LogRecord:
    """A log entry about ``command`` (related to its device, in its device's organization)."""
    return LogRecord(
        contract=command.contract,
        actor=actor or Actor.system(),
        action=action,
        target=command_target(command),
        related=Target(TargetType.DEVICE, command.device_id),
        after=after,
        success=success,
        organization_id=command.device.organization_id,
    )


def command_locked(pk: int) -> Command | None:
    """``pk`` with its device and contract, locked for the caller's transaction."""
    return (
        Command.objects.select_for_update(of=("self",))
        .select_related("device", "contract")
        .filter(pk=pk)
        .first()
    )


def command_is_head(command: Command) -> bool:
    """Whether no earlier command of its device is still open (it may be sent now)."""
    return not Command.objects.filter(
        device_id=command.device_id, status__in=OPEN, pk__lt=command.pk
    ).exists()


def command_next(device_id: int, contract_id: int) -> None:
    """In the caller's transaction: submit the send of the device's oldest registered command."""
    following = (
        Command.objects.filter(device_id=device_id, status=CommandStatus.REGISTERED)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        work_submit(
            kind=SEND,
            payload={"command_id": following},
            actor=Actor.system(),
            contract_id=contract_id,
        )


def command_finish(
    command: Command,
    status: str,
    *,
    actor: Actor | None = None,
    error_code: str = "",
    error_message: str = "",
    result: Mapping[str, Any] | None = None,
) -> None:
    """In the caller's transaction, ``command`` locked and open: record its end, its log entry,
    and start the device's next command. ``error_message`` is Google's text (kept raw; shown
    with ``command_reason``'s sentence)."""
    now = timezone.now()
    command.status = status
    command.error_code = error_code[:60]
    command.error_message = error_message[:2000]
    command.result = dict(result or {})
    command.finished_at = now
    command.save(update_fields=["status", "error_code", "error_message", "result", "finished_at"])
    after: dict[str, Any] = {"operation": command.operation_name}
    if status == CommandStatus.FAILED:
        after |= {"error_code": command.error_code, "error_message": command.error_message}
    if status == CommandStatus.CANCELLED and error_message:
        after["error_message"] = error_message
    log_records(
        [
            command_record(
                command,
                FINISH_ACTION[CommandStatus(status)],
                actor=actor,
                after=after,
                success=status != CommandStatus.FAILED,
            )
        ]
    )
    hooks.command_finished(command)
    command_next(command.device_id, command.contract_id)
    if command.job_id is not None:
        _job_finished_maybe(command.job_id, now)


JOB_CANCELLED = "JOB_CANCELLED"  # Mamori's error code of a command cancelled with its job


@dataclasses.dataclass(frozen=True)
class JobCancelled:
    """What cancelling a bulk job did: ``cancelled`` commands not sent yet, ``asked`` sent ones
    whose cancellation was asked of AMAPI (``operations.cancel``, best effort)."""

    cancelled: int
    asked: int


def job_commands_cancel(job: CommandJob, now: datetime.datetime) -> JobCancelled:
    """In the caller's transaction, ``job`` locked: cancel its commands not sent yet in one
    statement (status cancelled, ``error_code`` ``JOB_CANCELLED``: no log entry of their own,
    the job's entry is theirs) and ask AMAPI to cancel its sent ones (``CANCEL`` work each; the
    command ends as its operation does, logged by the system then). The devices whose next
    command waited behind a cancelled one get it sent. A sender on its way with one of them
    passes the cancellation on when it records the answer (``sending._record``)."""
    cancelled = Command.objects.filter(job=job, status=CommandStatus.REGISTERED).update(
        status=CommandStatus.CANCELLED,
        error_code=JOB_CANCELLED,
        error_message="",
        result={},
        finished_at=now,
    )
    Command.objects.filter(
        job=job, status=CommandStatus.SENT, cancel_requested_at__isnull=True
    ).update(cancel_requested_at=now)
    sent = list(
        Command.objects.filter(
            job=job, status=CommandStatus.SENT, cancel_requested_at=now
        ).values_list("pk", flat=True)
    )
    work_submit_many(
        kind=CANCEL,
        payloads=[{"command_id": pk} for pk in sent],
        actor=Actor.system(),
        contract_id=job.contract_id,
    )
    cancelled_here = Command.objects.filter(
        job=job, status=CommandStatus.CANCELLED, error_code=JOB_CANCELLED, finished_at=now
    ).values("device_id")
    following = (
        Command.objects.filter(device_id__in=cancelled_here, status=CommandStatus.REGISTERED)
        .values("device_id")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    work_submit_many(
        kind=SEND,
        payloads=[{"command_id": pk} for pk in sorted(following)],
        actor=Actor.system(),
        contract_id=job.contract_id,
    )
    _job_finished_maybe(job.pk, now)
    return JobCancelled(cancelled=cancelled, asked=len(sent))


def _job_finished_maybe(job_id: int, now: datetime.datetime) -> None:
    if not Command.objects.filter(job_id=job_id, status__in=OPEN).exists():
        CommandJob.objects.filter(pk=job_id, finished_at__isnull=True).update(finished_at=now)


def command_sent(command: Command, operation: Mapping[str, Any]) -> None:
    """In the caller's transaction, ``command`` locked and registered: it is at AMAPI now
    (``operation``: the ``Operation`` issueCommand answered). A cancellation asked for
    meanwhile is passed on to AMAPI (durable work)."""
    command.status = CommandStatus.SENT
    command.operation_name = str(operation.get("name") or "")[:400]
    command.sent_at = timezone.now()
    command.save(update_fields=["status", "operation_name", "sent_at"])
    log_records(
        [command_record(command, CommandAction.SENT, after={"operation": command.operation_name})]
    )
    if operation.get("done"):
        _apply(command, operation)
    elif command.cancel_requested_at is not None:
        work_submit(
            kind=CANCEL,
            payload={"command_id": command.pk},
            actor=Actor.system(),
            contract_id=command.contract_id,
        )


def _error_code(operation: Mapping[str, Any]) -> tuple[int, str, str]:
    error = operation.get("error") or {}
    if not isinstance(error, Mapping):
        return 0, "", ""
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 2
    return code, RPC_CODES.get(code, str(code) if code else ""), str(error.get("message") or "")


def operation_outcome(command: Command, operation: Mapping[str, Any]) -> dict[str, Any]:
    """What a *done* ``operation`` means for ``command``: ``{"status", "error_code",
    "error_message", "result"}``. Command-specific status, then ``errorCode``, then
    ``Operation.error`` (ANDROID.md 2.2); an error once the command's time is past is its
    expiry (how AMAPI reports an expired command is not documented, ANDROID.md 4)."""
    metadata = operation.get("metadata") or {}
    metadata = metadata if isinstance(metadata, Mapping) else {}
    try:
        kind = command_of_type(command.type)
    except KeyError:
        kind = None
    result = kind.result_of(metadata) if kind else {}
    rpc, rpc_name, message = _error_code(operation)
    if rpc == CANCELLED_CODE:
        return {
            "status": CommandStatus.CANCELLED,
            "error_code": "",
            "error_message": message,
            "result": result,
        }
    specific = kind.failure(metadata) if kind else ""
    code = str(metadata.get("errorCode") or "")
    failing = specific or ("" if code in NO_ERROR else code) or rpc_name
    if not failing:
        return {
            "status": CommandStatus.SUCCEEDED,
            "error_code": "",
            "error_message": "",
            "result": result,
        }
    expired = rpc == DEADLINE_EXCEEDED or (
        command.expires_at is not None and timezone.now() >= command.expires_at
    )
    status = CommandStatus.EXPIRED if expired and not specific else CommandStatus.FAILED
    return {"status": status, "error_code": failing, "error_message": message, "result": result}


def _apply(command: Command, operation: Mapping[str, Any]) -> None:
    outcome = operation_outcome(command, operation)
    command_finish(
        command,
        outcome["status"],
        error_code=outcome["error_code"] if outcome["status"] == CommandStatus.FAILED else "",
        error_message=outcome["error_message"],
        result=outcome["result"],
    )


def operation_apply(operation: dict) -> bool:
    """Apply an AMAPI ``Operation`` (a COMMAND notification, or an ``operations.get`` answer).

    Returns False when no command of Mamori has this operation ``name`` yet (the caller keeps
    the message and tries later: issueCommand's answer may not be recorded yet); True
    otherwise. A finished command stays as it is (terminal states are sticky); an operation not
    ``done`` changes nothing; a done one finishes the command (succeeded / failed / cancelled
    / expired, see ``operation_outcome``) with its log entry, in one transaction. Only the
    command-specific status of the metadata is kept: ``newPassword`` never is.
    """
    name = str((operation or {}).get("name") or "")
    if not name:
        return True  # nothing can ever match it: the caller may drop it
    with transaction.atomic():
        found = (
            Command.objects.filter(operation_name=name)
            .exclude(operation_name="")
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            return False
        command = command_locked(found)
        if command is None or command.status in COMMAND_DONE or not operation.get("done"):
            return True
        _apply(command, operation)
    return True


def commands_expire(now: datetime.datetime | None = None, *, limit: int = 500) -> int:
    """Mark open commands past ``expires_at`` expired (each with its log entry, by the system);
    returns how many. A sent one may still finish at AMAPI meanwhile: expiry is Mamori's word
    once the time it gave AMAPI (``Command.duration``) is over."""
    now = now or timezone.now()
    due = list(
        Command.objects.filter(status__in=OPEN, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            command = command_locked(pk)
            if (
                command is not None
                and command.status in OPEN
                and command.expires_at is not None
                and command.expires_at <= now
            ):
                command_finish(command, CommandStatus.EXPIRED)
                done += 1
    return done


# What a person reads of an outcome ------------------------------------------------------------


def _reasons() -> dict[str, str]:
    return {
        # Command.errorCode (ANDROID.md 2.2)
        "UNKNOWN": _("The device reported an unknown error."),
        "API_LEVEL": _("The device's Android version does not support this command."),
        "MANAGEMENT_MODE": _("The command does not apply to how this device is managed."),
        "INVALID_VALUE": _(
            "The device refused a value of the command (for a password: too weak or too short)."
        ),
        "UNSUPPORTED": _("The device does not support this command."),
        # startLostModeStatus / stopLostModeStatus
        # AMAPI: lost mode is refused for a while after an administrator's RESET_PASSWORD
        # or after the user left lost mode; it says neither who nor how long.
        "RESET_PASSWORD_RECENTLY": _(
            "Lost mode was not started: the device's password was reset with the command "
            "“Reset password” a short while ago, and Android refuses lost mode for some time "
            "after that. Try again later."
        ),
        "USER_EXIT_LOST_MODE_RECENTLY": _(
            "Lost mode was not started: the user left lost mode on the device a short while "
            "ago. Try again later."
        ),
        "ALREADY_IN_LOST_MODE": _("The device is already in lost mode."),
        "NOT_IN_LOST_MODE": _("The device is not in lost mode."),
        "CLEAR_APP_DATA_INCOMPLETE": _(
            "The data of some apps could not be cleared (see each app)."
        ),
        # Operation.error (google.rpc.Code, every one of RPC_CODES) and Mamori's own
        "CANCELLED": _("The command was cancelled."),
        "INVALID_ARGUMENT": _("Google refused a value of the command."),
        "DEADLINE_EXCEEDED": _("The device did not act on the command in time."),
        "NOT_FOUND": _("Google no longer knows this device."),
        "ALREADY_EXISTS": _("Google says the command already exists."),
        "PERMISSION_DENIED": _("Google refused the command: Mamori lacks the permission."),
        "RESOURCE_EXHAUSTED": _("Google's quota was exhausted; try again later."),
        "FAILED_PRECONDITION": _("The device was not in a state to carry out the command."),
        "ABORTED": _("Google aborted the command."),
        "OUT_OF_RANGE": _("A value of the command was out of range."),
        "UNIMPLEMENTED": _("Google does not support this command."),
        "INTERNAL": _("Google had an internal error."),
        "UNAVAILABLE": _("Google was unavailable."),
        "DATA_LOSS": _("Google reported lost data."),
        "UNAUTHENTICATED": _("Google did not accept Mamori's credentials."),
        "NOT_SENT": _("The command could not be sent to Google."),
        JOB_CANCELLED: _("Cancelled with its bulk device command."),
    }


def _unexplained(command: Command) -> str:
    """The sentence of an outcome without a code this version knows: never a bare "?"."""
    if not command.error_code:
        if command.status == CommandStatus.CANCELLED:
            return _("The command was cancelled.")
        return _("Google gave no error code.")
    return _("Google answered with the code %(code)s.") % {"code": command.error_code}


def command_reason(command: Command) -> str:
    """Why ``command`` failed (or was cancelled), in the active language, with Google's own
    text when it gave one. Every ``RPC_CODES`` name and ``Command.errorCode`` has a sentence;
    an unknown code is named, no code is said in words (``_unexplained``)."""
    if not command.error_code and not command.error_message:
        return ""
    sentence = _reasons().get(command.error_code) or _unexplained(command)
    if command.error_message:
        return _("%(sentence)s (Google: %(message)s)") % {
            "sentence": sentence,
            "message": command.error_message,
        }
    return sentence


def clearing_results(command: Command) -> list[tuple[str, str]]:
    """``[(package, result in words)]`` of a CLEAR_APP_DATA command's per-package results."""
    words = {
        "SUCCESS": _("Cleared"),
        "APP_NOT_FOUND": _("App not found"),
        "APP_PROTECTED": _("Protected app: not cleared"),
        "API_LEVEL": _("Not supported by this Android version"),
    }
    results = ((command.result or {}).get("clearAppsDataStatus") or {}).get("results") or {}
    return [
        (
            str(package),
            words.get(str((r or {}).get("clearingResult")), str((r or {}).get("clearingResult"))),
        )
        for package, r in sorted(results.items())
        if isinstance(r, Mapping)
    ]


def open_q() -> Q:
    """Commands still open (registered or sent)."""
    return Q(status__in=OPEN)
