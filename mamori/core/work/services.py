"""Durable work: submitting it with the change that causes it, recovering it, pruning it."""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Min, QuerySet, When
from django.utils import timezone

from mamori.core.actor import Actor
from mamori.core.models import PeriodicSlot, Work
from mamori.core.work.registry import Failure, handler_get, handler_require
from mamori.core.work.tasks import nudge, nudge_many, work_fan_out_task, work_run_task

logger = logging.getLogger(__name__)
# Recovery looks at this many rows of each kind per run; the next run takes the rest.
RECOVER_BATCH = 1000
PRUNE_BATCH = 2000
LEASE_EXPIRED = "The worker running it stopped before it finished (its lease ran out)."


def work_submit(
    *,
    kind: str,
    payload: dict[str, Any],
    actor: Actor,
    contract_id: int | None = None,
    run_after: datetime.datetime | None = None,
) -> Work:
    """Store one piece of work in the caller's transaction; its task is queued once that commits.

    ``kind`` must be a registered handler (``ImproperlyConfigured`` otherwise); ``payload`` is
    plain JSON (ids, not objects); ``actor`` is who asked for it, checked again when it runs;
    ``run_after`` (aware) delays it.
    """
    handler_require(kind)
    work = Work.objects.create(
        kind=kind,
        payload=payload,
        actor=actor.serialize(),
        contract_id=contract_id,
        next_attempt_at=run_after or timezone.now(),
    )
    transaction.on_commit(functools.partial(nudge, work.pk, run_after), robust=True)
    return work


def work_submit_many(
    *,
    kind: str,
    payloads: Sequence[dict[str, Any]],
    actor: Actor,
    contract_id: int | None = None,
    run_after: datetime.datetime | None = None,
) -> list[Work]:
    """Store many pieces of work of one kind in one INSERT, in the caller's transaction.

    Once that commits, a fan-out task per 500 rows queues their own tasks, so a request that
    submits thousands (a CSV import's invitations) writes a handful of task rows, not thousands.
    Returns the rows, with their ids.
    """
    handler_require(kind)
    now = timezone.now()
    works = Work.objects.bulk_create(
        [
            Work(
                kind=kind,
                payload=payload,
                actor=actor.serialize(),
                contract_id=contract_id,
                next_attempt_at=run_after or now,
                created_at=now,
            )
            for payload in payloads
        ]
    )
    ids = [work.pk for work in works]
    if ids:
        transaction.on_commit(functools.partial(nudge_many, ids, run_after), robust=True)
    return works


def work_recover(*, now: datetime.datetime | None = None) -> int:
    """Queue again the work whose task was lost, and hand on work whose lease ran out.

    Running work whose lease ran out (its worker was killed or cut off) goes back to pending and
    is queued, or fails for good once its handler's attempts are used up. Pending work counts
    as lost when it has been due for ``MAMORI_WORK_LOST_AFTER_SECONDS`` longer than the oldest
    task still waiting in the queue, the database's table or Redis (so work waiting behind a
    backlog is not queued twice; a queue lost whole, Redis restarted, leaves no such task).
    Returns how many pieces of work were queued again.
    """
    now = now or timezone.now()
    expired = _leases_expired(now)
    lost = _lost(now)
    queued = expired + lost
    if queued:
        nudge_many(queued)
        logger.info(
            "recovered %d work(s) whose lease ran out and %d whose task was lost",
            len(expired),
            len(lost),
        )
    return len(queued)


def _leases_expired(now: datetime.datetime) -> list[int]:
    ids = Work.objects.filter(status=Work.Status.RUNNING, lease_until__lt=now).order_by(
        "lease_until"
    )
    requeued = []
    for work_id in list(ids.values_list("pk", flat=True)[:RECOVER_BATCH]):
        with transaction.atomic():
            work = (
                Work.objects.select_for_update(skip_locked=True)
                .filter(pk=work_id, status=Work.Status.RUNNING, lease_until__lt=now)
                .first()
            )
            if work is not None and _expire(work, now):
                requeued.append(work_id)
    return requeued


def _expire(work: Work, now: datetime.datetime) -> bool:
    """Hand on ``work`` (locked) whose lease ran out: True when it is pending again."""
    handler = handler_get(work.kind)
    values: dict[str, Any] = {"lease_until": None, "claim_token": "", "last_error": LEASE_EXPIRED}
    if handler is not None and not handler.retry.exhausted(work.attempts):
        Work.objects.filter(pk=work.pk).update(
            status=Work.Status.PENDING, next_attempt_at=now, **values
        )
        return True
    Work.objects.filter(pk=work.pk).update(status=Work.Status.FAILED, finished_at=now, **values)
    if handler is not None and handler.on_failure is not None:
        handler.on_failure(work, Failure(LEASE_EXPIRED, exhausted=True))
    return False


def _lost(now: datetime.datetime) -> list[int]:
    grace = datetime.timedelta(seconds=settings.MAMORI_WORK_LOST_AFTER_SECONDS)
    cutoff = min(now, _queue_head(now)) - grace
    pending = Work.objects.filter(status=Work.Status.PENDING, next_attempt_at__lt=cutoff)
    ids = list(pending.order_by("next_attempt_at").values_list("pk", flat=True)[:RECOVER_BATCH])
    # Due from now on: not taken for lost again until the queue has moved past it.
    Work.objects.filter(pk__in=ids, status=Work.Status.PENDING).update(next_attempt_at=now)
    return ids


def _queue_head(now: datetime.datetime) -> datetime.datetime:
    """When the oldest work task still waiting in the queue became due (``now`` if none).

    The database queue is read here; another backend answers with its ``queue_head(now)``
    (``mamori.core.work.rq``); one that cannot tell (Django's dummy or immediate backends)
    counts as empty.
    """
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    backend = work_run_task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        head_of = getattr(backend, "queue_head", None)
        head = head_of(now) if head_of is not None else None
        return head if head is not None else now
    waiting = DBTaskResult.objects.ready().filter(
        task_path__in=[work_run_task.module_path, work_fan_out_task.module_path]
    )
    due = Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))
    head = waiting.aggregate(head=Min(due))["head"]
    return head if head is not None else now


def work_prune(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete work finished, periodic slots taken, and task results finished more than
    ``MAMORI_WORK_KEEP_DAYS`` ago (and task results a killed worker left running as long).

    Returns the number of rows deleted per table: ``work``, ``slots``, ``tasks``.
    """
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.MAMORI_WORK_KEEP_DAYS)
    finished = Work.objects.filter(
        status__in=[Work.Status.DONE, Work.Status.FAILED], finished_at__lt=cutoff
    )
    results = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    ) | DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    return {
        "work": _delete_in_batches(finished),
        "slots": _delete_in_batches(PeriodicSlot.objects.filter(slot__lt=cutoff)),
        "tasks": _delete_in_batches(results),
    }


def _delete_in_batches(rows: QuerySet[Any]) -> int:
    deleted = 0
    while ids := list(rows.values_list("pk", flat=True)[:PRUNE_BATCH]):
        rows.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def work_recover_job(work: Work, actor: Actor) -> str:
    """The periodic job ``core.work.recover`` (``work_recover``)."""
    return f"recovered {work_recover()}"


def work_prune_job(work: Work, actor: Actor) -> str:
    """The periodic job ``core.work.prune`` (``work_prune``)."""
    counts = work_prune()
    return ", ".join(f"{table} {count}" for table, count in counts.items())
