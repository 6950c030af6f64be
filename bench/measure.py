"""The measured cases: the log page through HTTP against the same SQL run directly.

Each page case is a set of GET parameters for ``/bench/logs/``. Its SQL is not rebuilt here: it
is captured while ``log_page`` runs in this process with the filter that the view's own form
makes of those parameters (in the viewer's timezone), so HTTP and SQL do exactly the same query.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.web import Client

DEEP_FRACTION = 0.9
ACTOR_CASE = "tanaka"  # a department administrator: a typical person to look up
ACTION_CASE = "account.password_changed"  # ~3 % of a contract's entries
# Both filters at once, for the busiest account and an action it never does (failed logins are
# recorded without an actor): no single index covers the pair, so this scans the account's
# whole history. Not in the brief's list; added because it is the slow case (README.md).
COMBINED_CASE = ("admin", "account.login_failed")
ROW_MARKERS = (b'<tr class="success">', b'<tr class="failure">')


@dataclasses.dataclass(frozen=True)
class PageCase:
    name: str
    params: dict[str, str]
    sql: str


@dataclasses.dataclass(frozen=True)
class PageResult:
    case: PageCase
    http: list[float]
    sql: list[float]
    rows: int  # entries on the page
    other_cpu: float = 0.0  # share of all cores other processes took meanwhile (noise.py)


@dataclasses.dataclass(frozen=True)
class CsvResult:
    params: dict[str, str]
    rows: int
    seconds: float
    megabytes: float
    sql_rows_per_s: float  # the export's query alone, fetched as Django fetches it
    other_cpu: float = 0.0
    cold_rows_per_second: float | None = None  # median download after make_cold (--cold)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the value below which p % of the samples fall."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- building the cases -------------------------------------------------------------------


def _local_day(account: Any, days_ago: int) -> datetime.datetime:
    """Midnight ``days_ago`` days back in the viewer's timezone, as the form's input gives it."""
    local = datetime.datetime.now(account.zone) - datetime.timedelta(days=days_ago)
    return local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")  # what a datetime-local input sends


def log_filter_of(account: Any, params: dict[str, str]) -> Any:
    """What the view makes of these parameters: its own form, in the viewer's timezone."""
    from django.utils import timezone

    from mamori.audit.views import log_filter_form

    with timezone.override(account.zone):
        form = log_filter_form(account, params)
        if not form.is_valid():
            raise ValueError(f"the log filter rejects {params}: {form.errors.as_text()}")
        return form.log_filter()


def page_sql(account: Any, params: dict[str, str]) -> str:
    """The exact SQL text ``log_page`` sends for these parameters, literals included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mamori.audit.selectors import LOG_ORDER, log_page

    log_filter = log_filter_of(account, params)
    before = LOG_ORDER.decode(params["before"]) if params.get("before") else None
    with CaptureQueriesContext(connection) as queries:
        log_page(account, log_filter, before=before)
    # The page's query is the last one on the log table (log_page may look other things up).
    return [q["sql"] for q in queries.captured_queries if '"audit_logentry"' in q["sql"]][-1]


def _deep_cursor(account: Any) -> str:
    """The cursor of the entry DEEP_FRACTION of the way back in the contract's history."""
    from mamori.audit.models import LogEntry
    from mamori.audit.selectors import LOG_ORDER

    entries = LogEntry.objects.filter(contract_id=account.contract_id)
    offset = int(entries.count() * DEEP_FRACTION)
    entry = entries.order_by("-created_at", "-id").only("created_at")[offset]
    return LOG_ORDER.encode(entry)


def page_cases(account: Any) -> list[PageCase]:
    from mamori.accounts.models import Account

    actor = Account.objects.get(contract_id=account.contract_id, name=ACTOR_CASE)
    busy_actor = Account.objects.get(contract_id=account.contract_id, name=COMBINED_CASE[0])
    year_ago = _local_day(account, 365)
    cases = {
        "first page": {},
        f"page {DEEP_FRACTION:.0%} back": {"before": _deep_cursor(account)},
        f"actor={ACTOR_CASE}": {"actor": str(actor.pk)},
        f"action={ACTION_CASE}": {"action": ACTION_CASE},
        "1 week, 1 year ago": {
            "since": _stamp(year_ago),
            "until": _stamp(year_ago + datetime.timedelta(days=7)),
        },
        f"actor={COMBINED_CASE[0]} + action={COMBINED_CASE[1]}": {
            "actor": str(busy_actor.pk),
            "action": COMBINED_CASE[1],
        },
    }
    return [PageCase(name, params, page_sql(account, params)) for name, params in cases.items()]


def csv_params(account: Any) -> dict[str, str]:
    """The last year: the biggest export an auditor routinely asks for."""
    return {"since": _stamp(_local_day(account, 365))}


def export_sql(account: Any, params: dict[str, str]) -> tuple[str, tuple[Any, ...]]:
    """The export's query as ``log_export_rows`` builds it (it returns an iterator, not SQL)."""
    from mamori.audit.selectors import EXPORT_FIELDS, log_entries_filtered

    queryset = (
        log_entries_filtered(account, log_filter_of(account, params))
        .order_by("-created_at", "-id")
        .values_list(*EXPORT_FIELDS)
    )
    return queryset.query.sql_with_params()


# --- timing -------------------------------------------------------------------------------


def sql_connection(url: str) -> psycopg.Connection:
    """Like Django's: client-side binding, never prepared, so every run is planned afresh."""
    return psycopg.connect(
        url, autocommit=True, cursor_factory=psycopg.ClientCursor, prepare_threshold=None
    )


def _timed[T](action: Callable[[], T], runs: int, warmup: int) -> tuple[list[float], T]:
    """Seconds of each of ``runs`` calls after ``warmup`` untimed ones, and the last result."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return times, result


def _rows_on_page(body: bytes) -> int:
    if b'card-table log"' not in body:
        raise RuntimeError("the answer is not the log page (logged out?)")
    return sum(body.count(marker) for marker in ROW_MARKERS)


def measure_page(
    client: Client, path: str, conn: psycopg.Connection, case: PageCase, runs: int, warmup: int
) -> PageResult:
    def run_sql() -> int:
        with conn.cursor() as cur:
            cur.execute(case.sql)
            return len(cur.fetchall())

    from django.conf import settings

    sql_times, sql_rows = _timed(run_sql, runs, warmup)
    http_times, body = _timed(lambda: client.get(path, case.params), runs, warmup)
    shown = _rows_on_page(body)
    if shown != min(sql_rows, settings.LOG_PAGE_SIZE):  # the query reads one more than it shows
        raise RuntimeError(f"{case.name}: the page shows {shown} rows, the SQL gives {sql_rows}")
    return PageResult(case, http_times, sql_times, shown)


class _ServerSideClientCursor(psycopg.client_cursor.ClientCursorMixin, psycopg.ServerCursor):
    """Django's ServerSideCursor: a named cursor with the parameters bound client-side."""


def _fetch_like_django_iterator(conn: psycopg.Connection, sql: str, params: Any) -> int:
    """Run the export query as ``.iterator(chunk_size=2000)`` does: DECLARE ... WITH HOLD.

    The cursor matters: for a cursor PostgreSQL plans for the first 10 % of the rows
    (cursor_tuple_fraction) and takes the index in order, while the same SELECT run plainly
    gets a parallel bitmap scan, a sort on disk and ~1 s of JIT compilation (see README.md).
    """
    fetched = 0
    with _ServerSideClientCursor(conn, name="bench_export", withhold=True) as cur:
        cur.execute(sql, params)
        while chunk := cur.fetchmany(2000):
            fetched += len(chunk)
    return fetched


def measure_csv(
    client: Client,
    path: str,
    conn: psycopg.Connection,
    account: Any,
    params: dict[str, str],
    runs: int,
) -> CsvResult:
    """Median of ``runs`` full downloads after one warm-up; rows are counted in the body."""
    downloads = []
    client.get(path, params)
    for _ in range(runs):
        started = time.perf_counter()
        body = client.get(path, params)
        downloads.append((time.perf_counter() - started, body))
    seconds, body = sorted(downloads, key=lambda d: d[0])[len(downloads) // 2]
    rows = body.count(b"\n") - 1  # the header; no field of ours holds a newline
    sql, sql_params = export_sql(account, params)
    started = time.perf_counter()
    fetched = _fetch_like_django_iterator(conn, sql, sql_params)
    sql_seconds = time.perf_counter() - started
    if fetched != rows:
        raise RuntimeError(f"the CSV has {rows} rows, its query {fetched}")
    return CsvResult(params, rows, seconds, len(body) / 1e6, fetched / sql_seconds)


def request_queries(account: Any, path: str) -> list[tuple[float, str]]:
    """Every query one request runs, timed, in this process through Django's test client;
    the last line is the whole request."""
    from django.db import connection
    from django.test import Client as DjangoClient

    timed: list[tuple[float, str]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append((time.perf_counter() - started, sql))

    client = DjangoClient(HTTP_HOST="127.0.0.1")
    client.force_login(account)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # whitenoise: no collected static files; not needed here
        client.get(path)  # warm: the first request of a process loads templates and translations
        timed.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(wrapper):
            response = client.get(path)
        timed.append((time.perf_counter() - started, "(the whole request, in process)"))
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in process")
    return timed


def summary(result: PageResult) -> dict[str, float]:
    http_p95, sql_p95 = percentile(result.http, 95), percentile(result.sql, 95)
    return {
        "http_p50": statistics.median(result.http) * 1000,
        "http_p95": http_p95 * 1000,
        "sql_p50": statistics.median(result.sql) * 1000,
        "sql_p95": sql_p95 * 1000,
        "ratio": http_p95 / sql_p95,
    }


def measure_csv_cold(
    client: Client, path: str, url: str, data: Path, params: dict[str, str], runs: int
) -> float:
    """Median rows/s of ``runs`` full downloads, each right after ``bench.cold.make_cold``
    (the cluster restarted, its files out of the page cache)."""
    from bench.cold import make_cold

    rates = []
    for _ in range(runs):
        how = make_cold(url, data)
        client.get("/healthz", {})  # the server's connection reopens: not part of the export
        started = time.perf_counter()
        body = client.get(path, params)
        seconds = time.perf_counter() - started
        rows = body.count(b"\n") - 1
        rates.append(rows / seconds)
        print(f"[measure] cold CSV ({how}): {rows:,} rows in {seconds:.2f} s", flush=True)
    return sorted(rates)[len(rates) // 2]
