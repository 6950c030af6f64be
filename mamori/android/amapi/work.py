"""How a work handler (``mamori.core.work``) turns a failed AMAPI call into a retry or a failure.

- ``AmapiUnavailable`` → ``WorkRetry`` after ``max(error.retry_after, backoff)`` with jitter:
  at least 60 s after a 429 (ANDROID.md 4); the exponential backoff of ``work_retry_policy()`` otherwise.
  Mamori's own limiter being full (``QUOTA_IN_USE``) is no failure of the call: its work comes
  back after the wait the limiter named plus a spread of up to half a window, so a backlog
  does not return all at once.
- ``AmapiNotFound`` and ``AmapiRefused`` → ``WorkFailed`` with the error's sentence (Google's
  message inside). A handler that expects a 404 (a device deleted meanwhile) catches it first.
- Work still failing after ``GIVE_UP`` since it was created fails for good.

Register AMAPI handlers with ``retry=work_retry_policy()``: its attempts are unlimited because limiter
waits count as attempts; ``GIVE_UP`` ends them instead.
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from mamori.android.amapi.errors import AmapiError, AmapiUnavailable

if TYPE_CHECKING:
    from mamori.core.actor import Actor
    from mamori.core.models import Work
    from mamori.core.work import Retry, WorkFailed, WorkRetry

GIVE_UP = datetime.timedelta(days=1)


def work_retry_policy() -> Retry:
    """The ``retry=`` of AMAPI work handlers: backoff 15 s doubling to 15 min, attempts unlimited."""
    # Imported here (as below): mamori.core.work loads models, and this package is an app.
    from mamori.core.work import Retry

    return Retry(base=15.0, cap=900.0, max_attempts=None, jitter=0.3)


def work_retry(error: AmapiError, work: Work) -> WorkRetry | WorkFailed:
    """The exception a work handler raises for ``error`` (raise it ``from error``)."""
    from mamori.core.work import WorkFailed, WorkRetry

    if not isinstance(error, AmapiUnavailable):
        return WorkFailed(error.reason())
    if timezone.now() - work.created_at > GIVE_UP:
        return WorkFailed(error.reason())
    if error.code == "QUOTA_IN_USE":
        spread = settings.MAMORI_AMAPI_QUOTA_WINDOW_SECONDS / 2
        seconds = error.retry_after + random.uniform(0, spread)
    else:
        backoff = work_retry_policy().delay(work.attempts).total_seconds()
        seconds = max(error.retry_after * (1 + 0.2 * random.random()), backoff)
    return WorkRetry(str(error), delay=datetime.timedelta(seconds=seconds))


Handler = Callable[["Work", "Actor"], str | None]


def amapi_work(fn: Handler) -> Handler:
    """Decorate a work handler so that an ``AmapiError`` it lets out becomes ``work_retry``'s."""

    @functools.wraps(fn)
    def run(work: Work, actor: Actor) -> str | None:
        try:
            return fn(work, actor)
        except AmapiError as error:
            raise work_retry(error, work) from error

    return run
