"""The Pub/Sub push endpoint and the apply worker against their ceilings (issue 9, "Benchmark").

``python -m bench.pubsub`` makes (once) a contract whose enterprise has ``--devices`` enrolled
devices in Mamori, the same devices in a sandbox state file of its own (``var/bench-pubsub``),
then, in one run, on PostgreSQL, with granian serving the product's WSGI application with
``--server-workers`` workers, debug off, persistent connections and OIDC verification on (the
sandbox's key; its certificates served by this process at ``MAMORI_PUBSUB_CERTS_URL``):

1. **Ceiling**: ``POST /ceiling`` (``bench/pubsub_urls.py``: the public door, one indexed
   INSERT), the same bodies, the rate stepped up (``--rates``, ``--step-seconds`` each) until a
   step has an error or falls short of its rate; then ``--seconds`` at the highest good rate.
2. **Push**: ``POST /pubsub/amapi/<secret>``: STATUS_REPORT messages of the load generator
   (``mamori.android.sandbox.load``: open-loop pacing, ~6 KB of JSON a report), stepped and
   sustained the same way, ``--apply-workers`` ``mamori worker`` processes applying meanwhile.
   Then: inbox rows stored against pushes acknowledged (none lost), devices whose report of the
   sustained run was applied, and the apply lag (``applied_at - received_at`` of each message,
   p50/p99; the time from the last send to the last message applied).
3. **Apply worker alone** (workers stopped): ``--apply-reports`` reports stored in the inbox,
   drained by ``apply.inbox_drain`` in this process; against the same rows written by
   ``UPDATE … FROM (VALUES …)`` in batches of ``apply.BATCH`` sorted by id (psycopg). Twice:
   reports that changed beyond their times (a new applied policy version: the full report is
   written), then the same reports again with new times (only the times' columns are).

Prints markdown tables (``bench/README.md`` keeps them with the machine).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import database
from bench.measure import percentile
from bench.report import facts_table, machine_facts
from bench.web import PROJECT_ROOT, _free_port

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench9"
DOMAIN = "pubsub-bench"
SECRET = "bench-push-secret-0123456789"
VAR = PROJECT_ROOT / "var" / "bench-pubsub"
RATES = "300,600,900,1200,1500,1800,2100,2400"
LAG_TARGET = 5.0  # s: a push rate is sustained only if the apply worker keeps up (issue 9)


# --- data ---------------------------------------------------------------------------------


def enrolled_device(enterprise: Any, root: Any, row: Any, when: datetime.datetime) -> Any:
    """An unsaved active ``Device`` of ``enterprise`` in ``root`` for the sandbox device
    ``row``, enrolled and last reported at ``when``."""
    from mamori.android.models import Device, DeviceKind

    return Device(
        contract_id=enterprise.contract_id,
        enterprise=enterprise,
        name=f"{enterprise.name}/devices/{row['id']}",
        organization=root,
        kind=DeviceKind.FULLY_MANAGED,
        management_mode="DEVICE_OWNER",
        ownership="COMPANY_OWNED",
        applied_state="ACTIVE",
        serial_number=row["serial"],
        enrolled_at=when,
        last_status_report_at=when,
        report_clock=when,
    )


def fill(devices: int) -> tuple[int, list[Any], str]:
    """``(contract id, sandbox device rows, enterprise id)``: made when missing."""
    from django.db import connection

    from mamori.android.models import Device, Enterprise
    from mamori.android.sandbox import keys
    from mamori.android.sandbox.load import devices_ensure, enterprise_pick
    from mamori.android.sandbox.store import STATE_FILE_NAME, Store
    from mamori.contracts.models import Contract
    from mamori.core.actor import Actor
    from mamori.directory.models import Organization
    from mamori.provider.services import contract_create

    VAR.mkdir(parents=True, exist_ok=True)
    keys.key_file_write(VAR / keys.KEY_FILE_NAME, "")
    store = Store(VAR / STATE_FILE_NAME)
    enterprise_id, _ = enterprise_pick(store, None)
    rows = devices_ensure(store, enterprise_id, devices)
    contract = Contract.objects.filter(domain=DOMAIN).first()
    if contract is None:
        contract = contract_create(
            actor=Actor.operator(),
            domain=DOMAIN,
            company_name="プッシュ株式会社",
            contact_name="管理 太郎",
            contact_furigana="カンリ タロウ",
            contact_email="admin@pubsub-bench.example",
        )
    name = f"enterprises/{enterprise_id}"
    enterprise = Enterprise.objects.filter(contract=contract).first()
    if enterprise is None:
        enterprise = Enterprise.objects.create(contract=contract, name=name, display_name="Load")
    elif enterprise.name != name:
        raise SystemExit(f"the bench contract's enterprise is {enterprise.name}, not {name}")
    have = set(Device.objects.filter(contract=contract).values_list("name", flat=True))
    root = Organization.objects.get(contract=contract, parent=None)
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    missing = [
        enrolled_device(enterprise, root, row, old)
        for row in rows
        if f"{name}/devices/{row['id']}" not in have
    ]
    if missing:
        print(f"enrolling {len(missing):,} devices in Mamori", flush=True)
        Device.objects.bulk_create(missing, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE android_device")
    return contract.pk, rows, enterprise_id


# --- the certificates, the server and the workers -----------------------------------------


def certs_serve(document: bytes) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve ``document`` (Google's ``{kid: PEM}``) on loopback; its URL and the server."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/oauth2/v1/certs", server


def environment(url: str, certs_url: str, audience: str) -> dict[str, str]:
    """The server's and the workers' environment: production settings on the bench database."""
    database.bench_environment()
    from mamori.android.sandbox import keys

    return {
        **os.environ,
        "MAMORI_ENV_FILE": "",
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.pubsub_settings",
        "MAMORI_DEBUG": "0",
        "MAMORI_LOG_LEVEL": "WARNING",
        "MAMORI_PUBSUB_PUSH_SECRET": SECRET,
        "MAMORI_PUBSUB_AUDIENCE": audience,
        "MAMORI_PUBSUB_SERVICE_ACCOUNT": keys.CLIENT_EMAIL,
        "MAMORI_PUBSUB_CERTS_URL": certs_url,
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def server_start(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    """granian, WSGI, ``workers`` processes of ``threads`` blocking threads; waits for /healthz."""
    granian = Path(sys.executable).with_name("granian")
    command = [
        str(granian), "--interface", "wsgi", "--workers", str(workers),
        "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning", "mamori.wsgi:application",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(VAR / "granian.log", "ab"),  # noqa: SIM115 - the child keeps it
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"granian exited; see {VAR / 'granian.log'}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit("granian did not answer /healthz within 60 s")


def workers_start(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    """``count`` ``mamori worker`` processes (the apply runs are their durable work)."""
    mamori = Path(sys.executable).with_name("mamori")
    log = open(VAR / "worker.log", "ab")  # noqa: SIM115 - the children keep it
    return [
        subprocess.Popen([str(mamori), "worker"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the processes this bench started, then wait for them."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- load ---------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def step_up(
    label: str, send: Any, rates: list[float], step_seconds: float, refine: int = 2
) -> tuple[float, list[dict[str, Any]]]:
    """Send at each rate in turn until a step errs, falls short by more than 3 % or (when the
    result has ``lag_p99``) leaves its messages applied later than ``LAG_TARGET``, then halve
    the gap between the last good and the first bad rate ``refine`` times; the highest good
    rate and every step's result."""
    best = 0.0
    steps = []

    def step(rate: float) -> bool:
        result = send(rate, step_seconds)
        good = (
            result["errors"] == 0
            and result["rate"] >= 0.97 * rate
            and result.get("lag_p99", 0.0) <= LAG_TARGET
        )
        steps.append({"case": label, "target": rate, **result, "good": good})
        print(
            f"  {label} step {rate:>6.0f}/s: achieved {result['rate']:.0f}/s, errors "
            f"{result['errors']}, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"apply lag p99 {result.get('lag_p99', '-')} s, load {loadavg()}",
            flush=True,
        )
        return bool(good)

    failed = 0.0
    for rate in rates:
        if not step(rate):
            failed = rate
            break
        best = rate
    # Between the last good step and the first bad one: halve the gap ``refine`` times.
    for _ in range(refine if failed else 0):
        middle = round((best + failed) / 2 / 10) * 10
        if middle in (best, failed):
            break
        if step(middle):
            best = middle
        else:
            failed = middle
    return best, steps


def inbox_counts(since_id: int) -> tuple[int, int]:
    """``(rows, pending)`` of the inbox after id ``since_id``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'pending') "
            "FROM android_inboxmessage WHERE id > %s",
            [since_id],
        )
        rows, pending = cursor.fetchone()
    return int(rows), int(pending)


def inbox_last_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM android_inboxmessage")
        return int(cursor.fetchone()[0])


def drained(since_id: int, timeout: float) -> tuple[int, int, float]:
    """Wait until no message after ``since_id`` is pending; ``(rows, pending, waited s)``."""
    started = time.monotonic()
    while True:
        rows, pending = inbox_counts(since_id)
        if pending == 0 or time.monotonic() - started > timeout:
            return rows, pending, time.monotonic() - started
        time.sleep(0.2)


def lag(since_id: int) -> dict[str, float]:
    """Apply lag of the messages after ``since_id``: p50/p99 of ``applied_at - received_at``
    (s), and the last one applied after the last one was received (s)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM applied_at - received_at) FROM android_inboxmessage "
            "WHERE id > %s AND state = 'applied'",
            [since_id],
        )
        lags = [float(r[0]) for r in cursor.fetchall()]
        cursor.execute(
            "SELECT max(applied_at), max(received_at) FROM android_inboxmessage WHERE id > %s",
            [since_id],
        )
        last, received = cursor.fetchone()
    if not lags:
        return {"p50": 0.0, "p99": 0.0, "after_last_send": 0.0}
    return {
        "p50": percentile(lags, 50),
        "p99": percentile(lags, 99),
        "after_last_send": (last - received).total_seconds() if last and received else 0.0,
    }


def devices_reported(contract_id: int, since: datetime.datetime) -> int:
    """Devices of the contract whose applied report is at least as new as ``since``."""
    from mamori.android.models import Device

    return Device.objects.filter(contract_id=contract_id, last_status_report_at__gte=since).count()


# --- the apply worker alone ---------------------------------------------------------------


def inbox_fill(bodies: Any, count: int, version: int) -> list[tuple[str, str]]:
    """Store ``count`` STATUS_REPORT messages (devices 0…count-1, reported now, having applied
    policy version ``version``) as pending inbox rows, as the endpoint would; their ``(message
    id, data)``. A new ``version`` makes every report differ from the stored one beyond its
    times; the same one makes them repeat it."""
    from django.db import connection

    from mamori.android.sandbox.notify import message_id

    now = datetime.datetime.now(datetime.UTC)
    stamp = now.isoformat()
    rows = []
    for index in range(count):
        envelope = json.loads(bodies.body(index, time.time()))
        data = base64.b64decode(envelope["message"]["data"]).decode()
        versioned = data.replace(
            '"appliedPolicyVersion":"1"', f'"appliedPolicyVersion":"{version}"'
        )
        assert versioned != data, "the load's reports name applied policy version 1"
        rows.append((message_id(), versioned))
    with connection.cursor() as cursor:
        raw = cursor.connection
        with (
            raw.cursor() as copy_cursor,
            copy_cursor.copy(
                "COPY android_inboxmessage (message_id, notification_type, data, publish_time, "
                "received_at, state, reason, attempts) FROM STDIN"
            ) as copy,
        ):
            for ident, data in rows:
                copy.write_row((ident, "STATUS_REPORT", data, stamp, stamp, "pending", "", 0))
    return rows


def raw_update(
    url: str, contract_id: int, rows: list[tuple[str, str]], batch: int, *, times_only: bool
) -> float:
    """The same reports' columns written by ``UPDATE … FROM (VALUES …)`` in batches of
    ``batch`` rows sorted by id, one transaction each; the seconds the statements took. Every
    column a report sets (``devices.UPDATED``), or with ``times_only`` the times' columns
    (``devices.TIMES``): what the apply worker writes for a changed and a repeated report."""
    import psycopg

    from mamori.android.models import Device
    from mamori.android.notifications import reports
    from mamori.android.notifications.devices import TIMES, UPDATED, report_digest

    written = TIMES if times_only else UPDATED
    ids = dict(Device.objects.filter(contract_id=contract_id).values_list("name", "pk"))
    later = datetime.timedelta(seconds=1)
    values = []
    for _, data in rows:
        resource = json.loads(data)
        clock = reports.timestamp(resource.get("lastStatusReportTime")) + later
        columns = reports.columns(resource, clock)
        columns["report"] = data
        columns["report_digest"] = report_digest(data)
        values.append([ids[resource["name"]], *(columns[name] for name, _ in written)])
    values.sort(key=lambda row: row[0])
    names = [name for name, _ in written]
    assigned = ", ".join(f"{name} = v.{name}" for name in names)
    row_sql = "(%s::bigint, " + ", ".join(f"%s::{kind}" for _, kind in written) + ")"
    spent = 0.0
    with psycopg.connect(url) as conn:
        for start in range(0, len(values), batch):
            chunk = values[start : start + batch]
            sql = (
                f"UPDATE android_device AS d SET {assigned}, updated_at = now() "
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v(id, {', '.join(names)}) "
                "WHERE d.id = v.id"
            )
            params = [value for row in chunk for value in row]
            began = time.perf_counter()
            conn.execute(sql, params)
            conn.commit()
            spent += time.perf_counter() - began
    return spent


# --- the run ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pubsub", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rates", default=RATES, help="steps, reports/s, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="the sustained run")
    parser.add_argument("--threads", type=int, default=16, help="the generator's connections")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=8, help="blocking threads a worker")
    parser.add_argument("--apply-workers", type=int, default=2)
    parser.add_argument("--apply-reports", type=int, default=20_000)
    parser.add_argument("--skip", default="", help="comma-separated: ceiling,push,apply")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    url = args.database_url
    if not database.exists(url):
        database.create(url)
    database.django_setup(url)

    import psycopg

    from bench.pubsub_urls import CREATE
    from mamori.android.notifications import apply
    from mamori.android.sandbox import keys
    from mamori.android.sandbox.load import Bodies, fragments, pace
    from mamori.android.sandbox.notify import SUBSCRIPTION

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE)
        facts = machine_facts(conn)
    began = time.monotonic()
    contract_id, rows, enterprise_id = fill(args.devices)
    print(f"data ready in {time.monotonic() - began:.0f} s", flush=True)
    key = json.loads((VAR / keys.KEY_FILE_NAME).read_text())
    certs_url, certs_server = certs_serve(
        json.dumps({key["private_key_id"]: keys.certificate_pem(key)}).encode()
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    push_url = f"{base}/pubsub/amapi/{SECRET}"
    env = environment(url, certs_url, push_url)
    own, shared = fragments(rows, enterprise_id)
    bodies = Bodies(
        own,
        [row["model"] for row in rows],
        shared,
        f"projects/{keys.PROJECT_ID}/subscriptions/{SUBSCRIPTION}",
    )
    body_bytes = len(bodies.body(0, time.time()))
    token = keys.oidc_token(key, push_url)
    rates = [float(r) for r in args.rates.split(",")]
    results: list[dict[str, Any]] = []
    loads: list[str] = [loadavg()]
    server = server_start(env, port, args.server_workers, args.server_threads)
    workers: list[subprocess.Popen] = []
    push_facts: dict[str, Any] = {}
    try:
        if "ceiling" not in skip:
            print("ceiling: stepping up", flush=True)

            def ceiling(rate: float, seconds: float) -> dict[str, Any]:
                return pace(bodies, f"{base}/ceiling", token, rate, seconds, args.threads, 10.0)

            best, steps = step_up("ceiling", ceiling, rates, args.step_seconds)
            results += steps
            if best:
                loads.append(loadavg())
                sustained = ceiling(best, args.seconds)
                loads.append(loadavg())
                results.append({"case": "ceiling", "target": best, **sustained, "sustained": True})
                print(f"  ceiling sustained: {sustained}", flush=True)
        if "push" not in skip:
            workers = workers_start(env, args.apply_workers)
            print("push: stepping up", flush=True)

            def push(rate: float, seconds: float) -> dict[str, Any]:
                return pace(bodies, push_url, token, rate, seconds, args.threads, 10.0)

            def push_applied(rate: float, seconds: float) -> dict[str, Any]:
                # A step counts only if the worker applied its messages within the target.
                since = inbox_last_id()
                result = push(rate, seconds)
                if args.apply_workers:
                    drained(since, 300)
                    result["lag_p99"] = lag(since)["p99"]
                return result

            best, steps = step_up("push", push_applied, rates, args.step_seconds)
            results += steps
            # Without apply workers (the endpoint alone, for information) nothing drains.
            wait = 300 if args.apply_workers else 0
            drained(0, wait)
            if best:
                since = inbox_last_id()
                wall = datetime.datetime.now(datetime.UTC)
                loads.append(loadavg())
                sustained = push(best, args.seconds)
                loads.append(loadavg())
                results.append({"case": "push", "target": best, **sustained, "sustained": True})
                print(f"  push sustained: {sustained}", flush=True)
                stored, pending, _ = drained(since, wait)
                push_facts = {
                    "acked": sustained["acked"],
                    "stored": stored,
                    "pending": pending,
                    "devices": devices_reported(contract_id, wall),
                    **lag(since),
                }
                print(f"  push after: {push_facts}", flush=True)
        stop(workers)
        workers = []
        apply_facts: dict[str, dict[str, float]] = {}
        if "apply" not in skip:
            from django.db import connection

            count = min(args.apply_reports, len(rows))
            drained(0, 120)
            # A version no earlier run used: the first pass changes every report.
            version = int(time.time())
            for case, times_only in (("changed", False), ("repeated", True)):
                print(f"apply alone, {case}: {count:,} reports", flush=True)
                stored_rows = inbox_fill(bodies, count, version)
                loads.append(loadavg())
                started = time.perf_counter()
                taken, _ = apply.inbox_drain(seconds=3600)
                product = time.perf_counter() - started
                connection.close()
                raw = raw_update(url, contract_id, stored_rows, apply.BATCH, times_only=times_only)
                loads.append(loadavg())
                apply_facts[case] = {"reports": taken, "product_s": product, "raw_s": raw}
                print(f"  {apply_facts[case]}", flush=True)
    finally:
        stop([*workers, server])
        certs_server.shutdown()
    print()
    print(
        facts_table("Machine", [*facts, ("load average (1, 5, 15 min) during", " → ".join(loads))])
    )
    print(f"\nbody: {body_bytes:,} bytes a push; devices: {len(rows):,}; generator: {args.threads} "
          f"connections; granian {args.server_workers} workers × {args.server_threads} threads; "
          f"{args.apply_workers} apply worker(s)\n")  # fmt: skip
    print(report_table(results))
    if push_facts:
        print(push_table(push_facts, results))
    if apply_facts:
        print(apply_table(apply_facts))


def report_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | run | target/s | achieved/s | errors | p50 ms | p99 ms | apply lag p99 | "
        "generator CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        run = "sustained" if r.get("sustained") else "step"
        lag_p99 = f"{r['lag_p99']:.1f} s" if "lag_p99" in r else ""
        lines.append(
            f"| {r['case']} | {run} {r['seconds']:.0f} s | {r['target']:,.0f} | {r['rate']:,.0f} "
            f"| {r['errors']} | {r['p50_ms']} | {r['p99_ms']} | {lag_p99} | "
            f"{r['cpu_share'] * 50:.0f} % |"
        )
    ceiling = [r for r in results if r["case"] == "ceiling" and r.get("sustained")]
    push = [r for r in results if r["case"] == "push" and r.get("sustained")]
    if ceiling and push:
        ratio = push[0]["rate"] / ceiling[0]["rate"]
        lines.append(f"\npush / ceiling (sustained): **{ratio:.2f}×** (target ≥ 0.8×)")
    lines.append("\n(generator CPU: its process's CPU time over the wall time, of the 2 cores)")
    return "\n".join(lines) + "\n"


def push_table(facts: dict[str, Any], results: list[dict[str, Any]]) -> str:
    return (
        "| pushes acknowledged | inbox rows stored | still pending | devices applied | "
        "apply lag p50 | apply lag p99 | last applied after the last received |\n"
        "|--:|--:|--:|--:|--:|--:|--:|\n"
        f"| {facts['acked']:,} | {facts['stored']:,} | {facts['pending']:,} | "
        f"{facts['devices']:,} | {facts['p50']:.2f} s | {facts['p99']:.2f} s | "
        f"{facts['after_last_send']:.2f} s |\n"
    )


def apply_table(cases: dict[str, dict[str, float]]) -> str:
    lines = [
        "| reports | apply worker | reports/s | raw UPDATE … FROM (VALUES …) | rows/s | "
        "worker / raw |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for case, facts in cases.items():
        product = facts["reports"] / facts["product_s"]
        raw = facts["reports"] / facts["raw_s"]
        lines.append(
            f"| {facts['reports']:,.0f} {case} | {facts['product_s']:.2f} s | {product:,.0f} | "
            f"{facts['raw_s']:.2f} s | {raw:,.0f} | {product / raw:.2f}× |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
