"""Reading the operation log: always within the viewer's contract, newest first, by keyset."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from mamori.accounts.models import Account
from mamori.accounts.permissions import has_permission
from mamori.accounts.scope import scope_paths
from mamori.audit.models import LogEntry

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclasses.dataclass(frozen=True)
class LogFilter:
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    actor_id: int | None = None
    action: str | None = None


@dataclasses.dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the (created_at, id) of an entry."""

    created_at: datetime.datetime
    id: int

    def encode(self) -> str:
        delta = self.created_at - EPOCH
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """Parse ``encode``'s output; anything malformed is no cursor at all."""
        try:
            micros, pk = (int(part) for part in (text or "").split("_"))
            return cls(EPOCH + datetime.timedelta(microseconds=micros), pk)
        except (ValueError, OverflowError):
            return None

    @classmethod
    def of(cls, entry: LogEntry) -> Cursor:
        return cls(entry.created_at, entry.pk)


@dataclasses.dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    older: Cursor | None  # pass as ``before`` for the next, older page
    newer: Cursor | None  # pass as ``after`` for the previous, newer page


def log_entries_visible_to(account: Account) -> QuerySet[LogEntry]:
    """The contract's entries; for an account scoped to organizations, only those about them."""
    entries = LogEntry.objects.filter(contract_id=account.contract_id)
    if not has_permission(account, "logs.view"):
        return entries.none()
    paths = scope_paths(account)
    if paths is not None:
        entries = entries.filter(
            reduce(or_, (Q(organization__path__startswith=p) for p in paths), Q(pk__in=[]))
        )
    return entries


def log_entries_about(account: Account, type: str, id: str | int) -> QuerySet[LogEntry]:
    """The entries the account may see whose target *or* related object is this object, e.g.
    ``log_entries_about(account, TargetType.DEVICE, 42)``: the device's own entries and those of
    its commands. Unordered; order by ``("-created_at", "-id")`` and page as ``log_page`` does.

    Each half is served by its own index (``log_contract_target_time``,
    ``log_contract_related_time``), whatever the log's size.
    """
    # The related half repeats its partial index's condition: SQLite matches it by its terms.
    as_target = Q(target_type=type, target_id=str(id))
    as_related = Q(related_type=type, related_id=str(id)) & ~Q(related_type="")
    return log_entries_visible_to(account).filter(as_target | as_related)


def log_entry_get(account: Account, pk: int) -> LogEntry:
    """One entry of the account's contract; ``LogEntry.DoesNotExist`` otherwise."""
    return log_entries_visible_to(account).get(pk=pk)


def log_entries_filtered(account: Account, log_filter: LogFilter) -> QuerySet[LogEntry]:
    entries = log_entries_visible_to(account)
    if log_filter.since is not None:
        entries = entries.filter(created_at__gte=log_filter.since)
    if log_filter.until is not None:
        entries = entries.filter(created_at__lt=log_filter.until)
    if log_filter.actor_id is not None:
        entries = entries.filter(actor_id=log_filter.actor_id)
    if log_filter.action:
        entries = entries.filter(action=log_filter.action)
    return entries


def _older_than(cursor: Cursor) -> Q:
    # "created_at <= t" bounds the index range; the OR only drops ties already shown.
    return Q(created_at__lte=cursor.created_at) & (
        Q(created_at__lt=cursor.created_at) | Q(id__lt=cursor.id)
    )


def _newer_than(cursor: Cursor) -> Q:
    return Q(created_at__gte=cursor.created_at) & (
        Q(created_at__gt=cursor.created_at) | Q(id__gt=cursor.id)
    )


def log_page(
    account: Account,
    log_filter: LogFilter,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int | None = None,
) -> LogPage:
    """One page newest first, older than ``before`` or newer than ``after``; no OFFSET, no COUNT."""
    size = size or settings.LOG_PAGE_SIZE
    entries = log_entries_filtered(account, log_filter)
    if after is not None:
        rows = list(entries.filter(_newer_than(after)).order_by("created_at", "id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = True
    else:
        if before is not None:
            entries = entries.filter(_older_than(before))
        rows = list(entries.order_by("-created_at", "-id")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None
    return LogPage(
        entries=rows,
        older=Cursor.of(rows[-1]) if rows and has_older else None,
        newer=Cursor.of(rows[0]) if rows and has_newer else None,
    )


EXPORT_FIELDS = (
    "created_at",
    "actor_kind",
    "actor_name",
    "actor_account_name",
    "actor_privilege",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "result",
    "before",
    "after",
    "id",
)


def log_export_rows(account: Account, log_filter: LogFilter) -> Iterator[tuple[Any, ...]]:
    """Every filtered entry newest first, as tuples of ``EXPORT_FIELDS``, read in chunks.

    On PostgreSQL ``before`` and ``after`` come as JSON text, not decoded to be encoded again:
    that per-row work was a fifth of the export's time.
    """
    entries = log_entries_filtered(account, log_filter).order_by("-created_at", "-id")
    if connection.vendor == "postgresql":
        entries = entries.annotate(
            before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
        )
        fields = [f"{f}_text" if f in ("before", "after") else f for f in EXPORT_FIELDS]
        return entries.values_list(*fields).iterator(chunk_size=2000)
    return entries.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
