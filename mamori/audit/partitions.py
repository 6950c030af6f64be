"""The operation log partitioned by month on PostgreSQL (declarative partitioning).

``audit_logentry`` is ``PARTITION BY RANGE (created_at)``: one partition per calendar month in
UTC, named ``audit_logentry_yYYYYmMM``, and a DEFAULT partition (``audit_logentry_default``)
that takes an entry whose month has no partition yet (a clock far off, or the maintenance job
not run for months), so that writing the log never fails for want of a partition. PostgreSQL
requires the partition key in every unique constraint: the table's primary key is
``(id, created_at)`` and the chain's uniqueness ``(contract_id, seq, created_at)`` (``id`` comes
from one sequence and the chain's numbers from the head locked by every writer, so neither can
repeat anyway). Django's model keeps ``id`` as its primary key and ``(contract, seq)`` unique,
which is what SQLite enforces; nothing else differs.

The periodic job ``audit.partitions`` (daily, ``partitions_maintain``):

1. makes the partitions of this month and the next ``MONTHS_AHEAD`` (moving any entries of
   those months out of the DEFAULT partition first);
2. rewrites each finished month once, its rows ordered by ``(contract_id, created_at, id)``:
   a month is written in time order, every contract's entries interleaved, so reading one
   contract's month (the CSV export) touched one heap page per row; ordered, a contract's month
   is a run of adjacent pages. The rewrite copies the month into a new table while the old one
   stays readable (``SHARE`` lock: only writes to that month wait, and a finished month gets
   none), builds its indexes and constraints there, then swaps the two partitions in one short
   transaction (``DETACH``/``ATTACH`` need the parent's lock for a moment; ``lock_timeout``
   bounds the wait, and a month not swapped is tried again the next day). A rewritten month is
   marked by the comment ``ORDERED`` on its partition;
3. drops the partitions of finished months that hold no entry any more (after retention).

Source: PostgreSQL 15 documentation, 5.11 "Table Partitioning" (limitations: unique
constraints must include the partition key; ``ATTACH PARTITION`` skips its scan when a CHECK
constraint proves the bounds).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
from typing import TYPE_CHECKING, Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.models import Model

logger = logging.getLogger("mamori.audit")

TABLE = "audit_logentry"
DEFAULT_PARTITION = f"{TABLE}_default"
MONTHS_AHEAD = 2
ORDERED = "mamori: ordered by contract"
# How long a swap waits for the parent's lock before it gives up until the next run.
SWAP_LOCK_TIMEOUT = "5s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout ran out
_NAME = re.compile(rf"^{TABLE}_y(\d{{4}})m(\d{{2}})$")


@dataclasses.dataclass(frozen=True)
class Partition:
    """One month's partition: its table name, its first instant (UTC, inclusive) and the next
    month's (exclusive), whether it was rewritten in contract order, its size in bytes."""

    name: str
    start: datetime.datetime
    end: datetime.datetime
    ordered: bool
    size: int


def month_start(moment: datetime.datetime) -> datetime.datetime:
    """The first instant (UTC) of the UTC month holding ``moment`` (an aware datetime)."""
    utc = moment.astimezone(datetime.UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_add(start: datetime.datetime, months: int) -> datetime.datetime:
    """``start`` (a month's first instant) moved by ``months`` (negative: back)."""
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1)


def partition_name(start: datetime.datetime) -> str:
    """``audit_logentry_y2026m11`` for the month starting at ``start``."""
    return f"{TABLE}_y{start.year:04d}m{start.month:02d}"


_partitioned: set[tuple[str, str]] = set()  # (host:port, database) seen partitioned by this process


def log_partitioned() -> bool:
    """Whether the log table is partitioned (PostgreSQL after migration ``audit.0006``).

    Asked of the database until it says yes, then remembered for the process (a table is not
    turned back)."""
    if connection.vendor != "postgresql":
        return False
    settings = connection.settings_dict
    key = (f"{settings['HOST']}:{settings['PORT']}", str(settings["NAME"]))
    if key in _partitioned:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    if row is not None and row[0] == "p":
        _partitioned.add(key)
        return True
    return False


def log_partitions() -> list[Partition]:
    """The month partitions of the log, oldest first (not the DEFAULT one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''), "
            "pg_total_relation_size(c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, comment, size in rows:
        match = _NAME.match(name)
        if match:
            start = datetime.datetime(int(match[1]), int(match[2]), 1, tzinfo=datetime.UTC)
            end = month_add(start, 1)
            partitions.append(Partition(name, start, end, comment == ORDERED, size))
    return sorted(partitions, key=lambda p: p.start)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def partition_create(start: datetime.datetime) -> bool:
    """Make the partition of the month starting at ``start`` unless it exists; True if made.

    Entries of that month waiting in the DEFAULT partition are moved into it in the same
    transaction (PostgreSQL refuses a new partition while the DEFAULT one holds its rows).
    """
    name, end = partition_name(start), month_add(start, 1)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:
                return False
            # Making a partition takes the parent's lock: a long read of the log (an export)
            # must not make every other reader queue behind this statement.
            cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            return _partition_make(cursor, name, start, end)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        logger.warning("log partition %s not made: the log was busy", name)
        return False


def _partition_make(
    cursor: Any, name: str, start: datetime.datetime, end: datetime.datetime
) -> bool:
    """Make the partition (the caller holds a transaction with a lock timeout)."""
    bounds = "FOR VALUES FROM (%s) TO (%s)"
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {_quote(DEFAULT_PARTITION)} "  # noqa: S608 (our names)
        "WHERE created_at >= %s AND created_at < %s)",
        [start, end],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(
            f"CREATE TABLE {_quote(name)} PARTITION OF {_quote(TABLE)} {bounds}", [start, end]
        )
        return True
    # The DEFAULT partition holds entries of this month: take it out, make the month, move
    # the entries, put it back (all under the parent's lock, a rare path).
    cursor.execute(f"ALTER TABLE {_quote(TABLE)} DETACH PARTITION {_quote(DEFAULT_PARTITION)}")
    cursor.execute(
        f"CREATE TABLE {_quote(name)} PARTITION OF {_quote(TABLE)} {bounds}", [start, end]
    )
    cursor.execute(
        f"WITH moved AS (DELETE FROM {_quote(DEFAULT_PARTITION)} "  # noqa: S608 (our names)
        "WHERE created_at >= %s AND created_at < %s RETURNING *) "
        f"INSERT INTO {_quote(name)} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(
        f"ALTER TABLE {_quote(TABLE)} ATTACH PARTITION {_quote(DEFAULT_PARTITION)} DEFAULT"
    )
    logger.info("log partition %s made; its entries moved out of the default one", name)
    return True


def partitions_ahead(now: datetime.datetime | None = None) -> list[str]:
    """Make the partitions of this month and the next ``MONTHS_AHEAD``, and of every month
    whose entries wait in the DEFAULT partition (a clock that was off, months of no job);
    returns the names made."""
    current = month_start(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') "  # noqa: S608 (our name)
            f"FROM {_quote(DEFAULT_PARTITION)}"
        )
        waiting = [row[0].replace(tzinfo=datetime.UTC) for row in cursor.fetchall()]
    months = sorted({*(month_add(current, n) for n in range(MONTHS_AHEAD + 1)), *waiting})
    return [partition_name(start) for start in months if partition_create(start)]


def _index_definitions(name: str, new: str) -> list[str]:
    """The CREATE INDEX statements of the partition ``name``'s indexes, for the table ``new``
    (with names of their own), the primary key's and the unique constraint's excluded."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [name],
        )
        rows = cursor.fetchall()
    statements = []
    for number, (_index, definition) in enumerate(rows):
        _head, on, rest = definition.partition(" ON ")
        _table, using, method = rest.partition(" USING ")
        if on and using:
            statements.append(
                f"CREATE INDEX {_quote(f'{new}_i{number}')} ON {_quote(new)} USING {method}"
            )
    return statements


def partition_order(partition: Partition) -> bool:
    """Rewrite a finished month's partition with its rows ordered by ``(contract_id,
    created_at, id)`` and mark it ``ORDERED``; False when the swap could not get the parent's
    lock within ``SWAP_LOCK_TIMEOUT`` (nothing changed; try again later)."""
    name, new = partition.name, f"{partition.name}_new"
    with transaction.atomic(), connection.cursor() as cursor:
        # Reads of the month go on; a write to it (none expected: the month is over) waits.
        cursor.execute(f"LOCK TABLE {_quote(name)} IN SHARE MODE")
        cursor.execute(f"DROP TABLE IF EXISTS {_quote(new)}")
        cursor.execute(
            f"CREATE TABLE {_quote(new)} (LIKE {_quote(TABLE)} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"INSERT INTO {_quote(new)} SELECT * FROM {_quote(name)} "  # noqa: S608 (our names)
            "ORDER BY contract_id, created_at, id"
        )
        # What ATTACH would otherwise build or check under the parent's lock, made here: the
        # bounds (so it skips its scan), the keys and indexes (so it adopts them), the foreign key.
        cursor.execute(
            f"ALTER TABLE {_quote(new)} ADD CONSTRAINT {_quote(new + '_bounds')} "
            "CHECK (created_at >= %s AND created_at < %s)",
            [partition.start, partition.end],
        )
        cursor.execute(f"ALTER TABLE {_quote(new)} ADD PRIMARY KEY (id, created_at)")
        cursor.execute(f"ALTER TABLE {_quote(new)} ADD UNIQUE (contract_id, seq, created_at)")
        for statement in _index_definitions(name, new):
            cursor.execute(statement)
        cursor.execute(
            f"ALTER TABLE {_quote(new)} ADD FOREIGN KEY (contract_id) "
            "REFERENCES contracts_contract (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        try:
            with transaction.atomic():
                cursor.execute(f"ALTER TABLE {_quote(TABLE)} DETACH PARTITION {_quote(name)}")
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            transaction.set_rollback(True)
            logger.warning("log partition %s not reordered: the log was busy", name)
            return False
        cursor.execute(
            f"ALTER TABLE {_quote(TABLE)} ATTACH PARTITION {_quote(new)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [partition.start, partition.end],
        )
        cursor.execute(f"DROP TABLE {_quote(name)}")
        cursor.execute(f"ALTER TABLE {_quote(new)} DROP CONSTRAINT {_quote(new + '_bounds')}")
        cursor.execute(f"ALTER TABLE {_quote(new)} RENAME TO {_quote(name)}")
        cursor.execute(f"COMMENT ON TABLE {_quote(name)} IS %s", [ORDERED])
    logger.info("log partition %s rewritten in contract order", name)
    return True


def partitions_maintain(now: datetime.datetime | None = None) -> dict[str, list[str]]:
    """The daily job's work (see the module's docstring): partitions made ahead, finished
    months rewritten in contract order, empty finished months dropped. Returns the names per
    step: ``{"made": [...], "ordered": [...], "dropped": [...]}``; nothing on SQLite."""
    done: dict[str, list[str]] = {"made": [], "ordered": [], "dropped": []}
    if not log_partitioned():
        return done
    now = now or timezone.now()
    done["made"] = partitions_ahead(now)
    current = month_start(now)
    for partition in log_partitions():
        if partition.end > current:
            continue  # this month or later: still written
        if _partition_empty(partition.name):
            if _partition_drop(partition.name):
                done["dropped"].append(partition.name)
        elif not partition.ordered and partition_order(partition):
            done["ordered"].append(partition.name)
    return done


def _partition_drop(name: str) -> bool:
    """Drop an empty month's partition; False when the log stayed busy past the timeout."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            cursor.execute(f"DROP TABLE {_quote(name)}")
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        logger.warning("empty log partition %s not dropped: the log was busy", name)
        return False
    return True


def _partition_empty(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {_quote(name)})")  # noqa: S608 (our name)
        return bool(cursor.fetchone()[0])


def log_table_partition(schema_editor: BaseDatabaseSchemaEditor, model: type[Model]) -> None:
    """Turn the plain log table into the partitioned one (migration ``audit.0006``; PostgreSQL
    only, nothing elsewhere or when already done).

    Under an ACCESS EXCLUSIVE lock on the old table (writers and readers of the log wait; about
    a minute per ten million entries, see ``bench/README.md``): the table is renamed, the
    partitioned one made with the same columns and a partition per month from the oldest
    entry's to ``MONTHS_AHEAD`` after this one plus the DEFAULT partition, every entry copied
    in contract order (so every month present is ``ORDERED`` from the start), the old table
    dropped; then the keys, the foreign key, the sequence of ``id`` and the model's indexes.
    """
    if schema_editor.connection.vendor != "postgresql" or log_partitioned():
        return
    old = f"{TABLE}_plain"
    execute = schema_editor.execute
    execute(f"LOCK TABLE {_quote(TABLE)} IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(created_at), coalesce(max(id), 0) FROM {_quote(TABLE)}")  # noqa: S608 (our name)
        oldest, last_id = cursor.fetchone()
    execute(f"ALTER TABLE {_quote(TABLE)} RENAME TO {_quote(old)}")
    execute(
        f"CREATE TABLE {_quote(TABLE)} (LIKE {_quote(old)} INCLUDING DEFAULTS "
        "INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at)"
    )
    now = timezone.now()
    start = month_start(min(oldest, now) if oldest else now)
    last = month_add(month_start(now), MONTHS_AHEAD)
    while start <= last:
        execute(
            f"CREATE TABLE {_quote(partition_name(start))} PARTITION OF {_quote(TABLE)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [start, month_add(start, 1)],
        )
        if start < month_start(now):
            execute(f"COMMENT ON TABLE {_quote(partition_name(start))} IS %s", [ORDERED])
        start = month_add(start, 1)
    execute(f"CREATE TABLE {_quote(DEFAULT_PARTITION)} PARTITION OF {_quote(TABLE)} DEFAULT")
    execute(
        f"INSERT INTO {_quote(TABLE)} SELECT * FROM {_quote(old)} "  # noqa: S608 (our names)
        "ORDER BY contract_id, created_at, id"
    )
    execute(f"DROP TABLE {_quote(old)}")  # its indexes, constraints and id's identity sequence
    sequence = f"{TABLE}_id_seq"
    execute(f"CREATE SEQUENCE {_quote(sequence)} OWNED BY {_quote(TABLE)}.id")
    execute("SELECT setval(%s, %s, %s)", [sequence, max(last_id, 1), last_id > 0])
    execute(
        f"ALTER TABLE {_quote(TABLE)} ALTER COLUMN id SET DEFAULT nextval(%s::regclass)", [sequence]
    )
    execute(
        f"ALTER TABLE {_quote(TABLE)} ADD CONSTRAINT {_quote(TABLE + '_pkey')} PRIMARY KEY (id, created_at)"
    )
    execute(
        f"ALTER TABLE {_quote(TABLE)} ADD CONSTRAINT {_quote('log_seq_unique_in_contract')} "
        "UNIQUE (contract_id, seq, created_at)"
    )
    contract = model._meta.get_field("contract")
    # The foreign key as Django names it (what a later AlterField of the field looks for).
    fk_sql = schema_editor._create_fk_sql(  # type: ignore[attr-defined]
        model, contract, "_fk_%(to_table)s_%(to_column)s"
    )
    execute(fk_sql)
    for index in model._meta.indexes:
        schema_editor.add_index(model, index)
    # The new tables have no statistics yet: without them the planner guesses until autovacuum
    # gets round to them (a few seconds per million entries).
    execute(f"ANALYZE {_quote(TABLE)}")
