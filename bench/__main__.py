"""``python -m bench``: fill a PostgreSQL database with a large operation log, then time the log
screen and its CSV export through a real server, against the same SQL run directly.

See bench/README.md for what is measured and the last full run's figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from bench import database, report
from bench.fill import BENCH_ACCOUNT, BENCH_DOMAIN, BENCH_PASSWORD, fill
from bench.measure import (
    csv_params,
    measure_csv,
    measure_csv_cold,
    measure_page,
    page_cases,
    request_queries,
    sql_connection,
)
from bench.noise import OtherLoad
from bench.web import Client, Server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=database.DEFAULT_URL,
        help="a PostgreSQL database of the benchmark's own (default: %(default)s)",
    )
    parser.add_argument(
        "--entries",
        type=int,
        default=10_000_000,
        help="operation-log entries in all (default: %(default)s)",
    )
    parser.add_argument(
        "--contracts",
        type=int,
        default=1000,
        help="contracts, the bench contract included (default: %(default)s)",
    )
    parser.add_argument(
        "--bench-share",
        type=float,
        default=0.04,
        help="the bench contract's share of the entries (default: %(default)s)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="timed requests (and SQL runs) per page case (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="untimed requests before each case (default: %(default)s)",
    )
    parser.add_argument(
        "--csv-runs",
        type=int,
        default=3,
        help="timed CSV downloads; the median is reported (default: %(default)s)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        help="seconds to wait for an idle CPU before measuring (default: %(default)s)",
    )
    parser.add_argument(
        "--skip-fill",
        action="store_true",
        help="measure whatever the database holds; never fill or wipe it",
    )
    parser.add_argument(
        "--cold",
        type=Path,
        metavar="PGDATA",
        help="also time the CSV export cold, --csv-runs times: the database's own cluster "
        "(its data directory) is restarted and dropped from the page cache before each",
    )
    args = parser.parse_args(argv)
    if args.contracts < 1 or args.entries < args.contracts * 2:
        parser.error("--entries must be at least twice --contracts")
    return args


def prepare(args: argparse.Namespace) -> None:
    """Make sure the database exists, is migrated and holds the requested fill."""
    url = args.database_url
    state = database.fill_state(url) if database.exists(url) else None
    wanted = (args.entries, args.contracts)
    if args.skip_fill:
        if state is None:
            raise SystemExit(f"--skip-fill: {database.database_name(url)!r} has no finished fill")
        print(f"[fill] skipped (--skip-fill); the database holds {state['entries']:,} entries")
    elif state is not None and (state["entries"], state["contracts"]) == wanted:
        print(
            f"[fill] already filled: {state['entries']:,} entries, {state['contracts']} "
            f"contracts (that fill took {state['seconds']} s)"
        )
    else:
        if state is not None or database.exists(url):
            print(f"[fill] wiping {database.database_name(url)!r} (it holds another fill)")
            database.drop(url)
        database.create(url)
        database.django_setup(url)
        fill(url, entries=args.entries, contracts=args.contracts, bench_share=args.bench_share)
        return
    database.django_setup(url)


def bench_account() -> Any:
    from mamori.accounts.models import Account

    return Account.objects.select_related("contract", "user").get(
        contract__domain=BENCH_DOMAIN, name=BENCH_ACCOUNT
    )


def run(args: argparse.Namespace) -> None:
    account = bench_account()
    with sql_connection(args.database_url) as conn:
        print(report.facts_table("Data", report.data_facts(conn, account.contract_id)), "\n")
        busy = report.wait_until_quiet(args.wait_quiet)
        print(f"CPU in use before measuring: {busy:.0%}")
        if busy > 0.2:
            print("WARNING: something else is using the CPU; these figures are not comparable.")
        results, csv = measure_all(args, account, conn)
    print_results(args, account, results, csv)


def measure_all(args: argparse.Namespace, account: Any, conn: Any) -> tuple[list, Any]:
    """Every page case, then the CSV export, through one server and one logged-in client."""
    logs_path, csv_path = f"/{BENCH_DOMAIN}/logs/", f"/{BENCH_DOMAIN}/logs/export.csv"
    cases = page_cases(account)
    with Server(args.database_url) as server:
        client = Client(server.base)
        client.login(BENCH_DOMAIN, BENCH_ACCOUNT, BENCH_PASSWORD)
        results = []
        for case in cases:
            started = time.monotonic()
            with OtherLoad(server.pid) as load:
                result = measure_page(client, logs_path, conn, case, args.requests, args.warmup)
            results.append(dataclasses.replace(result, other_cpu=load.share))
            print(f"[measure] {case.name}: {time.monotonic() - started:.1f} s", flush=True)
        with OtherLoad(server.pid) as load:
            csv = measure_csv(client, csv_path, conn, account, csv_params(account), args.csv_runs)
        csv = dataclasses.replace(csv, other_cpu=load.share)
        if args.cold:
            cold = measure_csv_cold(
                client, csv_path, args.database_url, args.cold, csv_params(account), args.csv_runs
            )
            csv = dataclasses.replace(csv, cold_rows_per_second=cold)
            from django.db import connection

            connection.close()  # cut by the restarts; the in-process measurements reconnect
    return results, csv


def print_results(args: argparse.Namespace, account: Any, results: list, csv: Any) -> None:
    print()
    print("## Log page (ms; HTTP is the whole request as the client sees it)\n")
    print(report.page_table(results), "\n")
    print(report.cases_table(results), "\n")
    print(f"## CSV export (one full streamed download, median of {args.csv_runs})\n")
    print(report.csv_table(csv), "\n")
    print("## Queries of one first-page request (in process, Django's test client)\n")
    print(report.queries_table(request_queries(account, f"/{BENCH_DOMAIN}/logs/")))
    warning = report.noise_warning([r.other_cpu for r in results] + [csv.other_cpu])
    if warning:
        print("\n" + warning)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with database.connect(database.maintenance_url(args.database_url)) as conn:
        print(report.facts_table("Machine", report.machine_facts(conn)), "\n")
    prepare(args)
    run(args)


if __name__ == "__main__":
    main()
