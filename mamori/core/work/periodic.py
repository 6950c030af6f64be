"""Periodic jobs: each app registers its own; each slot runs once, whatever the number of workers.

Time is cut into slots of each job's period, counted from the Unix epoch in UTC. A worker that
sees a new slot inserts the claim row ``(job, slot)`` together with the work row that runs the
job, in one transaction; the unique constraint lets one insert win, so the job runs once per
slot, and as durable work (retried, recovered) like any other. A slot no worker saw (all were
down) is skipped, not caught up.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from mamori.core.actor import Actor
from mamori.core.models import PeriodicSlot
from mamori.core.work.registry import HandlerFn, Retry, work_handler
from mamori.core.work.services import work_submit

logger = logging.getLogger(__name__)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
Every = datetime.timedelta | Callable[[], datetime.timedelta]


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``every`` (a duration, or a callable returning one, read at each tick);
    its work kind is its name."""

    name: str
    every: Every

    @property
    def period(self) -> datetime.timedelta:
        """The job's period now (``every``, or what it returns)."""
        return self.every() if callable(self.every) else self.every

    def slot(self, now: datetime.datetime) -> datetime.datetime:
        """The start of the slot ``now`` falls in."""
        period = self.period
        return EPOCH + ((now - EPOCH) // period) * period


_jobs: dict[str, PeriodicJob] = {}


def periodic_job(
    name: str, *, every: Every, retry: Retry | None = None
) -> Callable[[HandlerFn], HandlerFn]:
    """Register ``fn(work, actor)`` to run every ``every`` as the system, as work of kind
    ``name``; called from the app's ``AppConfig.ready()``. A job is retried (``retry``, by
    default 3 attempts) within its slot's work, never by another slot's."""

    def register(fn: HandlerFn) -> HandlerFn:
        if name in _jobs:
            raise ImproperlyConfigured(f"Periodic job {name!r} is registered twice")
        work_handler(name, retry=retry or Retry(max_attempts=3))(fn)
        _jobs[name] = PeriodicJob(name, every)
        return fn

    return register


def periodic_jobs() -> list[PeriodicJob]:
    """The registered periodic jobs."""
    return list(_jobs.values())


def periodic_claim(job: PeriodicJob, slot: datetime.datetime) -> bool:
    """Claim ``slot`` of ``job`` and submit its work; False when another claimed it first."""
    if PeriodicSlot.objects.filter(job=job.name, slot=slot).exists():
        return False
    try:
        with transaction.atomic():
            work = work_submit(
                kind=job.name, payload={"slot": slot.isoformat()}, actor=Actor.system()
            )
            PeriodicSlot.objects.create(job=job.name, slot=slot, work=work)
    except IntegrityError:
        return False  # another worker's insert won
    return True


class PeriodicTicker:
    """Claims the due slots of every registered job; cheap to call often.

    It remembers the last slot it saw per job, so a tick queries the database only when a job's
    slot changed since the previous one.
    """

    def __init__(self) -> None:
        self._seen: dict[str, datetime.datetime] = {}

    def tick(self, now: datetime.datetime | None = None) -> list[str]:
        """Claim what is due; returns the names of the jobs whose slot this call claimed."""
        now = now or timezone.now()
        claimed = []
        for job in periodic_jobs():
            slot = job.slot(now)
            if self._seen.get(job.name) == slot:
                continue
            if periodic_claim(job, slot):
                claimed.append(job.name)
                logger.debug("periodic job %s: slot %s claimed", job.name, slot.isoformat())
            self._seen[job.name] = slot
        return claimed
