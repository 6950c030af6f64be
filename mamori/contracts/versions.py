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
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection

ORGANIZATIONS = "organizations"


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
    value: T | None = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value)
    return value
