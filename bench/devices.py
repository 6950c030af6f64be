"""``python -m bench.devices``: the Devices list at 100,000 devices, through HTTP, beside its SQL.

Data: the ``bench.pubsub`` contract (its 100,000 devices; made if missing), spread once over an
organization tree of 1 + 10 + 100 organizations (two levels under the top), each device with a
serial number of its own; the devices ``bench.pubsub`` did not report stay two days silent.
The panel is served by granian with 2 workers (``bench.pubsub.server_start``: debug off,
persistent connections); one client logs in through the login form and asks, in turn, for

- the first page (newest first, 50 rows),
- an organization subtree (a first-level organization: about a tenth of the devices),
- "no report for more than 24 hours" (``silent=24``),
- a search by serial number (``q=…``),

``--requests`` times each after ``--warmup``. Each case's SQL (every statement the request
runs, captured in this process with its parameters through Django's test client) is replayed
with psycopg as often: p50/p95 of the request and of the statements together.
Target (issue 9): p95 ≤ 100 ms through HTTP.
"""

from __future__ import annotations

import argparse
import random
import time
import warnings
from typing import Any

from bench import database, pubsub
from bench.measure import percentile
from bench.report import facts_table, machine_facts
from bench.web import Client, _free_port

ACCOUNT = "admin"
PASSWORD = "Bench-devices-2026!"
MARKER = "bench_devices_spread"


def spread(contract_id: int) -> None:
    """Organizations (10 under the top, 10 under each) and the devices spread over them, once."""
    from django.db import connection, transaction

    from mamori.accounts.models import Account
    from mamori.directory.models import Organization
    from mamori.directory.services import organization_user_counts_refresh

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (done int)")
        cursor.execute(f"SELECT count(*) FROM {MARKER}")
        if cursor.fetchone()[0]:
            return
    admin = Account.objects.get(contract_id=contract_id, name=ACCOUNT)
    admin.set_password(PASSWORD)
    admin.must_change_password = False
    admin.save()
    rng = random.Random(9)
    root = Organization.objects.get(contract_id=contract_id, parent=None)
    with transaction.atomic():
        first = Organization.objects.bulk_create(
            Organization(contract_id=contract_id, parent=root, name=f"部 {n}") for n in range(10)
        )
        for o in first:
            o.path = f"{root.path}{o.pk}/"
        Organization.objects.bulk_update(first, ["path"])
        second = Organization.objects.bulk_create(
            Organization(contract_id=contract_id, parent=p, name=f"課 {p.name}-{n}")
            for p in first
            for n in range(10)
        )
        for o in second:
            o.path = f"{o.parent.path}{o.pk}/"
        Organization.objects.bulk_update(second, ["path"])
        leaves = [o.pk for o in [root, *first, *second]]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM android_device WHERE contract_id = %s ORDER BY id", [contract_id]
            )
            ids = [r[0] for r in cursor.fetchall()]
            pairs = [(i, rng.choice(leaves)) for i in ids]
            cursor.execute(
                "UPDATE android_device AS d SET organization_id = v.org FROM "
                "unnest(%s::bigint[], %s::bigint[]) AS v(id, org) WHERE d.id = v.id",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )
            cursor.execute(f"INSERT INTO {MARKER} VALUES (1)")
    organization_user_counts_refresh(contract_id)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE android_device")


def cases(contract_id: int) -> list[tuple[str, dict[str, str]]]:
    """``(name, GET parameters)`` of the measured cases."""
    from mamori.android.models import Device
    from mamori.directory.models import Organization

    org = (
        Organization.objects.filter(contract_id=contract_id, parent__parent=None)
        .exclude(parent=None)
        .order_by("pk")
        .first()
    )
    assert org is not None
    serial = (
        Device.objects.filter(contract_id=contract_id).order_by("pk")[50_000:50_001].get()
    ).serial_number
    return [
        ("first page", {}),
        (f"organization subtree ({org.name})", {"org": str(org.pk)}),
        ("no report > 24 h", {"silent": "24"}),
        ("search by serial", {"q": serial}),
    ]


def captured(domain: str, params: dict[str, str]) -> list[tuple[str, Any]]:
    """Every ``(sql, params)`` the page runs for ``params``, through Django's test client."""
    from django.db import connection
    from django.test import Client as DjangoClient

    from mamori.accounts.models import Account

    statements: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, values: Any, many: bool, context: Any) -> Any:
        statements.append((sql, values))
        return execute(sql, values, many, context)

    client = DjangoClient(HTTP_HOST="127.0.0.1")
    client.force_login(Account.objects.get(contract__domain=domain, name=ACCOUNT))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.get(f"/{domain}/devices/", params)
        with connection.execute_wrapper(wrapper):
            response = client.get(f"/{domain}/devices/", params)
    if response.status_code != 200:
        raise RuntimeError(f"the page answered {response.status_code} in process")
    return statements


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.devices", description=__doc__)
    parser.add_argument("--database-url", default=pubsub.DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    url = args.database_url
    if not database.exists(url):
        database.create(url)
    database.django_setup(url)
    import psycopg

    from mamori.contracts.models import Contract

    contract_id, _, _ = pubsub.fill(100_000)
    spread(contract_id)
    domain = Contract.objects.get(pk=contract_id).domain
    measured = cases(contract_id)
    sql_of = {name: captured(domain, params) for name, params in measured}
    from django.db import connection

    connection.close()
    port = _free_port()
    env = pubsub.environment(url, "http://127.0.0.1:9/unused", "")
    env["DJANGO_SETTINGS_MODULE"] = "mamori.settings"
    server = pubsub.server_start(env, port, 2, 2)
    loads = [pubsub.loadavg()]
    rows = []
    try:
        client = Client(f"http://127.0.0.1:{port}")
        client.login(domain, ACCOUNT, PASSWORD)
        with psycopg.connect(url, autocommit=True) as conn:
            facts = machine_facts(conn)
            for name, params in measured:
                timings = []
                for n in range(args.warmup + args.requests):
                    began = time.perf_counter()
                    body = client.get(f"/{domain}/devices/", params)
                    if n >= args.warmup:
                        timings.append(time.perf_counter() - began)
                sql_timings = []
                cursor = psycopg.ClientCursor(conn)
                for n in range(args.warmup + args.requests):
                    began = time.perf_counter()
                    for sql, values in sql_of[name]:
                        cursor.execute(sql, values)
                        if cursor.description:
                            cursor.fetchall()
                    if n >= args.warmup:
                        sql_timings.append(time.perf_counter() - began)
                rows.append((name, timings, sql_timings, len(sql_of[name]), len(body)))
                print(f"  {name}: p95 {percentile(timings, 95) * 1000:.1f} ms", flush=True)
    finally:
        pubsub.stop([server])
    loads.append(pubsub.loadavg())
    print(facts_table("Machine", [*facts, ("load average during", " → ".join(loads))]))
    print(
        "\n| case | HTTP p50 | HTTP p95 | target | SQL p50 | SQL p95 | statements | page KB |\n"
        "|---|--:|--:|---|--:|--:|--:|--:|"
    )
    for name, timings, sql_timings, statements, size in rows:
        p95 = percentile(timings, 95) * 1000
        verdict = "pass" if p95 <= 100 else "FAIL"
        print(
            f"| {name} | {percentile(timings, 50) * 1000:.1f} ms | {p95:.1f} ms | ≤ 100 ms: "
            f"{verdict} | {percentile(sql_timings, 50) * 1000:.2f} ms | "
            f"{percentile(sql_timings, 95) * 1000:.2f} ms | {statements} | {size / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
