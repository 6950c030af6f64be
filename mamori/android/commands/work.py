"""Durable work of device commands: sending one, sending a bulk job in slices, cancelling one
at AMAPI, and the periodic expiry.

**Bulk without starving others.** A job is sent by one chain of slice works (``JOB``), never by
one work per device: each slice sends at most ``SLICE`` commands (or for ``SLICE_SECONDS``),
then queues the next slice at the *back* of the task queue. So another contract's single
command waits behind one slice at most for a worker, and the deployment-wide limiter keeps a
reserve of each slot for contracts other than the one with a backlog (``amapi.limiter``). When
the limiter's budget is used up, the slice stops and the next one is queued for when it frees.
"""

from __future__ import annotations

import datetime
import time

from django.db import transaction
from django.utils import timezone

from mamori.android import amapi
from mamori.android.commands.definitions import command_of_type
from mamori.android.commands.lifecycle import (
    CANCEL,
    EXPIRE,
    JOB,
    OPEN,
    SEND,
    commands_expire,
    operation_apply,
)
from mamori.android.commands.sending import command_send, inline_claimer
from mamori.android.models import Command, CommandJob, CommandStatus
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import Failure, WorkRetry, periodic_job, work_handler, work_submit

SLICE = 20
SLICE_SECONDS = 3.0
# A slice that found only commands waiting for an earlier command of their device.
IDLE_PAUSE = datetime.timedelta(seconds=30)


def _claimer(work: Work, command: Command) -> str:
    if command_of_type(command.type).inline:
        return inline_claimer(command.pk)
    return f"work-{work.pk}"


def command_send_work(work: Work, actor: Actor) -> str:
    """Send one command (``SEND``): see ``sending.command_send``."""
    command = Command.objects.filter(pk=work.payload["command_id"]).only("pk", "type").first()
    if command is None:
        return "gone"
    try:
        return command_send(command.pk, _claimer(work, command))
    except amapi.AmapiError as error:
        raise amapi.work_retry(error, work) from error


def command_send_failed(work: Work, failure: Failure) -> None:
    """Retries ran out (Google unavailable for a day): the command fails, the next one goes."""
    from mamori.android.commands.lifecycle import command_finish, command_locked

    command = command_locked(int(work.payload.get("command_id", 0)))
    if command is not None and command.status == CommandStatus.REGISTERED:
        command_finish(
            command, CommandStatus.FAILED, error_code="NOT_SENT", error_message=failure.reason
        )


def _heads(job: CommandJob, limit: int) -> list[int]:
    """Up to ``limit`` registered commands of ``job`` that are first in their device's line."""
    candidates = list(
        Command.objects.filter(job=job, status=CommandStatus.REGISTERED)
        .order_by("pk")
        .values_list("pk", "device_id")[: limit * 4]
    )
    first = {}
    for device_id, pk in (
        Command.objects.filter(device_id__in={d for _, d in candidates}, status__in=OPEN)
        .order_by("-pk")
        .values_list("device_id", "pk")
    ):
        first[device_id] = pk
    return [pk for pk, device_id in candidates if first.get(device_id) == pk][:limit]


def _next_slice(job: CommandJob, run_after: datetime.datetime | None = None) -> None:
    with transaction.atomic():
        work_submit(
            kind=JOB,
            payload={"job_id": job.pk},
            actor=Actor.system(),
            contract_id=job.contract_id,
            run_after=run_after,
        )


def command_job_slice(work: Work, actor: Actor) -> str:
    """Send the next slice of a bulk job (``JOB``) and queue the one after it."""
    job = CommandJob.objects.filter(pk=work.payload["job_id"]).first()
    if job is None or job.cancelled_at is not None:
        return "stopped"
    claimer = f"job-{job.pk}"
    started, sent = time.monotonic(), 0
    for pk in _heads(job, SLICE):
        try:
            if command_send(pk, claimer) == "sent":
                sent += 1
        except amapi.AmapiUnavailable as error:
            wait = max(error.retry_after, 1.0)
            _next_slice(job, timezone.now() + datetime.timedelta(seconds=wait))
            return f"sent {sent}, waiting {wait:.1f}s"
        if time.monotonic() - started > SLICE_SECONDS:
            break
    remaining = Command.objects.filter(job=job, status=CommandStatus.REGISTERED).exists()
    if remaining:
        # Nothing could go (each device busy with an earlier command): look again later;
        # their devices' next-command works send them meanwhile.
        _next_slice(job, None if sent else timezone.now() + IDLE_PAUSE)
    return f"sent {sent}"


def command_cancel_work(work: Work, actor: Actor) -> str:
    """``operations.cancel`` a sent command (best effort), then read the operation back and
    apply it: the command ends as its operation does (``operation_apply``)."""
    command = Command.objects.filter(pk=work.payload["command_id"]).first()
    if command is None or not command.operation_name:
        return "gone"
    try:
        amapi.operation_cancel(command.operation_name, contract_id=command.contract_id)
        operation = amapi.operation_get(command.operation_name, contract_id=command.contract_id)
    except amapi.AmapiNotFound:
        return "gone"
    except amapi.AmapiError as error:
        raise amapi.work_retry(error, work) from error
    operation_apply(operation)
    return "cancelled" if operation.get("done") else "asked"


def commands_expire_job(work: Work, actor: Actor) -> str:
    """The periodic job ``android.commands_expire``: open commands past their expiry."""
    expired = commands_expire()
    if expired >= 500:
        raise WorkRetry("more to expire", delay=datetime.timedelta(seconds=1))
    return f"expired {expired}"


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    work_handler(SEND, retry=amapi.work_retry_policy(), on_failure=command_send_failed)(
        command_send_work
    )
    work_handler(JOB, retry=amapi.work_retry_policy())(command_job_slice)
    work_handler(CANCEL, retry=amapi.work_retry_policy())(command_cancel_work)
    periodic_job(EXPIRE, every=datetime.timedelta(minutes=1))(commands_expire_job)
