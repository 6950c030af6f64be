"""The task queue's side of durable work: tasks carry work ids only, and are only a nudge.

A lost task (a worker killed holding it, an enqueue that failed after the commit) costs a delay,
not the work: the recovery job finds the row and nudges it again.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from mamori.core.models import Work
from mamori.core.work.run import work_run

# A bulk nudge: one task per this many work ids, which queues their own tasks.
FAN_OUT = 500
# Fewer ids than this are nudged one task each, at once.
FAN_OUT_DIRECT = 20


@task()
def work_run_task(work_id: int) -> str:
    """Run one piece of work (``work_run``); queue its retry when it asks for one."""
    outcome = work_run(work_id)
    if outcome.retry_at is not None:
        nudge(work_id, outcome.retry_at)
    return outcome.result or outcome.status


@task()
def work_fan_out_task(work_ids: list[int]) -> int:
    """Queue one ``work_run_task`` per id still pending; returns how many were queued.

    The rows' next attempt moves to now, so that the recovery job, which compares it with the
    oldest task waiting in the queue, does not take work queued behind a backlog for lost.
    """
    now = timezone.now()
    with transaction.atomic():
        pending = Work.objects.filter(pk__in=work_ids, status=Work.Status.PENDING)
        pending.filter(next_attempt_at__lte=now).update(next_attempt_at=now)
        ids = list(pending.values_list("pk", flat=True))
        for work_id in ids:
            work_run_task.enqueue(work_id)
    return len(ids)


def nudge(work_id: int, run_after: datetime.datetime | None = None) -> None:
    """Queue the task that runs ``work_id`` (at ``run_after``, if given)."""
    (work_run_task.using(run_after=run_after) if run_after else work_run_task).enqueue(work_id)


def nudge_many(work_ids: Sequence[int], run_after: datetime.datetime | None = None) -> None:
    """Queue the tasks of many pieces of work: a few fan-out tasks, not one task per id."""
    if len(work_ids) < FAN_OUT_DIRECT:
        for work_id in work_ids:
            nudge(work_id, run_after)
        return
    fan_out = work_fan_out_task.using(run_after=run_after) if run_after else work_fan_out_task
    for start in range(0, len(work_ids), FAN_OUT):
        fan_out.enqueue(list(work_ids[start : start + FAN_OUT]))
