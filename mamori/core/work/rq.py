"""Durable work's tasks on RQ (Redis), for ``MAMORI_TASK_BACKEND=rq``: the backend.

The queue only nudges: each task carries a work id, and the work row in the database is the
truth (``mamori.core.work``). What the queue loses (Redis restarted without persistence, a
flushed database) is found again by the recovery job, which compares the work rows with the
oldest task still waiting here (``RQBackend.queue_head``). ``mamori worker`` consumes it with
``mamori.core.work.rq_worker``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import django_rq
from django.core.checks import CheckMessage
from django_rq.queues import get_queues
from django_tasks_rq import Job
from django_tasks_rq import RQBackend as BaseRQBackend
from redis import Redis
from rq.registry import ScheduledJobRegistry


class RQBackend(BaseRQBackend):
    """django-tasks-rq's backend, with what Mamori asks of a task backend besides enqueueing:
    ``check_reachable`` (``/readyz``) and ``queue_head`` (the recovery job)."""

    def check(self, **kwargs: Any) -> Iterable[CheckMessage]:
        # django-rq is used as a library (its queues and connections), not as an app: its admin
        # pages and models are not installed, so its "not installed" error does not apply.
        return [m for m in super().check(**kwargs) if "django_rq app" not in m.msg]

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Queue ``task``; a delayed one goes, once due, before the tasks waiting undelayed
        (retries first, as on the database queue, whose order is by ``run_after``)."""
        result = super().enqueue(task, args, kwargs)
        if task.run_after is not None:
            self.connection().hset(Job.key_for(result.id), "enqueue_at_front", 1)
        return result

    def connection(self) -> Redis:
        """A client of the Redis that holds this backend's queues."""
        return django_rq.get_connection(sorted(self.queues)[0])

    def check_reachable(self) -> None:
        """Raise (a ``redis`` exception) unless Redis answers a PING."""
        self.connection().ping()

    def queue_head(self, now: datetime.datetime) -> datetime.datetime | None:
        """When the oldest task still waiting in any of the queues became due; ``None`` if none.

        A queued task became due when it was queued; a delayed one at its time, if that passed
        (no worker has moved it onto the queue yet).
        """
        heads = []
        redis = self.connection()
        for queue in get_queues(*sorted(self.queues), job_class=Job):
            first = queue.get_job_ids(0, 1)
            if first:
                (job,) = Job.fetch_many(first, connection=redis)
                # A task whose hash is gone cannot say: take it as just queued.
                enqueued = job.enqueued_at if job is not None else None
                heads.append(_aware(enqueued) if enqueued else now)
            key = ScheduledJobRegistry(queue.name, connection=redis).key
            earliest: list[tuple[bytes, float]] = redis.zrange(key, 0, 0, withscores=True)  # type: ignore[assignment]
            for _, score in earliest:
                heads.append(min(now, datetime.datetime.fromtimestamp(score, datetime.UTC)))
        return min(heads, default=None)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
