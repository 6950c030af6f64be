"""A worker's patience with its database: waiting for it while it is down, logging it once.

On a connection error a worker closes its connections, logs once, and tries again after 1 s,
2 s, 4 s … at most 30 s, until the database answers; then it logs how long it was gone.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from django.db import Error as DatabaseError
from django.db import OperationalError, connections
from django_tasks_db.utils import is_locked_database_exception

logger = logging.getLogger("mamori.worker")
OUTAGE_FIRST_WAIT = 1.0
OUTAGE_MAX_WAIT = 30.0


def is_database_busy(exc: DatabaseError) -> bool:
    """True for SQLite's "database is locked": another writer, not an outage."""
    return isinstance(exc, OperationalError) and is_locked_database_exception(exc)


class DatabaseOutage:
    """The backoff of one worker while its database is down; ``wait(seconds)`` sleeps (and may
    return early or raise, when the worker is told to stop)."""

    def __init__(self, wait: Callable[[float], object]) -> None:
        self._sleep = wait
        self._down_since: float | None = None
        self._wait = OUTAGE_FIRST_WAIT

    def down(self, exc: DatabaseError) -> None:
        """The database failed: close every connection, log (once), and wait before a retry."""
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):  # it is broken: closing is all we want
                connection.close()
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error("database unavailable (%s); trying again until it answers", exc)
        wait, self._wait = self._wait, min(self._wait * 2, OUTAGE_MAX_WAIT)
        self._sleep(wait)

    def up(self) -> None:
        """The database answered: log the end of an outage, if there was one."""
        if self._down_since is not None:
            logger.warning(
                "database available again after %.0f s", time.monotonic() - self._down_since
            )
        self._down_since = None
        self._wait = OUTAGE_FIRST_WAIT
