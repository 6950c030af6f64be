"""The task queue as tests see it, whichever backend the settings name (the database's table
or RQ's Redis): what waits in it, losing it, and a Redis database of the test process's own.

A test process (each pytest-xdist worker) claims a Redis database index nobody else uses
(``redis_db_claim``): the claim is a key in that database naming the process, taken over only
from a process that is gone, so parallel runs and other users of the machine's Redis
(database 0 is never taken) do not collide. Each test starts with it empty.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.test import override_settings
from redis import Redis

CLAIM_KEY = "mamori:tests:claimed-by"
REDIS_URL = "redis://127.0.0.1:6379/0"
RQ_BACKEND = "mamori.core.work.rq.RQBackend"


def on_rq() -> bool:
    """Whether the settings run the tasks on RQ (the suite's third pass, or ``rq_tasks()``)."""
    return bool(settings.TASKS["default"]["BACKEND"] == RQ_BACKEND)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def redis_db_claim(base_url: str) -> str:
    """Claim a Redis database (1-15) for this process; returns its URL (emptied)."""
    parts = urlsplit(base_url)
    for index in range(1, 16):
        url = urlunsplit((parts.scheme, parts.netloc, f"/{index}", "", ""))
        client = Redis.from_url(url)
        if not client.set(CLAIM_KEY, os.getpid(), nx=True):
            owner = int(client.get(CLAIM_KEY) or 0)
            if owner == os.getpid() or _alive(owner):
                continue
            client.set(CLAIM_KEY, os.getpid())  # a test process that is gone left it
        elif client.dbsize() > 1:  # somebody's data, without a claim: not ours to empty
            client.delete(CLAIM_KEY)
            continue
        redis_flush(client)
        return url
    raise RuntimeError("No free Redis database for this test process (1-15 are all claimed)")


def redis_flush(client: Redis) -> None:
    """Empty the process's Redis database, keeping its claim."""
    client.flushdb()
    client.set(CLAIM_KEY, os.getpid())


def redis_release(url: str) -> None:
    Redis.from_url(url).flushdb()


def rq_queues(url: str) -> dict[str, Any]:
    return {"default": {"URL": url, "DEFAULT_TIMEOUT": -1}}


@contextlib.contextmanager
def rq_tasks(url: str) -> Iterator[None]:
    """Run the tasks on RQ in the Redis database ``url`` within the block."""
    with override_settings(
        TASKS={"default": {"BACKEND": RQ_BACKEND, "QUEUES": ["default"]}},
        RQ_QUEUES=rq_queues(url),
    ):
        yield


def _rq_queue() -> Any:
    from django_rq import get_queue
    from django_tasks_rq import Job

    return get_queue("default", job_class=Job)


def queued() -> list[tuple[str, list[Any]]]:
    """The tasks waiting in the queue (due or delayed), oldest first: (task path, args)."""
    if on_rq():
        from rq.registry import ScheduledJobRegistry

        queue = _rq_queue()
        scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
        jobs = [*queue.get_jobs(), *queue.job_class.fetch_many(scheduled, queue.connection)]
        return [(job.func_name, list(job.args)) for job in jobs]
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.ready().order_by("enqueued_at", "id")
    return [(task.task_path, task.args_kwargs["args"]) for task in ready]


def queue_lose() -> None:
    """Lose every task waiting in the queue (a worker killed holding it, Redis restarted)."""
    if on_rq():
        redis_flush(_rq_queue().connection)
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()


def task_backdate(result_id: str, enqueued_at: datetime.datetime) -> None:
    """Make the waiting task ``result_id`` look queued at ``enqueued_at``."""
    if on_rq():
        job = _rq_queue().fetch_job(result_id)
        job.enqueued_at = enqueued_at
        job.save()
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=result_id).update(enqueued_at=enqueued_at)
