"""The task queue as tests see it, whichever backend the settings name (the database's table
or RQ's Redis): what waits in it, losing it, and a Redis server of the test process's own.

Each test process (each pytest-xdist worker) starts a private ``redis-server`` on a free port
without persistence (``PrivateRedis``), as the fault tests start a private PostgreSQL: the
machine's shared Redis is never used, so neither another run on the same machine nor a worker
left behind by an earlier test can take or flush this process's tasks (database numbers and
PID-based claims on a shared server did not hold in CI). Each test starts with it empty.
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.smtp import free_port

RQ_BACKEND = "mamori.core.work.rq.RQBackend"


def on_rq() -> bool:
    """Whether the settings run the tasks on RQ (the suite's third pass, or ``rq_tasks()``)."""
    return bool(settings.TASKS["default"]["BACKEND"] == RQ_BACKEND)


class PrivateRedis:
    """A ``redis-server`` of this process's own on 127.0.0.1 and a free port, in a temporary
    directory, keeping nothing on disk; ``url`` is its database 0."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="mamori-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                binary,
                *("--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                *("--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except RedisConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "redis.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"redis-server did not start:\n{log}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_flush(client: Redis) -> None:
    """Empty the process's Redis database."""
    client.flushdb()


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
