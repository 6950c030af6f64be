"""``mamori worker``: runs background work (mail, CSV imports, periodic jobs) until stopped."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import (
    valid_backend_name,
    valid_interval,
    valid_max_tasks,
    validate_worker_id,
)

from mamori.core.work.worker import Worker


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
        worker = Worker(
            queue_names=queue_name.split(","),
            backend_name=backend_name,
            worker_id=worker_id or get_random_string(32),
            interval=interval,
            batch=batch,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
        )
        restore_signals = worker.configure_signals()
        try:
            worker.run()
        finally:
            restore_signals()
