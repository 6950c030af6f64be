"""``mamori worker``: runs background work (mail, CSV imports, periodic jobs) until stopped.

On the database queue (the default) it is ``mamori.core.work.worker.Worker``; with
``MAMORI_TASK_BACKEND=rq``, ``mamori.core.work.rq_worker.RQWorker`` on the Redis queue. Both tick the
periodic jobs, keep the leases of the work they run, stop after the current task on SIGTERM and
wait for the database while it is down.
"""

import random
import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand
from django.tasks import task_backends
from django.tasks.exceptions import InvalidTaskBackend
from django.utils.crypto import get_random_string
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import (
    valid_interval,
    valid_max_tasks,
    validate_worker_id,
)

from mamori.core.work.lease import lease_keeper_start, lease_keeper_stop
from mamori.core.work.worker import Worker


def valid_backend_name(value: str) -> str:
    """A backend of ``TASKS`` that a worker can consume: the database queue, or RQ."""
    try:
        backend = task_backends[value]
    except InvalidTaskBackend as exc:
        raise ArgumentTypeError(exc.args[0]) from exc
    if not isinstance(backend, DatabaseBackend) and not _is_rq(backend):
        raise ArgumentTypeError(f"Backend {value!r} is neither the database queue nor RQ")
    return value


def _is_rq(backend: object) -> bool:
    return type(backend).__module__ == "mamori.core.work.rq"


class Command(BaseCommand):
    help = (
        "Run the task worker: background work and periodic jobs. It recovers work whose worker "
        "was lost, survives database outages, and stops after the current task on SIGTERM."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name", default="default", help="queues to run, comma-separated (* for all)"
        )
        parser.add_argument(
            "--backend", default="default", type=valid_backend_name, dest="backend_name"
        )
        parser.add_argument(
            "--interval",
            default=1.0,
            type=valid_interval,
            help="seconds to wait when no task is ready (default: 1)",
        )
        parser.add_argument("--batch", action="store_true", help="run what is ready, then exit")
        parser.add_argument(
            "--no-startup-delay",
            action="store_false",
            dest="startup_delay",
            help="start at once (workers started together otherwise wait up to 1 s)",
        )
        parser.add_argument(
            "--max-tasks", default=None, type=valid_max_tasks, help="exit after this many tasks"
        )
        parser.add_argument(
            "--worker-id",
            type=validate_worker_id,
            default=None,
            help="unique among the workers (default: random)",
        )

    def handle(
        self,
        *args: Any,
        queue_name: str,
        backend_name: str,
        interval: float,
        batch: bool,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str | None,
        **options: Any,
    ) -> None:
        backend = task_backends[backend_name]
        common: dict[str, Any] = {
            "queue_names": queue_name.split(","),
            "worker_id": worker_id or get_random_string(32),
            "interval": interval,
            "batch": batch,
            "max_tasks": max_tasks,
        }
        lease_keeper_start()
        try:
            if _is_rq(backend):
                # RQ is installed only where it is used.
                from mamori.core.work.rq_worker import rq_worker_run

                if startup_delay and interval:
                    time.sleep(random.random())  # workers started together spread out
                rq_worker_run(backend=backend, **common)  # type: ignore[arg-type]
                return
            worker = Worker(backend_name=backend_name, startup_delay=startup_delay, **common)
            restore_signals = worker.configure_signals()
            try:
                worker.run()
            finally:
                restore_signals()
        finally:
            lease_keeper_stop()
