"""What the benchmark prints: the machine, the data, and the result tables (Markdown)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import psycopg

from bench.measure import CsvResult, PageResult, summary

PAGE_P95_MS = 50
RAW_RATIO = 3
CSV_ROWS_PER_S = 50_000


def _meminfo_gib() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of all cores in use over a short window, before the benchmark starts work."""
    total0, idle0 = _cpu_times()
    time.sleep(seconds)
    total1, idle1 = _cpu_times()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_quiet(limit: float, threshold: float = 0.2) -> float:
    """Other people's work on a 2-core machine ruins the figures: wait for it to end (a while)."""
    deadline = time.monotonic() + limit
    while True:
        busy = cpu_busy()
        if busy <= threshold or time.monotonic() >= deadline:
            return busy
        print(f"[measure] CPU {busy:.0%} busy before measuring; waiting", flush=True)


def machine_facts(conn: psycopg.Connection) -> list[tuple[str, str]]:
    import django

    settings = {
        name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
        for name in (
            "server_version",
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "max_wal_size",
            "jit",
        )
    }
    return [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", _cpu_model()),
        ("memory", _meminfo_gib()),
        (
            "PostgreSQL",
            f"{settings.pop('server_version')} "
            f"({', '.join(f'{k}={v}' for k, v in settings.items())})",
        ),
        ("Python", platform.python_version()),
        ("Django", django.get_version()),
        ("OS", platform.platform()),
    ]


def data_facts(conn: psycopg.Connection, bench_contract_id: int) -> list[tuple[str, str]]:
    def one(query: str, params: list[object] | None = None) -> object:
        return conn.execute(query, params).fetchone()[0]  # type: ignore[index]

    return [
        ("log entries", f"{one('SELECT count(*) FROM audit_logentry'):,}"),
        ("contracts", f"{one('SELECT count(*) FROM contracts_contract'):,}"),
        (
            "bench contract entries",
            f"{one('SELECT count(*) FROM audit_logentry WHERE contract_id = %s', [bench_contract_id]):,}",
        ),
        ("audit_logentry heap", str(one("SELECT pg_size_pretty(pg_table_size('audit_logentry'))"))),
        (
            "audit_logentry indexes",
            str(one("SELECT pg_size_pretty(pg_indexes_size('audit_logentry'))")),
        ),
        ("database", str(one("SELECT pg_size_pretty(pg_database_size(current_database()))"))),
    ]


def facts_table(title: str, facts: list[tuple[str, str]]) -> str:
    lines = [f"## {title}", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in facts]
    return "\n".join(lines)


def _verdict(http_p95: float, ratio: float) -> str:
    failed = []
    if http_p95 > PAGE_P95_MS:
        failed.append(f"> {PAGE_P95_MS} ms")
    if ratio > RAW_RATIO:
        failed.append(f"> {RAW_RATIO}× raw")
    return "pass" if not failed else "FAIL (" + ", ".join(failed) + ")"


def page_table(results: list[PageResult]) -> str:
    lines = [
        "| case | rows | HTTP p50 | HTTP p95 | SQL p50 | SQL p95 | ratio p95 | target | pass/fail "
        "| other CPU |",
        "|---|--:|--:|--:|--:|--:|--:|---|---|--:|",
    ]
    for result in results:
        s = summary(result)
        lines.append(
            f"| {result.case.name} | {result.rows} | {s['http_p50']:.1f} ms | "
            f"{s['http_p95']:.1f} ms | {s['sql_p50']:.2f} ms | {s['sql_p95']:.2f} ms | "
            f"{s['ratio']:.1f}× | p95 ≤ {PAGE_P95_MS} ms and ≤ {RAW_RATIO}× raw | "
            f"{_verdict(s['http_p95'], s['ratio'])} | {result.other_cpu:.0%} |"
        )
    return "\n".join(lines)


def csv_table(result: CsvResult) -> str:
    rate = result.rows / result.seconds
    verdict = "pass" if rate >= CSV_ROWS_PER_S else "FAIL"
    return "\n".join(
        [
            "| export | rows | MB | seconds | rows/s | SQL alone rows/s | target | pass/fail "
            "| other CPU |",
            "|---|--:|--:|--:|--:|--:|---|---|--:|",
            f"| {_params_text(result.params)} | {result.rows:,} | {result.megabytes:.1f} | "
            f"{result.seconds:.2f} | {rate:,.0f} | {result.sql_rows_per_s:,.0f} | "
            f"≥ {CSV_ROWS_PER_S:,} rows/s | {verdict} | {result.other_cpu:.0%} |",
            *(
                [
                    "",
                    "| cold export (cluster restarted, page cache dropped; median) | rows/s |",
                    "|---|--:|",
                    f"| {_params_text(result.params)} | {result.cold_rows_per_second:,.0f} |",
                ]
                if result.cold_rows_per_second is not None
                else []
            ),
        ]
    )


def _params_text(params: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(none)"


def cases_table(results: list[PageResult]) -> str:
    lines = ["| case | GET parameters |", "|---|---|"]
    lines += [f"| {r.case.name} | `{_params_text(r.case.params)}` |" for r in results]
    return "\n".join(lines)


def queries_table(queries: list[tuple[float, str]]) -> str:
    *sql, (total, _) = queries
    lines = ["| # | ms | query |", "|--:|--:|---|"]
    for number, (seconds, text) in enumerate(sql, 1):
        text = " ".join(text.split())
        text = text if len(text) <= 110 else text[:107] + "..."
        lines.append(f"| {number} | {seconds * 1000:.2f} | `{text}` |")
    in_sql = sum(seconds for seconds, _ in sql)
    lines.append(
        f"| | {total * 1000:.2f} | the whole request in process: {in_sql * 1000:.2f} ms "
        f"in {len(sql)} queries, {(total - in_sql) * 1000:.2f} ms in Python |"
    )
    return "\n".join(lines)


def noise_warning(shares: list[float], limit: float = 0.1) -> str | None:
    worst = max(shares, default=0.0)
    if worst <= limit:
        return None
    return (
        f"WARNING: other processes took up to {worst:.0%} of the CPU during a case "
        "(column 'other CPU'); run again on a quiet machine before trusting those rows."
    )
