"""The worker loop behind ``mamori worker``, on django-tasks-db's task table.

Each turn it claims the periodic jobs' due slots, then takes one ready task (``DBTaskResult``:
locked, claimed, run, marked). It keeps the lease of the work it runs from a thread of its own,
stops after the current task on SIGTERM or SIGINT, and outlives a database outage: on a
connection error it closes its connections, logs once, and tries again after 1 s, 2 s, 4 s …
at most 30 s, until the database answers.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from django.db import Error as DatabaseError
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django_tasks_db.compat import TaskContext, task_finished, task_started
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from mamori.core.work.lease import lease_keeper_start, lease_keeper_stop
from mamori.core.work.periodic import PeriodicTicker

logger = logging.getLogger("mamori.worker")
OUTAGE_FIRST_WAIT = 1.0
OUTAGE_MAX_WAIT = 30.0


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
        self._down_since: float | None = None
        self._wait = OUTAGE_FIRST_WAIT

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
        lease_keeper_start()
        try:
            if self.startup_delay and self.interval:
                self._stop.wait(random.random())  # workers started together spread out
            while self.running and not self._finished():
                self._turn()
        finally:
            lease_keeper_stop()
            logger.info("worker %s stopped after %d task(s)", self.worker_id, self.tasks_run)

    def _finished(self) -> bool:
        return self.max_tasks is not None and self.tasks_run >= self.max_tasks

    def _turn(self) -> None:
        try:
            self._ticker.tick()
            ran = self._run_one()
        except (OperationalError, InterfaceError) as exc:
            if isinstance(exc, OperationalError) and is_locked_database_exception(exc):
                self._stop.wait(self.interval)  # SQLite busy: another writer; not an outage
                return
            if self.batch:
                raise
            self._database_down(exc)
            return
        self._database_up()
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

    def _database_down(self, exc: DatabaseError) -> None:
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):  # it is broken: closing is all we want
                connection.close()
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error("database unavailable (%s); trying again until it answers", exc)
        self._stop.wait(self._wait)
        self._wait = min(self._wait * 2, OUTAGE_MAX_WAIT)

    def _database_up(self) -> None:
        if self._down_since is not None:
            logger.warning(
                "database available again after %.0f s", time.monotonic() - self._down_since
            )
        self._down_since = None
        self._wait = OUTAGE_FIRST_WAIT
