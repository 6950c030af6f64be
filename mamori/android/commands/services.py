"""Writes of device commands: issue one, cancel one, issue one to many (a bulk job), cancel a job.

Each authorizes (the command's own permission, ``commands.<action>``, on the device's
organization), validates (parameters, preconditions: before anything is stored or sent), owns
its transaction and writes its operation-log entries last in it. Sending is durable work
(``work``) submitted in the same transaction, except a new password, which is sent inline by
the request that typed it (``sending``) and never stored.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.android.commands.audit_actions import CommandAction
from mamori.android.commands.definitions import AndroidCommand, command_of
from mamori.android.commands.lifecycle import (
    CANCEL,
    JOB,
    OPEN,
    SEND,
    JobCancelled,
    command_finish,
    command_is_head,
    command_locked,
    command_record,
    job_commands_cancel,
)
from mamori.android.commands.sending import command_send_inline
from mamori.android.models import Command, CommandJob, CommandStatus, Device, DeviceState
from mamori.audit.services import LogRecord, Target, TargetType, log_records
from mamori.contracts.models import Contract
from mamori.core.access import authorize
from mamori.core.actor import Actor
from mamori.core.work import work_submit

# The password command's request ends within the inline timeout; its reconciling work comes after.
INLINE_FALLBACK = datetime.timedelta(minutes=2)
BULK_MAX = 100_000


def _field_errors(error: pydantic.ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors as the panel and the API say them, per parameter, in the active language."""
    errors: dict[str, list[str]] = {}
    for item in error.errors():
        name = str(item.get("loc", ("",))[0]) if item.get("loc") else ""
        kind, ctx = item.get("type", ""), item.get("ctx") or {}
        if kind == "string_too_long":
            message = _("Enter at most %(count)s characters.") % {"count": ctx.get("max_length")}
        elif kind == "extra_forbidden":
            message = _("This command has no such parameter.")
        elif kind == "too_long":
            message = _("At most %(count)s items.") % {"count": ctx.get("max_length")}
        elif kind in ("too_short", "missing"):
            message = _("This field is required.")
        else:
            message = _("Enter a valid value.")
        errors.setdefault(name, []).append(message)
    return errors


def command_parameters(kind: type[AndroidCommand], values: Mapping[str, Any]) -> Any:
    """``values`` as ``kind``'s parameters; ``ValidationError`` per field otherwise."""
    try:
        return kind.parameters.model_validate(dict(values))
    except pydantic.ValidationError as error:
        raise ValidationError(_field_errors(error)) from None


def command_unmet(kind: type[AndroidCommand], device: Device) -> list[str]:
    """Why ``kind`` cannot be sent to ``device`` now (sentences); empty when it can."""
    if device.applied_state == DeviceState.DELETED or device.deleted_at is not None:
        return [_("The device is no longer managed.")]
    return [str(reason) for reason in kind.unmet(device)]


def _expiry(contract: Contract, now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(days=max(1, contract.command_expiry_days))


def _issued(command: Command, kind: type[AndroidCommand], actor: Actor, params: Any) -> LogRecord:
    after: dict[str, Any] = {
        "type": command.type,
        "expires_at": command.expires_at.isoformat() if command.expires_at else None,
        "params": kind.log_arguments(params.model_dump()) if params is not None else {},
    }
    if command.job_id:
        after["job"] = command.job_id
    return command_record(command, CommandAction.ISSUED, actor=actor, after=after)


def command_issue(
    *, actor: Actor, device: Device, code: str, values: Mapping[str, Any] | None = None
) -> Command:
    """Issue command ``code`` to ``device`` with parameters ``values``.

    Refused with ``ValidationError`` (nothing stored or sent) for bad parameters or an unmet
    precondition; ``OutOfScope``/``PermissionDenied`` without the command's permission there.
    A new password (``inline`` commands) is sent now, while the caller waits, and only when no
    command is ahead of it for the device; every other command is queued as durable work and
    sent once the device's earlier commands are finished. Returns the command.
    """
    kind = command_of(code)
    authorize(actor, kind.permission, device.organization)
    params = command_parameters(kind, values or {})
    unmet = command_unmet(kind, device)
    if unmet:
        raise ValidationError(unmet)
    errors = kind.check(params, device)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Device.objects.select_for_update().filter(pk=device.pk).first()  # one issuer at a time
        busy = Command.objects.filter(device=device, status__in=OPEN).exists()
        if kind.inline and busy:
            raise ValidationError(
                _(
                    "Another command is waiting for this device. A new password is sent only "
                    "when no command is ahead of it: try again once that one has finished, or "
                    "cancel it."
                )
            )
        now = timezone.now()
        command = Command.objects.create(
            contract_id=device.contract_id,
            device=device,
            type=kind.amapi_type,
            params=kind.stored(params),
            issued_by=actor.account,  # type: ignore[misc]
            expires_at=_expiry(device.contract, now),
        )
        command.device = device
        run_after = now + INLINE_FALLBACK if kind.inline else None
        if kind.inline or not busy:
            work_submit(
                kind=SEND,
                payload={"command_id": command.pk},
                actor=Actor.system(),
                contract_id=device.contract_id,
                run_after=run_after,
            )
        log_records([_issued(command, kind, actor, params)])
    if kind.inline:
        command_send_inline(command, kind.amapi_command(params))
        command.refresh_from_db()
    return command


def command_cancel(*, actor: Actor, command: Command) -> Command:
    """Cancel ``command``: one not sent yet is cancelled here at once (one on its way to AMAPI
    this very moment is cancelled there as soon as its answer is recorded); a sent one is cancelled
    at AMAPI (``operations.cancel``, durable work, best effort: it can lose the race, and the
    command ends as its operation does). ``ValidationError`` when it has already finished."""
    kind = command_of_type_safe(command.type)
    authorize(actor, kind.permission if kind else "devices.view", command.device.organization)
    with transaction.atomic():
        locked = command_locked(command.pk)
        if locked is None or locked.status not in OPEN:
            raise ValidationError(_("This command has already finished."))
        if locked.cancel_requested_at is not None:
            raise ValidationError(_("Its cancellation has already been requested."))
        if locked.status == CommandStatus.REGISTERED:
            # Not at AMAPI yet (a sender on its way passes the cancellation on: sending._record).
            command_finish(locked, CommandStatus.CANCELLED, actor=actor)
            return locked
        locked.cancel_requested_at = timezone.now()
        locked.save(update_fields=["cancel_requested_at"])
        if locked.status == CommandStatus.SENT:
            work_submit(
                kind=CANCEL,
                payload={"command_id": locked.pk},
                actor=Actor.system(),
                contract_id=locked.contract_id,
            )
        log_records(
            [
                command_record(
                    locked,
                    CommandAction.CANCEL_REQUESTED,
                    actor=actor,
                    after={"operation": locked.operation_name},
                )
            ]
        )
    return locked


def command_of_type_safe(amapi_type: str) -> type[AndroidCommand] | None:
    """The command class of an AMAPI type, or None for one this version does not issue."""
    from mamori.android.commands.definitions import command_of_type

    try:
        return command_of_type(amapi_type)
    except KeyError:
        return None


# Bulk -----------------------------------------------------------------------------------------


def command_job_create(
    *,
    actor: Actor,
    contract: Contract,
    code: str,
    devices: Iterable[Device],
    values: Mapping[str, Any] | None = None,
    confirm_count: int | None = None,
) -> CommandJob:
    """Issue command ``code`` to each of ``devices`` (the caller's selection, read through a
    selector) as one job: the devices that meet the preconditions get a command each; the
    others are listed in ``CommandJob.skipped`` with the reason. More than one wipe needs
    ``confirm_count`` equal to the number of devices wiped. The job's first slice is queued
    (``work.command_job_slice``: paced, in slices, so other contracts' commands go first).

    Refused with ``ValidationError`` for a command that cannot be issued in bulk (a new
    password), bad parameters, no device that can take it, or a wrong count.
    """
    kind = command_of(code)
    chosen = list(devices)
    authorize(actor, kind.permission, *{d.organization.pk: d.organization for d in chosen}.values())
    if not kind.bulk:
        raise ValidationError(_("This command cannot be issued to several devices at once."))
    params = command_parameters(kind, values or {})
    errors = kind.check(params, None)
    if errors:
        raise ValidationError(errors)
    if len(chosen) > BULK_MAX:
        raise ValidationError(_("Choose at most %(count)d devices.") % {"count": BULK_MAX})
    eligible, skipped = [], []
    for device in chosen:
        unmet = command_unmet(kind, device)
        if unmet:
            skipped.append(
                {"device_id": device.pk, "label": str(device), "reason": " ".join(unmet)}
            )
        else:
            eligible.append(device)
    if not eligible:
        raise ValidationError(_("None of the chosen devices can take this command."))
    if kind.code == "wipe" and len(eligible) > 1 and confirm_count != len(eligible):
        raise ValidationError(
            {
                "confirm_count": [
                    ngettext(
                        "Type the number of devices to wipe (%(count)d) to confirm.",
                        "Type the number of devices to wipe (%(count)d) to confirm.",
                        len(eligible),
                    )
                    % {"count": len(eligible)}
                ]
            }
        )
    return _job_store(actor, contract, kind, params, eligible, skipped)


def _job_store(
    actor: Actor,
    contract: Contract,
    kind: type[AndroidCommand],
    params: Any,
    eligible: list[Device],
    skipped: list[dict[str, Any]],
) -> CommandJob:
    now = timezone.now()
    stored = kind.stored(params)
    with transaction.atomic():
        job = CommandJob.objects.create(
            contract=contract,
            type=kind.amapi_type,
            params=stored,
            total=len(eligible),
            created_by=actor.account,  # type: ignore[misc]
            skipped=skipped,
        )
        made = Command.objects.bulk_create(
            [
                Command(
                    contract=contract,
                    device=device,
                    job=job,
                    type=kind.amapi_type,
                    params=kind.stored_for(stored, device),
                    issued_by=actor.account,  # type: ignore[misc]
                    expires_at=_expiry(contract, now),
                )
                for device in eligible
            ]
        )
        for command, device in zip(made, eligible, strict=True):
            command.device, command.contract = device, contract
        work_submit(
            kind=JOB, payload={"job_id": job.pk}, actor=Actor.system(), contract_id=contract.pk
        )
        job_entry = LogRecord(
            contract=contract,
            actor=actor,
            action=CommandAction.JOB_CREATED,
            target=Target(TargetType.COMMAND_JOB, job.pk, kind.amapi_type),
            after={
                "type": kind.amapi_type,
                "total": len(eligible),
                "skipped": len(skipped),
                "params": kind.log_arguments(params.model_dump()),
            },
        )
        log_records([job_entry, *(_issued(c, kind, actor, params) for c in made)])
    return job


def command_job_cancel(*, actor: Actor, job: CommandJob) -> JobCancelled:
    """Cancel a bulk job: its commands not sent yet are cancelled, AMAPI is asked to cancel its
    sent ones (best effort: Google may still carry them out), and the job stops. One change, one
    log entry: ``command_job.cancelled`` with both counts; each command cancelled here shows the
    job as its reason (``lifecycle.job_commands_cancel``). ``ValidationError`` if already
    cancelled."""
    kind = command_of_type_safe(job.type)
    authorize(actor, kind.permission if kind else "devices.view")
    with transaction.atomic():
        locked = CommandJob.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.cancelled_at is not None:
            raise ValidationError(_("This bulk command has already been cancelled."))
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["cancelled_at"])
        done = job_commands_cancel(locked, locked.cancelled_at)
        log_records(
            [
                LogRecord(
                    contract=locked.contract,
                    actor=actor,
                    action=CommandAction.JOB_CANCELLED,
                    target=Target(TargetType.COMMAND_JOB, locked.pk, locked.type),
                    after={"cancelled": done.cancelled, "cancel_requested": done.asked},
                )
            ]
        )
    return done


# The contract's setting --------------------------------------------------------------------------

EXPIRY_DAYS_MAX = 365


def command_expiry_update(*, actor: Actor, contract: Contract, days: int) -> None:
    """Set how many days a device command waits for its device (1 … 365; the contract's
    ``command_expiry_days``, sent to AMAPI as ``Command.duration``). System administrators only
    (``android.manage``). Applies to commands issued from now on. ``ValidationError`` outside
    the range."""
    from mamori.android.permissions import ENTERPRISE_MANAGE

    authorize(actor, ENTERPRISE_MANAGE)
    if not 1 <= days <= EXPIRY_DAYS_MAX:
        raise ValidationError(
            {
                "command_expiry_days": [
                    _("Enter a number of days from 1 to %(max)d.") % {"max": EXPIRY_DAYS_MAX}
                ]
            }
        )
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        before = locked.command_expiry_days
        if before == days:
            return
        Contract.objects.filter(pk=contract.pk).update(command_expiry_days=days)
        contract.command_expiry_days = days
        log_records(
            [
                LogRecord(
                    contract=contract,
                    actor=actor,
                    action=CommandAction.SETTINGS_CHANGED,
                    target=Target(TargetType.CONTRACT, contract.pk, contract.domain),
                    before={"command_expiry_days": before},
                    after={"command_expiry_days": days},
                )
            ]
        )


__all__ = [
    "command_cancel",
    "command_expiry_update",
    "command_is_head",
    "command_issue",
    "command_job_cancel",
    "command_job_create",
    "command_parameters",
    "command_unmet",
]
