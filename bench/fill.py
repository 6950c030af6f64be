"""Filling the bench database: contracts and accounts in bulk, the operation log by COPY.

Sizes (documented in README.md): ``--contracts`` contracts share ``--entries`` log entries over
two years. The ``bench`` contract, the one measured over HTTP, holds ``--bench-share`` of them
(4 % by default: 400,000 of 10M, a large customer); the others get lognormal sizes around the
mean, so a few hold 5-10x the average and many hold little, as real customers do.
"""

from __future__ import annotations

import datetime
import math
import random
import time
from collections.abc import Sequence

import psycopg
import psycopg.sql

from bench import database
from bench.history import COLUMNS, ContractHistory, HistoryWriter
from bench.history import Actor as LogActor

BENCH_DOMAIN = "bench"
BENCH_ACCOUNT = "admin"
BENCH_PASSWORD = "bench-Kagi-2026-long"  # passes the project's validators; bench database only
HISTORY_DAYS = 730
SEED = 20260105

FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "健", "美咲", "翔", "陽菜", "大輔", "結衣", "誠", "さくら")
# The bench contract's administrators: (account name, privilege, share of activity).
BENCH_STAFF = (
    ("admin", "system_admin", 8),
    ("sato", "system_admin", 5),
    ("suzuki", "department_admin", 4),
    ("takahashi", "department_admin", 3),
    ("tanaka", "department_admin", 3),
    ("ito", "operator", 2),
    ("watanabe", "operator", 2),
    ("yamamoto", "operator", 2),
    ("nakamura", "operator", 1),
    ("kobayashi", "operator", 1),
    ("kato", "custom_admin", 1),
    ("api-sync", "custom_admin", 6),
)


def log(message: str) -> None:
    print(f"[fill] {message}", flush=True)


def fill(url: str, *, entries: int, contracts: int, bench_share: float) -> None:
    """Fill a freshly migrated database, and record the fill in it."""
    started = time.monotonic()
    with database.connect(url) as conn:
        database.marker_create(conn)
    rng = random.Random(SEED)
    histories = _contracts_create(rng, entries=entries, contracts=contracts, share=bench_share)
    log(
        f"{contracts} contracts with their organizations, users and accounts "
        f"({time.monotonic() - started:.1f} s)"
    )
    with database.connect(url) as conn:
        writer = HistoryWriter(histories, end=_history_end(), days=HISTORY_DAYS, seed=SEED)
        _entries_load(conn, writer)
        _chain_heads_write(conn, histories, writer)
        _finish(conn)
        _months_order(conn)
        bench_entries = writer.heads[0].last_seq
        seconds = time.monotonic() - started
        database.marker_write(
            conn, entries=entries, contracts=contracts, bench_entries=bench_entries, seconds=seconds
        )
    log(f"done in {seconds:.0f} s; the bench contract has {bench_entries:,} entries")


def _history_end() -> datetime.datetime:
    # An hour before now: entries written by the benchmark's own login stay the newest.
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)


# --- contracts, organizations, users, accounts ---------------------------------------------


def _contracts_create(
    rng: random.Random, *, entries: int, contracts: int, share: float
) -> list[ContractHistory]:
    """The bench contract first (index 0), then the others; sizes are planned here."""
    bench = _bench_contract_create(round(entries * share))
    sizes = _other_sizes(rng, contracts - 1, entries - bench.entries)
    return [bench, *_other_contracts_create(rng, sizes)]


def _bench_contract_create(entries: int) -> ContractHistory:
    """Through the real service, so the contract is exactly what production makes."""
    from mamori.accounts.models import Account
    from mamori.core.actor import Actor
    from mamori.provider.services import contract_create

    contract = contract_create(
        actor=Actor.operator(),
        domain=BENCH_DOMAIN,
        company_name="ベンチマーク株式会社",
        contact_name="佐藤 太郎",
        contact_furigana="サトウ タロウ",
        contact_email="admin@bench.example.jp",
    )
    admin = Account.objects.select_related("user").get(contract=contract, name=BENCH_ACCOUNT)
    admin.set_password(BENCH_PASSWORD)
    admin.must_change_password = False
    admin.save()
    staff = _accounts_create(
        contract.pk,
        admin.user.organization_id,
        [(n, p) for n, p, _ in BENCH_STAFF[1:]],
        random.Random(SEED),
    )
    weights = [w for _, _, w in BENCH_STAFF]
    accounts = [admin, *staff]
    actors = [
        LogActor(a.pk, a.name, a.user.name, a.privilege, w)
        for a, w in zip(accounts, weights, strict=True)
    ]
    return ContractHistory(contract.pk, BENCH_DOMAIN, entries, actors)


def _accounts_create(
    contract_id: int, organization_id: int, people: Sequence[tuple[str, str]], rng: random.Random
) -> list:
    """Users and their accounts in bulk; the passwords are unusable (no hashing in bulk paths)."""
    from mamori.accounts.models import Account
    from mamori.directory.models import User

    users = User.objects.bulk_create(
        [
            User(
                contract_id=contract_id,
                organization_id=organization_id,
                name=f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
            )
            for _ in people
        ]
    )
    return Account.objects.bulk_create(
        [
            Account(
                contract_id=contract_id,
                user=user,
                name=name,
                privilege=privilege,
                language="ja",
                timezone="Asia/Tokyo",
                password="!bench-no-login",
            )
            for user, (name, privilege) in zip(users, people, strict=True)
        ]
    )


def _other_sizes(rng: random.Random, count: int, total: int) -> list[int]:
    weights = [math.exp(rng.gauss(0, 1.0)) for _ in range(count)]
    scale = total / sum(weights) if weights else 0
    return [max(1, round(w * scale)) for w in weights]


def _other_contracts_create(rng: random.Random, sizes: list[int]) -> list[ContractHistory]:
    """Every other contract with a root organization and two or three accounts, in bulk."""
    from mamori.accounts.models import Account
    from mamori.contracts.models import Contract
    from mamori.directory.models import Organization, User

    contracts = Contract.objects.bulk_create(
        [
            Contract(
                domain=f"corp{i:04d}",
                company_name=f"株式会社コープ{i:04d}",
                contact_name="担当 者",
                contact_furigana="タントウ シャ",
                contact_email=f"admin@corp{i:04d}.example.jp",
            )
            for i in range(1, len(sizes) + 1)
        ]
    )
    roots = Organization.objects.bulk_create(
        [Organization(contract=c, name=c.company_name) for c in contracts]
    )
    staffing = [
        [("admin", "system_admin"), ("operator1", "operator"), ("dept1", "department_admin")][
            : rng.choice((2, 2, 3))
        ]
        for _ in contracts
    ]
    users = User.objects.bulk_create(
        [
            User(contract=c, organization=root, name=f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}")
            for c, root, staff in zip(contracts, roots, staffing, strict=True)
            for _ in staff
        ]
    )
    accounts = Account.objects.bulk_create(
        [
            Account(
                contract_id=user.contract_id,
                user=user,
                name=name,
                privilege=privilege,
                language="ja",
                timezone="Asia/Tokyo",
                password="!bench-no-login",
            )
            for user, (name, privilege) in zip(
                users, [p for staff in staffing for p in staff], strict=True
            )
        ]
    )
    by_contract: dict[int, list[LogActor]] = {}
    for account, user in zip(accounts, users, strict=True):
        weight = 3.0 if account.name == "admin" else 1.0
        by_contract.setdefault(account.contract_id, []).append(
            LogActor(account.pk, account.name, user.name, account.privilege, weight)
        )
    return [
        ContractHistory(c.pk, c.domain, size, by_contract[c.pk])
        for c, size in zip(contracts, sizes, strict=True)
    ]


# --- the operation log -------------------------------------------------------------------


def _secondary_definitions(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """The SQL to rebuild audit_logentry's constraints (other than the key) and indexes."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'audit_logentry'::regclass AND contype IN ('u', 'f') "
        "ORDER BY contype DESC"  # unique before foreign keys
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_logentry' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'audit_logentry'::regclass)"
    ).fetchall()
    drops = [f'ALTER TABLE audit_logentry DROP CONSTRAINT "{name}"' for name, _ in constraints]
    drops += [f'DROP INDEX "{name}"' for name, _ in indexes]
    # A partitioned table's index is defined "ON ONLY" the parent (not built on partitions).
    creates = [definition.replace(" ON ONLY ", " ON ", 1) for _, definition in indexes]
    creates += [
        f'ALTER TABLE audit_logentry ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ]
    return drops, creates


def _entries_load(conn: psycopg.Connection, writer: HistoryWriter) -> None:
    """COPY the whole history in one transaction, indexes dropped, then rebuild them.

    Measured at 1M entries on 2 cores: COPY with the six secondary indexes and the (deferred)
    foreign key in place took 60 s; dropping them, COPY and rebuilding took 18 s. FREEZE
    (allowed because the table is truncated in the same transaction) writes the rows
    already frozen and all-visible, so no VACUUM has to rewrite 4 GB of hint bits afterwards
    and index-only scans work from the start, as on a table autovacuum has caught up with.
    """
    drops, creates = _secondary_definitions(conn)
    partitioned = _partitions_make(conn)
    started = time.monotonic()
    with conn.transaction():
        conn.execute("TRUNCATE audit_logentry")  # also the entries contract_create wrote
        for statement in drops:
            conn.execute(statement)
        columns = ", ".join(COLUMNS)
        # PostgreSQL refuses FREEZE on a partitioned table: _finish freezes it instead.
        freeze = "" if partitioned else " WITH (FREEZE)"
        with conn.cursor().copy(f"COPY audit_logentry ({columns}) FROM STDIN{freeze}") as copy:
            _copy_history(copy, writer, started)
    log(f"COPY of {writer.total:,} entries: {time.monotonic() - started:.0f} s")
    _indexes_build(conn, creates)


def _partitions_make(conn: psycopg.Connection) -> bool:
    """On the log partitioned by month (migration audit.0006), the partitions of the fill's
    two years (the migration made only this month's and the next two); False if it is not."""
    kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'audit_logentry'::regclass")
    if kind.fetchone()[0] != "p":
        return False
    from mamori.audit.partitions import month_add, month_start, partition_name

    current = month_start(datetime.datetime.now(datetime.UTC))
    for back in range(1, 26):
        start = month_add(current, -back)
        conn.execute(
            psycopg.sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF audit_logentry FOR VALUES FROM ({}) TO ({})"
            ).format(
                psycopg.sql.Identifier(partition_name(start)),
                psycopg.sql.Literal(start),
                psycopg.sql.Literal(month_add(start, 1)),
            )
        )
    return True


def _copy_history(copy: psycopg.Copy, writer: HistoryWriter, started: float) -> None:
    report_every = max(writer.total // 20, 1)
    next_report = report_every
    for rows, text in writer.chunks():
        copy.write(text)
        if rows >= next_report:
            elapsed = time.monotonic() - started
            rate = rows / elapsed
            log(f"{rows:>12,} entries  {rate:,.0f}/s  eta {(writer.total - rows) / rate:.0f} s")
            next_report += report_every


def _indexes_build(conn: psycopg.Connection, creates: list[str]) -> None:
    # Session settings only: the server keeps its defaults for the measurements.
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for statement in creates:
        started = time.monotonic()
        conn.execute(statement)
        log(f"{time.monotonic() - started:5.1f} s  {statement}")


def _chain_heads_write(
    conn: psycopg.Connection, histories: Sequence[ContractHistory], writer: HistoryWriter
) -> None:
    """Each contract's chain head must name its last entry, or the next log_record breaks."""
    with conn.transaction():
        conn.execute("DELETE FROM audit_logchain")
        with conn.cursor().copy(
            "COPY audit_logchain (contract_id, last_seq, last_digest, archive, first_seq, "
            "first_prev_digest) FROM STDIN"
        ) as copy:
            for history, head in zip(histories, writer.heads, strict=True):
                # Kept forever (retention_months NULL), from the first entry on.
                copy.write_row((history.id, head.last_seq, head.last_digest, True, 1, "0" * 64))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('audit_logentry', 'id'), "
            "(SELECT max(id) FROM audit_logentry))"
        )


def _months_order(conn: psycopg.Connection) -> None:
    """On the partitioned log, what the daily job ``audit.partitions`` does to finished months
    in production: each rewritten in contract order (timed; then analysed and checkpointed)."""
    from mamori.audit.partitions import log_partitioned, partitions_maintain

    if not log_partitioned():
        return
    started = time.monotonic()
    done = partitions_maintain()
    conn.execute("VACUUM (FREEZE, ANALYZE) audit_logentry")
    conn.execute("CHECKPOINT")
    log(
        f"{len(done['ordered'])} finished months rewritten in contract order: "
        f"{time.monotonic() - started:.0f} s"
    )


def _finish(conn: psycopg.Connection) -> None:
    started = time.monotonic()
    conn.execute("VACUUM (FREEZE, ANALYZE) audit_logentry")  # as FREEZE would have left it
    conn.execute("ANALYZE")
    # Flush the fill's dirty pages now, not during the measurements.
    conn.execute("CHECKPOINT")
    log(f"VACUUM ANALYZE: {time.monotonic() - started:.0f} s")
