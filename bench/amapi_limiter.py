"""``python -m bench.amapi_limiter``: the AMAPI limiter under two worker processes.

For each database (SQLite, and PostgreSQL when ``DATABASE_URL`` names one) it starts the AMAPI
sandbox, lets two worker processes call ``enterprises.get`` through the gateway as fast as the
limiter allows for a few windows of a scaled-down quota, and prints the calls per second
achieved against the budget, the most requests the sandbox saw in any window (aligned, and
sliding) and its 429s; then two processes acquire slots with no limit in sight, for the cost
of one acquisition (ms, one short transaction).

    .venv/bin/python -m bench.amapi_limiter
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.amapi_limiter
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

WORKER = """
import sys, time
import django
django.setup()
from mamori.android import amapi
enterprise, contract, until = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# an absolute time, or "+S": S seconds from now that the process is ready (a loaded machine
# can take seconds to import Django)
deadline = time.time() + float(until[1:]) if until.startswith("+") else float(until)
calls = 0
while time.time() < deadline:
    try:
        amapi.enterprise_get(enterprise, contract_id=contract)
        calls += 1
    except amapi.AmapiUnavailable as error:
        if error.code != "QUOTA_IN_USE":
            raise
        time.sleep(min(error.retry_after, max(deadline - time.time(), 0)))
print(calls)
"""

ACQUIRER = """
import sys, time
import django
django.setup()
from mamori.android.amapi.limiter import quota_try
count, contract = int(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
for _ in range(count):
    assert quota_try(contract) == 0.0
print((time.perf_counter() - started) * 1000 / count)
"""


def _postgres_url(base: str, name: str) -> str:
    import psycopg

    parts = urlsplit(base)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def _env(database_url: str, endpoint: str, key_file: str, quota: int, window: float) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mamori.settings",
        "MAMORI_ENV_FILE": "",
        "MAMORI_SECRET_KEY": "bench-only-not-a-secret",
        "MAMORI_AUDIT_KEY": "bench:bench-only-audit-key-0123456789abcdef",
        "DATABASE_URL": database_url,
        "MAMORI_AMAPI_ENDPOINT": endpoint,
        "MAMORI_AMAPI_CREDENTIALS": key_file,
        "MAMORI_AMAPI_QUOTA": str(quota),
        "MAMORI_AMAPI_QUOTA_WINDOW_SECONDS": str(window),
    }


def _run(env: dict, code: str, *args: str) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args[i]], env=env, stdout=subprocess.PIPE, text=True
        )
        for i in range(len(args))
    ]
    outs = [proc.communicate(timeout=600)[0].strip() for proc in procs]
    if any(proc.returncode for proc in procs):
        raise SystemExit(f"a worker failed: {outs}")
    return outs


def _enterprise(sandbox_endpoint: str, env: dict) -> str:
    # Through the gateway in a child process, as the app would sign up.
    code = """
import django
django.setup()
from urllib.parse import parse_qs, urlsplit
import http.client, re
from mamori.android import amapi
signup = amapi.signup_url_create(callback_url="http://127.0.0.1/cb")
page = urlsplit(signup["url"])
conn = http.client.HTTPConnection(page.hostname, page.port)
conn.request("POST", page.path, "organization_name=Bench", {"Content-Type": "application/x-www-form-urlencoded"})
location = conn.getresponse().getheader("Location")
token = parse_qs(urlsplit(location).query)["enterpriseToken"][0]
print(amapi.enterprise_create(signup_url_name=signup["name"], enterprise_token=token, display_name="Bench")["name"])
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def measure(label: str, database_url: str, args: argparse.Namespace) -> list[str]:
    from mamori.android.sandbox.server import SandboxServer

    var = Path(tempfile.mkdtemp(prefix="bench-amapi-"))
    server = SandboxServer(var, "127.0.0.1", 0).start()
    server.store.limits_set(quota=args.quota, quota_window=args.window)
    env = _env(database_url, server.endpoint, str(server.key_file), args.quota, args.window)
    subprocess.run([sys.executable, "-m", "mamori.cli", "migrate", "-v", "0"], env=env, check=True)
    enterprise = _enterprise(server.endpoint, env)
    server.app.log.clear()
    deadline = time.time() + args.windows * args.window
    made = _run(env, WORKER, (enterprise, "1", str(deadline)), (enterprise, "2", str(deadline)))
    seen = [s for s in server.app.log if s.path.startswith("/v1/enterprises/")]
    times = sorted(s.time for s in seen)
    refused = sum(1 for s in seen if s.status == 429)
    aligned: dict[int, int] = {}
    for at in times:
        aligned[int(at // args.window)] = aligned.get(int(at // args.window), 0) + 1
    sliding = max(sum(1 for t in times if s <= t < s + args.window) for s in times)
    budget_rate = int(args.quota * 0.9) / args.window
    rate = sum(int(m) for m in made) / (args.windows * args.window)
    big = _env(database_url, server.endpoint, str(server.key_file), 10**9, args.window)
    costs = _run(big, ACQUIRER, (str(args.acquires), "1"), (str(args.acquires), "2"))
    server.stop()
    return [
        f"| {label} | {args.quota}/{args.window:g} s | {budget_rate:.2f} | {rate:.2f} | "
        f"{rate / budget_rate:.0%} | {max(aligned.values())} / {int(args.quota * 0.9)} | "
        f"{sliding} / {args.quota} | {refused} | "
        f"{sum(float(c) for c in costs) / 2:.2f} |"
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.amapi_limiter")
    parser.add_argument("--quota", type=int, default=100, help="queries per window (scaled)")
    parser.add_argument("--window", type=float, default=10.0, help="window seconds (scaled)")
    parser.add_argument("--windows", type=int, default=3, help="windows to run the workers")
    parser.add_argument("--acquires", type=int, default=500, help="acquisitions per process")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamori.settings")
    os.environ.setdefault("MAMORI_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("MAMORI_ENV_FILE", "")
    rows = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "",
        "| database | quota | budget calls/s | achieved calls/s | of budget | max per window "
        "(aligned) / budget | max per window (sliding) / quota | sandbox 429s | "
        "ms per acquire (2 processes) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    sqlite = f"sqlite:///{tempfile.mkdtemp(prefix='bench-amapi-db-')}/bench.sqlite3"
    rows += measure("SQLite", sqlite, args)
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgres"):
        rows += measure("PostgreSQL", _postgres_url(base, "mamori_bench_amapi"), args)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
