"""Keeping the lease of the work a worker process is running, from a thread of its own.

A worker renews the lease every ``MAMORI_WORK_RENEW_SECONDS`` while a handler runs (a long CSV
import keeps its work), so that only a worker that is gone, killed or cut off from the database
lets its lease run out, and the recovery job hands its work to another.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
from collections.abc import Iterator

from django.conf import settings
from django.db import Error, connection
from django.utils import timezone

from mamori.core.models import Work

logger = logging.getLogger(__name__)


class LeaseKeeper(threading.Thread):
    """A daemon thread renewing the lease of the one piece of work its process holds.

    It uses its own database connection (Django's are per thread); a failed renewal is logged
    and tried again at the next beat. ``stop()`` ends it and closes that connection.
    """

    def __init__(self, every: float | None = None) -> None:
        super().__init__(name="mamori-lease-keeper", daemon=True)
        self.every = every if every is not None else settings.MAMORI_WORK_RENEW_SECONDS
        self._held: tuple[int, str, datetime.timedelta] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failing = False

    def hold(self, work_id: int, token: str, lease: datetime.timedelta) -> None:
        """Renew ``work_id``'s lease by ``lease`` at each beat, while ``token`` is its claim."""
        with self._lock:
            self._held = (work_id, token, lease)

    def release(self) -> None:
        """Stop renewing (the handler returned)."""
        with self._lock:
            self._held = None

    def stop(self) -> None:
        """End the thread and wait for it."""
        self._stopping.set()
        self.join(timeout=max(self.every, 1) + 5)

    def run(self) -> None:
        try:
            while not self._stopping.wait(self.every):
                with self._lock:
                    held = self._held
                if held is not None:
                    self._renew(*held)
        finally:
            connection.close()

    def _renew(self, work_id: int, token: str, lease: datetime.timedelta) -> None:
        try:
            kept = Work.objects.filter(
                pk=work_id, claim_token=token, status=Work.Status.RUNNING
            ).update(lease_until=timezone.now() + lease)
        except Error:
            if not self._failing:
                logger.warning("could not renew the lease of work %s", work_id, exc_info=True)
            self._failing = True
            connection.close()  # a fresh connection at the next beat
            return
        self._failing = False
        with self._lock:
            still_held = self._held == (work_id, token, lease)
        if not kept and still_held:  # (not merely finished and recorded meanwhile)
            logger.warning("work %s is no longer ours: its lease was taken over", work_id)
            self.release()


_keeper: list[LeaseKeeper] = []


def lease_keeper_start() -> LeaseKeeper:
    """Start renewing leases in this process (the worker calls it once)."""
    keeper = LeaseKeeper()
    keeper.start()
    _keeper[:] = [keeper]
    return keeper


def lease_keeper_stop() -> None:
    """Stop renewing leases in this process."""
    if _keeper:
        _keeper.pop().stop()


@contextlib.contextmanager
def lease_kept(work_id: int, token: str, lease: datetime.timedelta) -> Iterator[None]:
    """Renew the lease of ``work_id`` while the block runs, if this process keeps leases."""
    keeper = _keeper[0] if _keeper else None
    if keeper is not None:
        keeper.hold(work_id, token, lease)
    try:
        yield
    finally:
        if keeper is not None:
            keeper.release()
