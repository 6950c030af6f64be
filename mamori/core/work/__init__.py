"""Durable background work: one layer that mail, CSV imports and later kinds of work use.

- ``work_submit`` / ``work_submit_many`` store work with the change that causes it; a task
  carrying only the id is queued once that commits.
- A handler registered with ``work_handler(kind, lease=…, retry=…, on_failure=…)`` does it;
  it raises ``WorkRetry`` for a failure that can pass and ``WorkFailed`` for one that cannot.
- ``work_run`` claims, commits, calls the handler with no transaction open, and records.
- ``periodic_job(name, every=…)`` registers a job run once per slot by whichever worker.
- ``mamori worker`` runs the tasks, ticks the periodic jobs, keeps leases and outlives
  database outages; the ``core.work.recover`` job queues again what was lost.
- The tasks wait in the database (``worker``) or, with ``MAMORI_TASK_BACKEND=rq``, in Redis
  (``rq``, ``rq_worker``); the work rows are the truth either way.

Import this package from ``AppConfig.ready()`` or later: it loads models.
"""

from mamori.core.work.actors import ActorRefused, actor_loader, actor_rebuild
from mamori.core.work.periodic import PeriodicTicker, periodic_claim, periodic_job, periodic_jobs
from mamori.core.work.registry import (
    Failure,
    Retry,
    WorkFailed,
    WorkRetry,
    handler_get,
    work_handler,
)
from mamori.core.work.run import Outcome, work_run
from mamori.core.work.services import work_prune, work_recover, work_submit, work_submit_many

__all__ = [
    "ActorRefused",
    "Failure",
    "Outcome",
    "PeriodicTicker",
    "Retry",
    "WorkFailed",
    "WorkRetry",
    "actor_loader",
    "actor_rebuild",
    "handler_get",
    "periodic_claim",
    "periodic_job",
    "periodic_jobs",
    "work_handler",
    "work_prune",
    "work_recover",
    "work_run",
    "work_submit",
    "work_submit_many",
]
