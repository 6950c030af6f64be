"""Appending to the operation log, timed: ``python -m bench.audit_append [--database-url URL]``.

Writes ``--entries`` entries (10,000) for one contract with the real writer, one by one (one
transaction each, as a service appends its entry) and in batches (``log_records``, one
transaction a batch), then the same with two contracts written by two processes at once; and,
in the same run, the very same rows with plain INSERT statements through psycopg (one row a
transaction, then one INSERT a batch, of a JSON document of the rows as the writer sends them)
and with COPY: the database's limit for those rows, same table, same indexes. Prints one table
(see bench/README.md).

    .venv/bin/python -m bench.audit_append   # database mamori_bench_audit, made if missing
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import re
import time
import uuid
from collections.abc import Callable

from bench import database
from bench.noise import OtherLoad
from bench.report import wait_until_quiet

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench_audit"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclasses.dataclass(frozen=True)
class Result:
    case: str
    entries: int
    seconds: float
    raw_seconds: float
    copy_seconds: float | None  # COPY of the same rows (batches only)
    other_cpu: float  # the share of the cores other people's processes used meanwhile

    def row(self) -> str:
        ours, raw = self.entries / self.seconds, self.entries / self.raw_seconds
        copy = f"{self.entries / self.copy_seconds:,.0f}" if self.copy_seconds else "—"
        return (
            f"| {self.case} | {self.entries:,} | {self.seconds:.2f} | {ours:,.0f} "
            f"| {raw:,.0f} | {ours / raw:.0%} | {copy} | {self.other_cpu:.0%} |"
        )


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["MAMORI_TASK_BACKEND"] = "django.tasks.backends.dummy.DummyBackend"
    database.bench_environment()
    import django

    django.setup()


def contracts_open(count: int) -> list[int]:
    """Fresh contracts (made by the real service), their ids."""
    from mamori.core.actor import Actor
    from mamori.provider.services import contract_create

    run = uuid.uuid4().hex[:8]
    return [
        contract_create(
            actor=Actor.operator(),
            domain=f"append-{run}-{n}",
            company_name=f"Append {n}",
            contact_name="山田 太郎",
            contact_furigana="ヤマダ タロウ",
            contact_email=f"admin{n}@append.example",
            language="ja",
            timezone_name="Asia/Tokyo",
        ).pk
        for n in range(count)
    ]


def records(contract_id: int, n: int) -> list:
    """``n`` login entries of the contract's administrator, as the login service writes them."""
    from mamori.accounts.audit_actions import AccountAction
    from mamori.accounts.models import Account
    from mamori.audit.services import LogRecord, Target
    from mamori.core.actor import Actor

    account = Account.objects.select_related("contract", "user").get(contract_id=contract_id)
    actor = Actor(account=account, ip="203.0.113.7", user_agent=USER_AGENT, request_id="r" * 32)
    target = Target("account", account.pk, account.name)
    return [
        LogRecord(
            contract=account.contract,
            actor=actor,
            action=AccountAction.LOGIN,
            target=target,
            after={"two_factor": "totp"},
            organization_id=account.user.organization_id,
        )
        for _ in range(n)
    ]


def append(contract_id: int, n: int, batch: int) -> float:
    """Seconds to append ``n`` entries, ``batch`` per transaction (1: ``log_record``)."""
    from django.db import transaction

    from mamori.audit.services import log_record, log_records

    todo = records(contract_id, n)
    started = time.perf_counter()
    if batch == 1:
        for r in todo:
            with transaction.atomic():
                log_record(
                    contract=r.contract,
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    after=r.after,
                    organization_id=r.organization_id,
                )
    else:
        for start in range(0, n, batch):
            with transaction.atomic():
                log_records(todo[start : start + batch])
    return time.perf_counter() - started


def raw_insert(
    source_contract: int, target_contract: int, n: int, batch: int, method: str = "insert"
) -> float:
    """Seconds to write the last ``n`` rows the writer made for ``source_contract`` again, for
    ``target_contract`` (numbered after its chain), ``batch`` rows a transaction, with psycopg:
    no lock, no digest, no ORM. ``method`` "insert": a one-row INSERT, or for a batch one INSERT
    of a JSON document of the rows (the statement the writer sends), serialized in the timing;
    "copy": COPY."""
    import json

    import psycopg
    from django.conf import settings
    from django.db import connection

    from mamori.audit.models import LogEntry

    fields = [f for f in LogEntry._meta.concrete_fields if not f.primary_key]
    columns = [str(f.column) for f in fields]
    # JSON comes as text and is decoded here, outside the timing: an application has its values.
    selected = [f"{c}::text" if c in ("before", "after") else c for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(selected)} FROM audit_logentry WHERE contract_id = %s "
            "ORDER BY seq DESC LIMIT %s",
            [source_contract, n],
        )
        rows = [list(r) for r in reversed(cursor.fetchall())]
        cursor.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM audit_logentry WHERE contract_id = %s",
            [target_contract],
        )
        first_seq = cursor.fetchone()[0] + 1
    at = {c: i for i, c in enumerate(columns)}
    for offset, row in enumerate(rows):
        row[at["contract_id"]], row[at["seq"]] = target_contract, first_seq + offset
    names = ", ".join(columns)
    one = "(" + ", ".join("%s::jsonb" if c in ("before", "after") else "%s" for c in columns) + ")"
    types = ", ".join(f"{c} {f.db_type(connection)}" for c, f in zip(columns, fields, strict=True))
    document = (
        f"INSERT INTO audit_logentry ({names}) SELECT {names} FROM ROWS FROM "
        f"(jsonb_to_recordset(%s::jsonb) AS ({types})) WITH ORDINALITY AS r({names}, n) "
        "ORDER BY n RETURNING id"
    )
    objects = [
        {
            c: json.loads(v) if c in ("before", "after") and v is not None else v
            for c, v in zip(columns, row, strict=True)
        }
        | {"created_at": row[at["created_at"]].isoformat()}
        for row in rows
    ]
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
        port=db["PORT"] or None, autocommit=True, options="-c jit=off",
    ) as conn:  # fmt: skip
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            with conn.transaction():
                if method == "copy":
                    with conn.cursor().copy(f"COPY audit_logentry ({names}) FROM STDIN") as copy:
                        for row in rows[start : start + batch]:
                            copy.write_row(row)
                elif batch == 1:
                    conn.execute(f"INSERT INTO audit_logentry ({names}) VALUES {one}", rows[start])
                else:
                    text = json.dumps(objects[start : start + batch], ensure_ascii=False)
                    conn.execute(document, [text]).fetchall()
        return time.perf_counter() - started


def _in_process(url: str, job: Callable[..., float], args: tuple, barrier, out) -> None:  # type: ignore[no-untyped-def]
    django_setup(url)
    barrier.wait()
    out.put(job(*args))


def parallel(url: str, job: Callable[..., float], args: list[tuple]) -> tuple[float, float]:
    """Wall seconds for ``job`` run in one process per argument tuple, all started together,
    and the share of the cores that other people's processes used meanwhile."""
    from django.db import connections

    connections.close_all()  # the children must not share this process's connection
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(len(args) + 1), context.Queue()
    processes = [
        context.Process(target=_in_process, args=(url, job, a, barrier, out)) for a in args
    ]
    for p in processes:
        p.start()
    with OtherLoad(*(p.pid for p in processes if p.pid)) as load:
        barrier.wait()
        started = time.perf_counter()
        for _ in processes:
            out.get()
        elapsed = time.perf_counter() - started
    for p in processes:
        p.join()
    return elapsed, load.share


def machine() -> list[str]:
    import platform

    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"nproc {os.cpu_count()}, {memory:.1f} GiB, PostgreSQL {version} "
        f"(synchronous_commit={sync}), Python {platform.python_version()}, Django {django.__version__}"
    ]


def about_one_device(contract_id: int, runs: int = 200) -> tuple[int, float, str]:
    """Time "entries about this device" (``log_entries_about``, newest 50) on the whole table:
    20 entries name device 424242, 10 as target and 10 as related object. Returns the table's
    row count, the median milliseconds of the SQL alone, and the plan's index scans."""
    import statistics

    from django.db import connection, transaction

    from mamori.accounts.models import Account
    from mamori.audit.selectors import log_entries_about
    from mamori.audit.services import Target, TargetType, log_records

    device = Target(TargetType.DEVICE, 424242, "Pixel")
    about = [
        dataclasses.replace(
            r,
            target=device if n % 2 else Target(TargetType.COMMAND, n),
            related=None if n % 2 else device,
        )
        for n, r in enumerate(records(contract_id, 20))
    ]
    with transaction.atomic():
        log_records(about)
    account = Account.objects.get(contract_id=contract_id)
    query = log_entries_about(account, TargetType.DEVICE, 424242).order_by("-created_at", "-id")
    sql, params = query[:50].query.sql_with_params()
    times = []
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_logentry")
        cursor.execute("SELECT count(*) FROM audit_logentry")
        total = cursor.fetchone()[0]
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            assert len(cursor.fetchall()) == 20
            times.append(time.perf_counter() - started)
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    scans = re.findall(r"(Bitmap Index Scan|Index Scan|Index Only Scan|Seq Scan)\S* on (\w+)", plan)
    return total, statistics.median(times) * 1000, ", ".join(f"{k} on {n}" for k, n in scans)


def _what(size: int) -> str:
    return "one by one" if size == 1 else f"batches of {size:,}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_append", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--entries", type=int, default=10_000, help="per contract and case")
    parser.add_argument("--batches", default="100,1000", help="batch sizes, comma-separated")
    parser.add_argument(
        "--wait-quiet", type=float, default=60, help="seconds to wait for an idle CPU first"
    )
    args = parser.parse_args(argv)
    url, n = args.database_url, args.entries
    sizes = [1, *(int(b) for b in args.batches.split(","))]
    if not database.exists(url):
        database.create(url)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    a, b, raw_a, raw_b = contracts_open(4)
    busy = wait_until_quiet(args.wait_quiet)
    results = []
    for size in sizes:
        with OtherLoad() as load:
            ours = append(a, n, size)
            raw = raw_insert(a, raw_a, n, size)
            copy = raw_insert(a, raw_a, n, size, "copy") if size > 1 else None
        results.append(Result(f"1 contract, {_what(size)}", n, ours, raw, copy, load.share))
    for size in sizes:
        ours, load_ours = parallel(url, append, [(a, n, size), (b, n, size)])
        raw, load_raw = parallel(url, raw_insert, [(a, raw_a, n, size), (b, raw_b, n, size)])
        copy = None
        if size > 1:
            copy, _ = parallel(
                url, raw_insert, [(a, raw_a, n, size, "copy"), (b, raw_b, n, size, "copy")]
            )
        share = (load_ours * ours + load_raw * raw) / (ours + raw)
        case = f"2 contracts in 2 processes, {_what(size)}"
        results.append(Result(case, 2 * n, ours, raw, copy, share))
    print(*machine(), sep="\n")
    print(f"CPU in use before measuring: {busy:.0%}")
    print()
    print(
        "| case | entries | s | entries/s | raw INSERT rows/s | of raw | COPY rows/s | other CPU |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for result in results:
        print(result.row())
    total, ms, plan = about_one_device(a)
    print()
    print(f"Entries about one device (20 of {total:,} rows), newest 50: {ms:.2f} ms ({plan})")


if __name__ == "__main__":
    main()
