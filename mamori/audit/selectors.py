"""Reading the operation log: always within the viewer's contract, newest first, by keyset."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from mamori.audit import labels, registry
from mamori.audit.models import LogEntry
from mamori.audit.partitions import log_partitioned
from mamori.core.access import Principal, object_get, permission_code, restrict
from mamori.core.keyset import Keyset, Position


@dataclasses.dataclass(frozen=True)
class LogFilter:
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    actor_id: int | None = None
    action: str | None = None
    organization_path: str | None = None  # entries about this organization and those below it


# What a list of entries shows: read these columns only (before/after and the digests are the
# bulk of a row).
LIST_COLUMNS = (
    "id",
    "created_at",
    "actor_kind",
    "actor_name",
    "actor_account_name",
    "ip",
    "action",
    "target_type",
    "target_label",
    "result",
)


# The log's one order: newest first, the id breaking ties within a microsecond.
LOG_ORDER = Keyset("created_at", descending=True, datetimes=True)


@dataclasses.dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    older: str | None  # the cursor to pass as ``before`` for the next, older page
    newer: str | None  # the cursor to pass as ``after`` for the previous, newer page


def log_entries_visible_to(account: Principal, action: str = "view") -> QuerySet[LogEntry]:
    """The contract's entries; for an account scoped to organizations, only those about them.
    ``PermissionDenied`` without ``logs.<action>``."""
    return restrict(
        LogEntry.objects.all(),
        account,
        permission_code("logs", action),
        path_field="organization__path",
    )


def log_entries_about(account: Principal, type: str, id: str | int) -> QuerySet[LogEntry]:
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


def log_entry_get(account: Principal, pk: int | str) -> LogEntry:
    """One entry the account may see: ``NotFound`` otherwise, ``PermissionDenied`` without
    ``logs.view``."""
    return object_get(
        LogEntry.objects.all(), account, pk, "logs.view", path_field="organization__path"
    )


def log_actors_of(account: Principal) -> QuerySet[Any]:
    """The accounts the log screen offers as the "Account" filter: those of the reader's contract
    in its organizations (the log's readers see these names in the entries anyway)."""
    accounts = get_user_model().objects.select_related("user").order_by("name")
    accounts = accounts.only("id", "name", "user__name")
    return restrict(accounts, account, "logs.view", path_field="user__organization__path")


def log_organizations_of(account: Principal) -> list[tuple[int, str, str]]:
    """The organizations the log screen offers as a filter, ``(id, name, path)`` in tree order
    with names indented by depth: those in the reader's scope (an entry is about one of them).

    Read through the entries' foreign key: the directory app sits above this one."""
    organization = LogEntry._meta.get_field("organization").related_model
    rows = restrict(
        organization._default_manager.all(),
        account,
        "logs.view",
        path_field="path",
    ).values_list("id", "name", "path")
    names = {pk: name for pk, name, _path in rows}
    keys: dict[str, tuple[str, ...]] = {"/": ()}

    def key(row: tuple[int, str, str]) -> tuple[str, ...]:
        # A path's key is its parent's and its own name: each computed once.
        path = row[2]
        if path not in keys:
            parent = path[: path.rstrip("/").rfind("/") + 1]
            own = names.get(int(path.rstrip("/").rsplit("/", 1)[-1]), "")
            keys[path] = (*key((0, "", parent)), own)
        return keys[path]

    ordered = sorted(rows, key=key)
    top = min((path.count("/") for _pk, _name, path in ordered), default=0)
    return [(pk, "　" * (path.count("/") - top) + name, path) for pk, name, path in ordered]


def privilege_labels() -> dict[str, str]:
    """How entries' ``actor_privilege`` codes read, in the active language."""
    privilege = get_user_model().Privilege
    return {code: str(label) for code, label in privilege.choices}


def log_entries_filtered(
    account: Principal, log_filter: LogFilter, action: str = "view"
) -> QuerySet[LogEntry]:
    entries = log_entries_visible_to(account, action)
    if log_filter.since is not None:
        entries = entries.filter(created_at__gte=log_filter.since)
    if log_filter.until is not None:
        entries = entries.filter(created_at__lt=log_filter.until)
    if log_filter.actor_id is not None:
        entries = entries.filter(actor_id=log_filter.actor_id)
    if log_filter.action:
        entries = entries.filter(action=log_filter.action)
    if log_filter.organization_path:
        entries = entries.filter(organization__path__startswith=log_filter.organization_path)
    return entries


def log_page(
    account: Principal,
    log_filter: LogFilter,
    *,
    before: Position | None = None,
    after: Position | None = None,
    size: int | None = None,
    columns: tuple[str, ...] = LIST_COLUMNS,
) -> LogPage:
    """One page newest first, older than ``before`` or newer than ``after``; no OFFSET, no COUNT.
    Only ``columns`` are read (``()``: every column)."""
    size = size or settings.LOG_PAGE_SIZE
    entries = log_entries_filtered(account, log_filter)
    if columns:
        entries = entries.only(*columns)
    if after is not None:
        # The newer page: read upwards from the cursor, then show it newest first.
        newer_rows = LOG_ORDER.before(entries, after).order_by("created_at", "id")
        rows = list(newer_rows[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = True
    else:
        if before is not None:
            entries = LOG_ORDER.after(entries, before)
        rows = _newest(entries, size + 1, below=before.value if before else None)
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None
    return LogPage(
        entries=rows,
        older=LOG_ORDER.encode(rows[-1]) if rows and has_older else None,
        newer=LOG_ORDER.encode(rows[0]) if rows and has_newer else None,
    )


# Windows a page of the partitioned log is looked for in, newest first (see _newest).
PAGE_WINDOWS = (datetime.timedelta(days=31), datetime.timedelta(days=366))


def _newest(
    entries: QuerySet[LogEntry], count: int, *, below: datetime.datetime | None
) -> list[LogEntry]:
    """The first ``count`` of ``entries`` in the log's order (newest first); ``below``: the
    time of the previous page's last row (``entries`` hold only rows older than it), if any.

    On the log partitioned by month, a query without a lower time bound is planned over every
    month's partition and its eight indexes: 6-7 ms of planning at 28 partitions, against
    0.8 ms for the query itself before partitioning. So the rows are first looked for in the
    31 days before ``below`` (or now), then the year before (a constant bound lets PostgreSQL
    prune the older months when planning), and only then everywhere; a window that yields
    ``count`` rows holds the newest ones, since every row outside it is older.
    """
    ordered = LOG_ORDER.order(entries)
    if log_partitioned():
        upper = below if isinstance(below, datetime.datetime) else timezone.now()
        for window in PAGE_WINDOWS:
            rows = list(ordered.filter(created_at__gte=upper - window)[:count])
            if len(rows) == count:
                return rows
    return list(ordered[:count])


@dataclasses.dataclass(frozen=True)
class LogRow:
    """An entry as a list shows it: every value computed once here, so the template only
    prints (a ``{% url %}`` and a ``|date`` per row cost more than the query)."""

    pk: int
    time: str  # in the active timezone, with its abbreviation
    iso: str
    actor: str
    ip: str
    action: str
    target: str
    failed: bool
    result: str


def log_rows(entries: list[LogEntry]) -> list[LogRow]:
    """``entries`` as rows, times in the active timezone, labels in the active language."""
    zone = timezone.get_current_timezone()
    results = {code: str(label) for code, label in LogEntry.Result.choices}
    actions: dict[str, str] = {}
    rows = []
    for e in entries:
        moment = e.created_at.astimezone(zone)
        action = actions.get(e.action)
        if action is None:
            action = actions[e.action] = registry.action_label(e.action)
        rows.append(
            LogRow(
                pk=e.pk,
                time=moment.strftime("%Y-%m-%d %H:%M:%S %Z"),
                iso=moment.isoformat(),
                actor=labels.actor_label(e.actor_kind, e.actor_name, e.actor_account_name),
                ip=e.ip or "—",
                action=action,
                target=registry.target_label(e.target_type, e.target_label),
                failed=e.result != LogEntry.Result.SUCCESS,
                result=results.get(e.result, e.result),
            )
        )
    return rows


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


def log_export_rows(account: Principal, log_filter: LogFilter) -> Iterator[tuple[Any, ...]]:
    """Every filtered entry newest first, as tuples of ``EXPORT_FIELDS``, read in chunks.

    On PostgreSQL ``before`` and ``after`` come as JSON text, not decoded to be encoded again:
    that per-row work was a fifth of the export's time.
    """
    entries = log_entries_filtered(account, log_filter, "export").order_by("-created_at", "-id")
    if connection.vendor == "postgresql":
        entries = entries.annotate(
            before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
        )
        fields = [f"{f}_text" if f in ("before", "after") else f for f in EXPORT_FIELDS]
        return entries.values_list(*fields).iterator(chunk_size=2000)
    return entries.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
