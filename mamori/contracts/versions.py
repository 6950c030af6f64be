"""Per-contract caches that cannot serve stale data: the key holds a version the database keeps.

A kind of data (``"organizations"``: the organization tree with its user counts) has a counter
per contract in ``contracts.DataVersion``, raised by triggers on the data's table in the same
transaction as every change to it, whatever wrote it (a service, ``QuerySet.update``, a bulk
write, raw SQL). A reader reads the committed counter first (one indexed row), then builds the
value from data at least as new, and caches it under ``(kind, contract, counter, key)``: an entry
is found only while no change was committed since, in whatever process made it. The cache is
Django's (``CACHES``; local memory per process by default), so entries of older versions just
age out.

Inside a transaction nothing is cached or read from the cache: the transaction may hold
changes of its own that other processes must not see (on PostgreSQL the counter is raised at
commit, so a reader in the writing transaction would see the old counter with new data).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

ORGANIZATIONS = "organizations"

# The entries this process read last, unpickled: Django's local-memory cache pickles every value
# (0.36 ms a read for a 1,000-organization tree, a third of what was left between the users page
# and its floor). Values are plain tuples, never changed by their readers, so sharing them between
# threads is safe; the key holds the version, so a stale one is never found.
_RECENT_MAX = 64
_recent: OrderedDict[str, Any] = OrderedDict()
_recent_lock = threading.Lock()


def cached_forget() -> None:
    """Forget this process's unpickled entries (with ``cache.clear()``, between tests)."""
    with _recent_lock:
        _recent.clear()


# Read on every cached view: written once, not compiled by the ORM each time.
_VERSION_SQL = "SELECT version FROM contracts_dataversion WHERE contract_id = %s AND kind = %s"


def version_of(contract_id: int, kind: str) -> int:
    """The committed counter of ``kind`` for the contract (0 before its first change)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, [contract_id, kind])
        found = cursor.fetchone()
    return int(found[0]) if found else 0


def cached[T](contract_id: int, kind: str, key: str, build: Callable[[], T]) -> T:
    """``build()``, or what it returned before for the same contract, ``kind``, ``key`` and
    version of the data. ``key`` names everything else the value depends on (the reader's
    organization scope, the language); ``build`` must read only the contract's ``kind`` data
    besides. The value is pickled: give plain tuples, not thousands of objects.
    """
    if connection.in_atomic_block:
        return build()
    version = version_of(contract_id, kind)
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    full_key = f"mamori:{kind}:{contract_id}:{version}:{digest}"
    with _recent_lock:
        value: T | None = _recent.get(full_key)
        if value is not None:
            _recent.move_to_end(full_key)
            return value
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value)
    with _recent_lock:
        _recent[full_key] = value
        if len(_recent) > _RECENT_MAX:
            _recent.popitem(last=False)
    return value
