"""``mamori worker``: the task worker (django-tasks-db's db_worker) that also recovers lost mail."""

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from mamori.outbox.services import outbox_recover


class Command(DbWorkerCommand):
    help = "Run the task worker: mail delivery and other background work."

    def handle(self, *args: Any, **options: Any) -> None:
        recovered = outbox_recover()
        if recovered:
            self.stdout.write(f"Re-queued {recovered} mail(s) whose delivery task was lost.")
        super().handle(*args, **options)
