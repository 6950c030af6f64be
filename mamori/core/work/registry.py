"""Work handlers by kind: what runs a piece of work, how long its lease is, how it is retried."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from mamori.core.actor import Actor
    from mamori.core.models import Work

Seconds = float | Callable[[], float]


class WorkRetry(Exception):
    """Raised by a handler for a failure that can pass (a server down, a 4xx reply).

    The work is tried again after its retry policy's backoff (or ``delay``, when given), until
    the policy's ``max_attempts`` if it has one.
    """

    def __init__(self, reason: str, *, delay: datetime.timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class WorkFailed(Exception):
    """Raised by a handler for a failure that will not pass: the work is recorded failed with
    ``reason`` (a sentence a person may read) and never tried again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Failure:
    """Why a piece of work failed for good, as its handler's ``on_failure`` hook is told.

    ``exhausted`` is true when transient failures ran out of attempts: ``reason`` is then the
    last technical error, not a sentence for a person.
    """

    reason: str
    exhausted: bool = False


def _seconds(value: Seconds) -> float:
    return float(value() if callable(value) else value)


@dataclasses.dataclass(frozen=True)
class Retry:
    """Exponential backoff with jitter for a handler's transient failures.

    The nominal wait after ``n`` failed attempts is ``base × 2**(n-1)`` seconds, at most
    ``cap``; the real wait is drawn between ``(1 - jitter)`` times and once the nominal one, so
    workers that failed together do not come back together, and never later than ``cap``.
    ``base`` and ``cap`` may be callables (read at each retry, e.g. from settings).
    ``max_attempts`` ends the retries (the work fails); ``None`` retries forever.
    """

    base: Seconds = 10.0
    cap: Seconds = 600.0
    max_attempts: int | None = 10
    jitter: float = 0.2

    def nominal(self, attempts: int) -> datetime.timedelta:
        """The wait before the next try after ``attempts`` (1 or more) failed ones, unjittered."""
        # Past 2**40 doublings any cap is reached; the exponent stays a float's.
        seconds = _seconds(self.base) * 2.0 ** min(max(attempts - 1, 0), 40)
        return datetime.timedelta(seconds=min(seconds, _seconds(self.cap)))

    def delay(self, attempts: int) -> datetime.timedelta:
        """The jittered wait: within ``[(1 - jitter) × nominal, nominal]``."""
        return self.nominal(attempts) * (1 - self.jitter * random.random())

    def exhausted(self, attempts: int) -> bool:
        """Whether ``attempts`` used up the policy's ``max_attempts``."""
        return self.max_attempts is not None and attempts >= self.max_attempts


HandlerFn = Callable[["Work", "Actor"], str | None]
FailureHook = Callable[["Work", Failure], None]


@dataclasses.dataclass(frozen=True)
class Handler:
    """A registered kind of work.

    ``fn(work, actor)`` does it (returning a short outcome word, or None); it runs with no
    transaction open and must be safe to run again after a crash. ``on_failure(work, failure)``
    runs in the transaction that records the work failed for good, so that the domain row the
    work is about (a mail, an import) never stays waiting.
    """

    kind: str
    fn: HandlerFn
    lease: datetime.timedelta | None
    retry: Retry
    on_failure: FailureHook | None

    @property
    def lease_duration(self) -> datetime.timedelta:
        """The handler's lease, or ``MAMORI_WORK_LEASE_SECONDS``."""
        if self.lease is not None:
            return self.lease
        return datetime.timedelta(seconds=settings.MAMORI_WORK_LEASE_SECONDS)


_handlers: dict[str, Handler] = {}


def work_handler(
    kind: str,
    *,
    lease: datetime.timedelta | None = None,
    retry: Retry | None = None,
    on_failure: FailureHook | None = None,
) -> Callable[[HandlerFn], HandlerFn]:
    """Register ``fn`` as the handler of ``kind`` (a dotted name such as ``"mail.deliver"``).

    Used as a decorator, or called from an ``AppConfig.ready()``. ``lease`` defaults to
    ``MAMORI_WORK_LEASE_SECONDS`` (a worker renews it while the handler runs); ``retry`` to
    ``Retry()``. Registering a kind twice with another function raises ``ImproperlyConfigured``.
    """

    def register(fn: HandlerFn) -> HandlerFn:
        existing = _handlers.get(kind)
        if existing is not None and existing.fn is not fn:
            raise ImproperlyConfigured(f"Work kind {kind!r} is registered twice")
        _handlers[kind] = Handler(kind, fn, lease, retry or Retry(), on_failure)
        return fn

    return register


def handler_get(kind: str) -> Handler | None:
    """The handler registered for ``kind``, or None."""
    return _handlers.get(kind)


def handler_require(kind: str) -> Handler:
    """The handler registered for ``kind``; ``ImproperlyConfigured`` when there is none."""
    handler = _handlers.get(kind)
    if handler is None:
        raise ImproperlyConfigured(f"No work handler is registered for {kind!r}")
    return handler
