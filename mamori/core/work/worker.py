"""The worker loop behind ``mamori worker``, on django-tasks-db's task table.

Each turn it claims the periodic jobs' due slots, then takes one ready task (``DBTaskResult``:
locked, claimed, run, marked). It keeps the lease of the work it runs from a thread of its own,
stops after the current task on SIGTERM or SIGINT, and outlives a database outage
(``mamori.core.work.outage``). ``mamori.core.work.rq_worker`` is the same worker on RQ.
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from django.db import InterfaceError, OperationalError, close_old_connections
from django_tasks_db.compat import TaskContext, task_finished, task_started
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from mamori.core.work.outage import DatabaseOutage, is_database_busy
from mamori.core.work.periodic import PeriodicTicker

logger = logging.getLogger("mamori.worker")


class Worker:
    """Runs ready tasks of ``queue_names`` on ``backend_name`` until stopped.

    ``batch``: stop when no task is ready (a database error then ends the run); ``max_tasks``:
    stop after that many; ``interval``: seconds to wait when no task is ready.
    """

    def __init__(
        self,
        *,
        queue_names: list[str],
        backend_name: str,
        worker_id: str,
        interval: float = 1.0,
        batch: bool = False,
        startup_delay: bool = True,
        max_tasks: int | None = None,
    ) -> None:
        self.queue_names = queue_names
        self.backend_name = backend_name
        self.worker_id = worker_id
        self.interval = interval
        self.batch = batch
        self.startup_delay = startup_delay
        self.max_tasks = max_tasks
        self.tasks_run = 0
        self.running = True
        self.running_task = False
        self._stop = threading.Event()
        self._ticker = PeriodicTicker()
        self._outage = DatabaseOutage(wait=self._stop.wait)

    def configure_signals(self) -> Callable[[], None]:
        """Stop gracefully on SIGINT and SIGTERM; returns what puts the old handlers back."""
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        for signum in previous:
            signal.signal(signum, self._shutdown)

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore

    def _shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            logger.warning("%s again: stopping now", signal.strsignal(signum))
            sys.exit(1)
        logger.info("%s: stopping after the current task", signal.strsignal(signum))
        self.running = False
        self._stop.set()

    def run(self) -> None:
        """Run until stopped (a signal, ``batch``, ``max_tasks``)."""
        logger.info("worker %s started (queues %s)", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            self._stop.wait(random.random())  # workers started together spread out
        while self.running and not self._finished():
            self._turn()
        logger.info("worker %s stopped after %d task(s)", self.worker_id, self.tasks_run)

    def _finished(self) -> bool:
        return self.max_tasks is not None and self.tasks_run >= self.max_tasks

    def _turn(self) -> None:
        try:
            self._ticker.tick()
            ran = self._run_one()
        except (OperationalError, InterfaceError) as exc:
            if is_database_busy(exc):
                self._stop.wait(self.interval)  # SQLite busy: another writer; not an outage
                return
            if self.batch:
                raise
            self._outage.down(exc)
            return
        self._outage.up()
        if not ran:
            if self.batch:
                self.running = False
            else:
                self._stop.wait(self.interval)

    def _run_one(self) -> bool:
        close_old_connections()
        ready = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if "*" not in self.queue_names:
            ready = ready.filter(queue_name__in=self.queue_names)
        with exclusive_transaction(ready.db):
            result = ready.get_locked()
            if result is not None:
                result.claim(self.worker_id)
        if result is None:
            return False
        self._execute(result)
        return True

    def _execute(self, result: DBTaskResult) -> None:
        self.running_task = True
        try:
            task = result.task
            backend = type(task.get_backend())
            task_result = result.task_result
            task_started.send(sender=backend, task_result=task_result)
            args, kwargs = task_result.args, task_result.kwargs
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            result.set_successful(value)
        except Exception as exc:
            # An outage is logged once by the loop; any other failure (a database error from a
            # bug included) here, with its traceback.
            if not isinstance(exc, OperationalError | InterfaceError):
                logger.exception("task %s (%s) failed", result.id, result.task_path)
            # Raises in turn when the database is gone: the loop waits for it; the work's
            # lease runs out and the recovery job hands it on.
            result.set_failed(exc)
        else:
            task_finished.send(sender=backend, task_result=result.task_result)
        finally:
            self.running_task = False
            self.tasks_run += 1
            close_old_connections()
