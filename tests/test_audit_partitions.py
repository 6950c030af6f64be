"""The operation log partitioned by month on PostgreSQL (``mamori.audit.partitions``): the
migration made it so in the test database; the daily job makes months ahead, rewrites finished
months in contract order and drops empty ones; the chain verifies across partitions.

PostgreSQL only, except the first test: SQLite has no partitions (the pass on PostgreSQL runs
them; the SQLite pass checks that the job does nothing there).
"""

from __future__ import annotations

import datetime

import psycopg
import pytest
import time_machine
from django.db import connection

from mamori.accounts.audit_actions import AccountAction
from mamori.audit import partitions
from mamori.audit.models import LogEntry
from mamori.audit.partitions import (
    DEFAULT_PARTITION,
    MONTHS_AHEAD,
    log_partitioned,
    log_partitions,
    month_add,
    month_start,
    partition_create,
    partition_name,
    partitions_maintain,
)
from mamori.audit.selectors import LOG_ORDER, LogFilter, log_entries_filtered, log_page
from mamori.audit.services import log_chain_verify, log_record
from mamori.audit.work import PARTITIONS_JOB
from mamori.core.actor import Actor
from mamori.core.work import periodic_jobs
from tests.conftest import Cast
from tests.test_worker import test_database_url

UTC = datetime.UTC
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's (the PostgreSQL pass)"
)


def record(cast: Cast, n: int = 1) -> None:
    for _ in range(n):
        log_record(contract=cast.a, actor=Actor(account=cast.a1), action=AccountAction.LOGOUT)
        log_record(contract=cast.b, actor=Actor(account=cast.b1), action=AccountAction.LOGOUT)


def partition_of(entry_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_logentry WHERE id = %s", [entry_id]
        )
        return str(cursor.fetchone()[0])


def physical_contract_order(name: str) -> list[int]:
    """The contract of each row of a partition in the order of the heap."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT contract_id FROM "{name}" ORDER BY ctid')  # noqa: S608 (a test's name)
        return [row[0] for row in cursor.fetchall()]


def index_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_daily_job_is_registered_and_does_nothing_without_partitions() -> None:
    job = next(j for j in periodic_jobs() if j.name == PARTITIONS_JOB)
    assert job.every == datetime.timedelta(days=1)
    if connection.vendor == "sqlite":
        assert not log_partitioned()
        assert partitions_maintain() == {"made": [], "ordered": [], "dropped": []}


def test_months_are_utc_calendar_months() -> None:
    moment = datetime.datetime(
        2027, 1, 1, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=9))
    )
    start = month_start(moment)  # 2026-12-31 23:30 UTC
    assert start == datetime.datetime(2026, 12, 1, tzinfo=UTC)
    assert month_add(start, 1) == datetime.datetime(2027, 1, 1, tzinfo=UTC)
    assert month_add(start, -12) == datetime.datetime(2025, 12, 1, tzinfo=UTC)
    assert partition_name(start) == "audit_logentry_y2026m12"


@postgres_only
@pytest.mark.django_db
def test_the_migration_made_the_table_partitioned_with_months_ahead() -> None:
    assert log_partitioned()
    names = {p.name for p in log_partitions()}
    current = month_start(datetime.datetime.now(UTC))
    assert {partition_name(month_add(current, n)) for n in range(MONTHS_AHEAD + 1)} <= names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'audit_logentry'::regclass AND contype IN ('p', 'u') ORDER BY contype"
        )
        keys = [row[0] for row in cursor.fetchall()]
    assert keys == ["PRIMARY KEY (id, created_at)", "UNIQUE (contract_id, seq, created_at)"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_entry_of_a_month_without_partition_waits_in_the_default_one_until_it_is_made(
    cast: Cast,
) -> None:
    with time_machine.travel(datetime.datetime(2031, 5, 10, 3, 0, tzinfo=UTC), tick=False):
        entry = log_record(
            contract=cast.a, actor=Actor(account=cast.a1), action=AccountAction.LOGOUT
        )
    assert partition_of(entry.pk) == DEFAULT_PARTITION

    # The daily job makes the months whose entries wait there, and moves them.
    assert "audit_logentry_y2031m05" in partitions_maintain()["made"]
    assert not partition_create(datetime.datetime(2031, 5, 1, tzinfo=UTC))  # made once

    assert partition_of(entry.pk) == "audit_logentry_y2031m05"
    assert LogEntry.objects.get(pk=entry.pk).digest == entry.digest
    assert log_chain_verify(cast.a) is None


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_finished_month_is_rewritten_in_contract_order_once_and_stays_verifiable(
    cast: Cast,
) -> None:
    month = datetime.datetime(2030, 1, 1, tzinfo=UTC)
    partition_create(month)
    with time_machine.travel(month + datetime.timedelta(days=3), tick=True):
        record(cast, 20)  # a's and b's entries interleaved, as a month is written
    name = partition_name(month)
    assert physical_contract_order(name) == [cast.a.pk, cast.b.pk] * 20
    indexes = index_count(name)

    done = partitions_maintain(now=month_add(month, 1) + datetime.timedelta(days=1))

    assert name in done["ordered"]
    assert physical_contract_order(name) == [cast.a.pk] * 20 + [cast.b.pk] * 20
    assert index_count(name) == indexes  # the indexes were rebuilt and adopted
    assert next(p for p in log_partitions() if p.name == name).ordered
    assert log_chain_verify(cast.a) is None and log_chain_verify(cast.b) is None
    assert LogEntry.objects.filter(contract=cast.a, created_at__gte=month).count() == 20
    again = partitions_maintain(now=month_add(month, 1) + datetime.timedelta(days=1))
    assert name not in again["ordered"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_empty_finished_month_is_dropped_and_a_busy_log_is_left_for_the_next_run(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = datetime.datetime(2029, 6, 1, tzinfo=UTC)
    partition_create(month)
    partition_create(month_add(month, 1))
    with time_machine.travel(month_add(month, 1) + datetime.timedelta(days=2), tick=True):
        record(cast, 3)
    later = month_add(month, 3)
    monkeypatch.setattr(partitions, "SWAP_LOCK_TIMEOUT", "200ms")

    # Another session reads the log in an open transaction: the swap cannot have the parent.
    with psycopg.connect(test_database_url()) as reader:
        reader.execute("SELECT count(*) FROM audit_logentry")  # its locks last until rollback
        busy = partitions_maintain(now=later)
        reader.rollback()
    assert partition_name(month) not in busy["dropped"]
    assert partition_name(month_add(month, 1)) not in busy["ordered"]
    assert {partition_name(month), partition_name(month_add(month, 1))} <= {
        p.name for p in log_partitions()
    }

    done = partitions_maintain(now=later)
    assert partition_name(month) in done["dropped"]
    assert partition_name(month_add(month, 1)) in done["ordered"]
    assert partition_name(month) not in {p.name for p in log_partitions()}
    assert log_chain_verify(cast.a) is None


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_page_read_in_time_windows_is_the_page_read_at_once(cast: Cast) -> None:
    now = datetime.datetime.now(UTC)
    for days in (500, 400, 200, 40, 20, 1):  # across the 31-day and one-year windows
        with time_machine.travel(now - datetime.timedelta(days=days), tick=False):
            log_record(contract=cast.a, actor=Actor(account=cast.a1), action=AccountAction.LOGOUT)
    everything = list(LOG_ORDER.order(log_entries_filtered(cast.a1, LogFilter())))
    seen, before = [], None
    for _ in range(10):
        page = log_page(cast.a1, LogFilter(), before=before, size=2)
        seen += page.entries
        if page.older is None:
            break
        before = LOG_ORDER.decode(page.older)
    assert [e.pk for e in seen] == [e.pk for e in everything]
