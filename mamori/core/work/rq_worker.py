"""``mamori worker`` on RQ (``MAMORI_TASK_BACKEND=rq``).

``RQWorker`` is RQ's in-process worker (no fork per task, so the lease keeper's thread and the
database connections are the worker's own). Between tasks it ticks the periodic jobs, moves the
delayed tasks that fell due onto their queue (RQ's scheduler, run in the worker's loop rather
than as a forked process that a killed worker would leave behind), and waits for the database
while it is down (``mamori.core.work.outage``).
"""

from __future__ import annotations

import logging
import math
import signal
import time
from types import FrameType
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django_rq.queues import get_queues
from django_tasks_rq import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker

from mamori.core.work.outage import DatabaseOutage, is_database_busy
from mamori.core.work.periodic import PeriodicTicker
from mamori.core.work.rq import RQBackend

logger = logging.getLogger("mamori.worker")


class RQWorker(SimpleWorker):
    """RQ's in-process worker with Mamori's duties between tasks.

    ``interval`` bounds how long it waits for a task before it ticks the periodic jobs again;
    ``batch`` runs what is due and stops (RQ's burst mode; a database error then ends it).
    SIGTERM or SIGINT stop it after the current task (RQ's warm shutdown); a second one, at once.
    """

    def __init__(self, queues: list[Queue], *, interval: float, batch: bool, **kwargs: Any):
        super().__init__(queues, job_class=Job, **kwargs)
        self.interval = interval
        self.batch = batch
        self._ticker = PeriodicTicker()
        self._outage = DatabaseOutage(wait=time.sleep)  # RQ's SIGTERM handler interrupts it
        self._database_suspect = False
        self._scheduler: RQScheduler | None = None
        self.tasks_run = 0

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        # RQ's loop ends when this returns None; between two waits of at most `interval`
        # (whole seconds: Redis's blocking pop), the worker does its own duties.
        wait = None if self.batch else max(1, math.ceil(self.interval))
        while True:
            self._between_tasks()
            result = super().dequeue_job_and_maintain_ttl(wait, wait)
            if result is not None or self.batch:
                return result  # type: ignore[return-value]

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("%s: stopping after the current task", signal.strsignal(signum))
        super().request_stop(signum, frame)

    def execute_job(self, job: Any, queue: Queue) -> None:
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            self.tasks_run += 1
            close_old_connections()

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        # A task fails on a database error when the database went away: look before the next.
        # (The work it nudged stays in the database; the recovery job queues it again.)
        if isinstance(exc_info[1], OperationalError | InterfaceError):
            self._database_suspect = True
        super().handle_exception(job, *exc_info)

    def _between_tasks(self) -> None:
        while True:
            try:
                close_old_connections()
                if self._database_suspect:
                    connection.ensure_connection()
                self._ticker.tick()
            except (OperationalError, InterfaceError) as exc:
                if is_database_busy(exc):
                    time.sleep(self.interval)
                    return
                if self.batch:
                    raise
                self._database_suspect = True
                self._outage.down(exc)
                continue
            self._database_suspect = False
            self._outage.up()
            break
        self._move_due()

    def _move_due(self) -> None:
        """Move the delayed tasks that fell due onto their queues (RQ's scheduler, once)."""
        if self._scheduler is None:
            self._scheduler = RQScheduler(
                self.queues,
                connection=self.connection,
                serializer=self.serializer,
                logging_level="WARNING",
            )
        scheduler = self._scheduler
        scheduler.acquire_locks()  # one worker at a time; held only while it moves them
        if scheduler.acquired_locks:
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()


def rq_worker_run(
    *,
    queue_names: list[str],
    backend: RQBackend,
    worker_id: str,
    interval: float,
    batch: bool,
    max_tasks: int | None,
) -> None:
    """Run ``mamori worker`` on RQ until stopped (a signal, ``batch``, ``max_tasks``)."""
    names = sorted(backend.queues) if "*" in queue_names else queue_names
    queues = get_queues(*names, job_class=Job)
    worker = RQWorker(
        queues,
        name=worker_id,
        connection=backend.connection(),
        interval=interval,
        batch=batch,
    )
    logger.info("worker %s started on RQ (queues %s)", worker_id, ",".join(names))
    worker.work(burst=batch, max_jobs=max_tasks, logging_level="WARNING")
    logger.info("worker %s stopped after %d task(s)", worker_id, worker.tasks_run)
