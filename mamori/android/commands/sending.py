"""Sending one command to AMAPI: claim → commit → ``issueCommand`` → record, never a lock across
the call.

**Claims.** A command is sent by whoever claims it (``Command.send_claim``: a work id, a bulk
job, or the inline send of a new password): a conditional UPDATE, so two workers never send the
same command. A transient failure (Google or the budget unavailable; a lost answer that the
gateway's reconciliation did not find) releases the claim. A claimer run again after a crash
(the same work, the same job) takes its own claim back and has the gateway reconcile from
``claimed_at`` first (``device_issue_command(sent_after=…)``), so a command whose answer was
lost is found, not sent twice. The marker the gateway writes into ``Command.duration``'s
nanoseconds is the command's id, and the whole seconds are fixed at the first claim
(``expires_at − claimed_at``), so a second attempt carries the same mark.

**Passwords.** RESET_PASSWORD's ``newPassword`` exists only in the request of the person who
typed it: ``command_send_inline`` sends it at once (the inline timeout, the short budget
wait). Stored work never has it; if that request died before recording the answer, the send
work only reconciles (finds the operation, or fails the command: "issue it again").
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mamori.android import amapi
from mamori.android.commands.definitions import AndroidCommand, command_of_type
from mamori.android.commands.lifecycle import (
    CANCEL,
    command_finish,
    command_is_head,
    command_locked,
    command_sent,
)
from mamori.android.models import Command, CommandStatus
from mamori.core.actor import Actor
from mamori.core.work import work_submit

MIN_DURATION = 60  # seconds: AMAPI gets at least a minute, even for a command about to expire


def marker(command: Command) -> str:
    """The mark the gateway writes into the command's duration (``amapi.command_marked``)."""
    return f"mamori-command-{command.pk}"


def duration(command: Command) -> str:
    """``Command.duration``: the time left when first claimed (``"604800s"``), at least a minute."""
    start = command.claimed_at or timezone.now()
    left = (command.expires_at - start).total_seconds() if command.expires_at else 600
    return f"{max(MIN_DURATION, int(left))}s"


def _claim(pk: int, claimer: str) -> tuple[Command, datetime.datetime | None] | str:
    """Claim ``pk`` for ``claimer``: ``(command, sent_after)``, or why not (a word)."""
    with transaction.atomic():
        command = command_locked(pk)
        if command is None or command.status != CommandStatus.REGISTERED:
            return "done"
        if command.cancel_requested_at is not None:
            command_finish(command, CommandStatus.CANCELLED)
            return "cancelled"
        if command.expires_at is not None and command.expires_at <= timezone.now():
            command_finish(command, CommandStatus.EXPIRED)
            return "expired"
        if command.send_claim not in ("", claimer):
            return "claimed"
        if not command_is_head(command):
            return "waiting"
        again = command.send_claim == claimer and command.claimed_at is not None
        if not again:
            command.send_claim, command.claimed_at = claimer, timezone.now()
            command.save(update_fields=["send_claim", "claimed_at"])
        return command, (command.claimed_at if again else None)


def _release(pk: int, claimer: str) -> None:
    Command.objects.filter(pk=pk, send_claim=claimer, status=CommandStatus.REGISTERED).update(
        send_claim="", claimed_at=None
    )


def _record(pk: int, claimer: str, operation: dict[str, Any]) -> str:
    with transaction.atomic():
        command = command_locked(pk)
        if command is None:
            return "gone"
        if command.status == CommandStatus.REGISTERED and command.send_claim == claimer:
            command_sent(command, operation)
            return "sent"
        if command.status == CommandStatus.CANCELLED and not command.operation_name:
            # Cancelled here while it was on its way: pass the cancellation on (best effort).
            Command.objects.filter(pk=pk).update(operation_name=str(operation.get("name", "")))
            work_submit(
                kind=CANCEL,
                payload={"command_id": pk, "late": True},
                actor=Actor.system(),
                contract_id=command.contract_id,
            )
    return "late"


def _fail(pk: int, error_code: str, message: str) -> None:
    with transaction.atomic():
        command = command_locked(pk)
        if command is not None and command.status == CommandStatus.REGISTERED:
            command_finish(
                command, CommandStatus.FAILED, error_code=error_code, error_message=message
            )


def _body(kind: type[AndroidCommand], command: Command) -> dict[str, Any]:
    params = kind.parameters.model_validate(command.params) if command.params else None
    return {**kind.amapi_command(params), "duration": duration(command)}


def command_send(pk: int, claimer: str, *, inline_body: dict[str, Any] | None = None) -> str:
    """Send command ``pk`` if it may go now; returns what happened (``"sent"``, ``"waiting"``
    for the one before it, ``"claimed"`` by another sender, ``"done"``, ``"failed"``…).

    Raises ``AmapiUnavailable`` (the claim released) when Google or the budget is not
    available: the caller retries later. A refusal (4xx) or a device Google no longer has fails
    the command with Google's reason. ``inline_body``: the command body with its secret (a new
    password), from the request that typed it.
    """
    claimed = _claim(pk, claimer)
    if isinstance(claimed, str):
        return claimed
    command, sent_after = claimed
    kind = command_of_type(command.type)
    if kind.inline and inline_body is None:
        return _reconcile_only(command, claimer, sent_after)
    body = {**inline_body, "duration": duration(command)} if inline_body else _body(kind, command)
    try:
        operation = amapi.device_issue_command(
            command.device.name,
            body,
            marker=marker(command),
            sent_after=sent_after,
            contract_id=command.contract_id,
            inline=inline_body is not None,
        )
    except amapi.AmapiNotFound as error:
        _fail(pk, "NOT_FOUND", error.message)
        return "failed"
    except amapi.AmapiUnavailable:
        _release(pk, claimer)
        raise
    except amapi.AmapiError as error:
        _fail(pk, error.code, error.message)
        return "failed"
    return _record(pk, claimer, _without_password(operation))


def _without_password(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation with any ``newPassword`` taken out of its metadata (ANDROID.md 2.2)."""
    metadata = operation.get("metadata")
    if isinstance(metadata, dict) and "newPassword" in metadata:
        return {**operation, "metadata": {k: v for k, v in metadata.items() if k != "newPassword"}}
    return operation


def _reconcile_only(command: Command, claimer: str, sent_after: datetime.datetime | None) -> str:
    """A password command whose request ended before recording the answer: find its operation
    by its mark, or fail it (the password is gone; the person issues it again). Never claimed
    by its request before (``sent_after`` None): it was never sent."""
    if sent_after is None:
        _fail(command.pk, "NOT_SENT", "")
        return "failed"
    mark = amapi.command_marked({"duration": duration(command)}, marker(command))["duration"]
    for operation in amapi.operation_list(command.device.name, contract_id=command.contract_id):
        if (operation.get("metadata") or {}).get("duration") == mark:
            return _record(command.pk, claimer, _without_password(operation))
    _fail(command.pk, "NOT_SENT", "")
    return "failed"


def inline_claimer(pk: int) -> str:
    """The claimer of a password command: its request, and the work that reconciles it after."""
    return f"inline-{pk}"


def command_send_inline(command: Command, body: dict[str, Any]) -> str:
    """Send ``command`` with its secret ``body`` now, while the person waits; a Google that is
    not available fails it (``NOT_SENT``, with Google's reason): the password is not kept for a
    later try. Returns what ``command_send`` returned."""
    claimer = inline_claimer(command.pk)
    try:
        return command_send(command.pk, claimer, inline_body=body)
    except amapi.AmapiUnavailable as error:
        _fail(command.pk, "NOT_SENT", error.message or error.code)
        return "failed"
