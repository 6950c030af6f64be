"""Running one piece of work: claim → commit → call → record, never a lock across the call.

The claim is a short transaction (PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: the
settings' IMMEDIATE transactions serialize writers) that marks the row running with a lease and
a fresh claim token. The handler then runs with no transaction open. Its outcome is recorded in
another short transaction, fenced by the token: a worker whose lease ran out and whose work was
handed to another records nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mamori.core.models import Work
from mamori.core.work.actors import ActorRefused, actor_rebuild
from mamori.core.work.lease import lease_kept
from mamori.core.work.registry import Failure, Handler, WorkFailed, WorkRetry, handler_get

logger = logging.getLogger(__name__)
# A task may start a moment before the time it was scheduled for.
EARLY = datetime.timedelta(seconds=1)
ERROR_LENGTH = 2000


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one ``work_run`` did.

    ``status``: ``done``, ``retry`` (``retry_at`` says when), ``failed``, ``not claimable``
    (not pending, not due, or claimed by another worker) or ``lost claim`` (the lease ran out
    and the work was handed to another worker while the handler ran; nothing was recorded).
    ``result`` is what the handler returned.
    """

    status: str
    result: str | None = None
    retry_at: datetime.datetime | None = None


def work_run(work_id: int) -> Outcome:
    """Claim ``work_id`` if it is pending and due, run its handler, and record the outcome.

    Safe to run twice for the same id, at once or later: the second finds nothing to claim.
    A handler's ``WorkRetry`` and any unexpected exception (logged with its traceback) are
    retried after the handler's backoff until its ``max_attempts``; ``WorkFailed`` and an actor
    who may no longer act fail the work for good. A database error while claiming or recording
    propagates (the worker waits for the database; the lease runs out, the work is recovered).
    """
    claimed = _claim(work_id)
    if claimed is None:
        return Outcome("not claimable")
    work, handler = claimed
    if handler is None:
        return _fail(work, None, Failure(f"No handler is registered for {work.kind!r}"))
    try:
        actor = actor_rebuild(work.actor)
    except ActorRefused as exc:
        return _fail(work, handler, Failure(exc.reason))
    result, error = None, None
    with lease_kept(work.pk, work.claim_token, handler.lease_duration):
        try:
            result = handler.fn(work, actor)
        except Exception as exc:  # noqa: BLE001 - recorded below (failed or retried), once the lease stops
            error = exc
    return _done(work, result) if error is None else _failed_call(work, handler, error)


def _failed_call(work: Work, handler: Handler, error: Exception) -> Outcome:
    if isinstance(error, WorkFailed):
        return _fail(work, handler, Failure(error.reason))
    if isinstance(error, WorkRetry):
        return _retry(work, handler, error.reason, error.delay)
    logger.error("work %s (%s) raised", work.pk, work.kind, exc_info=error)
    return _retry(work, handler, f"{type(error).__name__}: {error}", None)


def _claim(work_id: int) -> tuple[Work, Handler | None] | None:
    now = timezone.now()
    with transaction.atomic():
        work = (
            Work.objects.select_for_update(skip_locked=True)
            .filter(pk=work_id, status=Work.Status.PENDING, next_attempt_at__lte=now + EARLY)
            .first()
        )
        if work is None:
            return None
        handler = handler_get(work.kind)
        lease = (
            handler.lease_duration
            if handler
            else datetime.timedelta(seconds=settings.MAMORI_WORK_LEASE_SECONDS)
        )
        work.status = Work.Status.RUNNING
        work.attempts += 1
        work.claim_token = secrets.token_hex(16)
        work.lease_until = now + lease
        work.save(update_fields=["status", "attempts", "claim_token", "lease_until"])
    return work, handler


def _record(work: Work, **values: object) -> bool:
    updated = Work.objects.filter(
        pk=work.pk, claim_token=work.claim_token, status=Work.Status.RUNNING
    ).update(lease_until=None, **values)
    if not updated:
        logger.warning(
            "work %s (%s): its lease ran out and it was handed to another worker; "
            "this outcome is not recorded",
            work.pk,
            work.kind,
        )
    return bool(updated)


def _done(work: Work, result: str | None) -> Outcome:
    with transaction.atomic():
        recorded = _record(work, status=Work.Status.DONE, finished_at=timezone.now(), last_error="")
    return Outcome("done", result) if recorded else Outcome("lost claim", result)


def _retry(work: Work, handler: Handler, reason: str, delay: datetime.timedelta | None) -> Outcome:
    if handler.retry.exhausted(work.attempts):
        return _fail(work, handler, Failure(reason, exhausted=True))
    retry_at = timezone.now() + (delay if delay is not None else handler.retry.delay(work.attempts))
    with transaction.atomic():
        recorded = _record(
            work,
            status=Work.Status.PENDING,
            next_attempt_at=retry_at,
            last_error=reason[:ERROR_LENGTH],
        )
    if not recorded:
        return Outcome("lost claim")
    logger.warning(
        "work %s (%s) failed (%s); retry at %s", work.pk, work.kind, reason, retry_at.isoformat()
    )
    return Outcome("retry", retry_at=retry_at)


def _fail(work: Work, handler: Handler | None, failure: Failure) -> Outcome:
    with transaction.atomic():
        recorded = _record(
            work,
            status=Work.Status.FAILED,
            finished_at=timezone.now(),
            last_error=failure.reason[:ERROR_LENGTH],
        )
        if recorded and handler is not None and handler.on_failure is not None:
            handler.on_failure(work, failure)
    if not recorded:
        return Outcome("lost claim")
    logger.warning("work %s (%s) failed for good: %s", work.pk, work.kind, failure.reason)
    return Outcome("failed")
