"""``python -m bench.production``: nginx → 2 web processes → PostgreSQL under a realistic mix
(issue 11, "Load"), with granian (``mamori serve``) or gunicorn behind the same nginx.

Data (made once, ``--url``): ``bench.users``' contract (``--users`` users in 50 organizations;
its administrator logs in) with an enterprise of ``--devices`` devices (``bench.alerts``' SQL).
Each server in ``--servers`` (default: granian and gunicorn, one after the other), two processes
of one worker and 8 threads each on loopback ports, nginx in front with the repository's
``deploy/nginx/mamori.conf``, one ``mamori worker`` applying what is pushed:

1. **Ceiling**: ``GET /healthz`` (no database) through nginx, 8 connections in a closed loop for
   10 s: the most the stack answers, and its CPU per request.
2. **Mix** for ``--seconds`` (60): two administrators browsing in a closed loop (Devices list,
   Users list, Logs, Alerts, a device's page), an API client paging ``/api/v1/devices`` (100 a
   page) in a closed loop, and the Pub/Sub push stream (STATUS_REPORTs of random devices,
   ``--push-rate`` a second, open loop).

Printed: per route, requests, errors (any status that is not 2xx or 3xx), p50 and p99 in ms;
then the total rate, and the CPU of the web processes per request (utime + stime of their
process groups, over the phase) beside the ceiling's. The machine's facts head the output
(``bench/README.md`` keeps the tables).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import database, users
from bench.measure import percentile, sql_connection
from bench.nginx import nginx_start
from bench.report import facts_table, machine_facts
from bench.web import PROJECT_ROOT, Client, _free_port

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench_production"
SECRET = "bench-production-push-secret-0123456789"
VAR = PROJECT_ROOT / "var" / "bench-production"


def fill(user_count: int, device_count: int) -> dict[str, Any]:
    """The contract, its enterprise and devices, and an API token; made when missing."""
    from django.db import connection

    from bench.alerts import devices_insert
    from mamori.accounts.models import Account
    from mamori.accounts.services.tokens import api_token_create
    from mamori.android.models import Device, Enterprise
    from mamori.core.actor import Actor
    from mamori.directory.models import Organization

    contract_id = users.fill(user_count, 50, 3)
    enterprise, _ = Enterprise.objects.get_or_create(
        contract_id=contract_id, defaults={"name": "enterprises/LCprod", "display_name": "Prod"}
    )
    root = Organization.objects.get(contract_id=contract_id, parent=None)
    have = Device.objects.filter(contract_id=contract_id).count()
    if have < device_count:
        print(f"inserting {device_count - have:,} devices", flush=True)
        with connection.cursor() as cursor:
            devices_insert(cursor, enterprise, root.pk, have + 1, device_count)
            cursor.execute("VACUUM ANALYZE android_device")
    admin = Account.objects.get(contract_id=contract_id, name=users.ACCOUNT)
    _, token = api_token_create(
        actor=Actor.operator(), account=admin, name="bench", expires_in_days=1
    )
    ids = list(Device.objects.filter(contract_id=contract_id).values_list("pk", flat=True)[:2000])
    return {"token": token, "enterprise": enterprise.name, "devices": ids, "count": device_count}


def environment(url: str) -> dict[str, str]:
    database.bench_environment()
    return {
        **os.environ,
        "MAMORI_ENV_FILE": "",
        "DATABASE_URL": url,
        "MAMORI_DEBUG": "0",
        "MAMORI_LOG_LEVEL": "WARNING",
        "MAMORI_PUBSUB_PUSH_SECRET": SECRET,
        "MAMORI_PUBSUB_AUDIENCE": "",
        "MAMORI_METRICS_DIR": str(VAR / "metrics"),
        "MAMORI_VAR_DIR": str(VAR),
    }


def web_start(server: str, env: dict[str, str], port: int) -> subprocess.Popen:
    """One web process of one worker and 8 threads on ``port``, in a process group of its own."""
    if server == "granian":
        command = [str(Path(sys.executable).with_name("mamori")), "serve", "--bind",
                   f"127.0.0.1:{port}", "--workers", "1", "--threads", "8"]  # fmt: skip
    else:
        command = [str(Path(sys.executable).with_name("gunicorn")), "mamori.wsgi:application",
                   "--worker-class", "gthread", "--workers", "1", "--threads", "8",
                   "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(VAR / f"{server}-{port}.log", "ab"),
        start_new_session=True,
    )


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def group_cpu(pgids: list[int]) -> float:
    """CPU seconds (user + system) used so far by every process of the process groups."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Recorder:
    """Latencies and errors per route, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.why: dict[str, set[str]] = defaultdict(set)  # the errors' kinds, to print

    def timed(self, route: str, action: Any) -> Any:
        started = time.perf_counter()
        try:
            result = action()
        except (urllib.error.HTTPError, OSError) as exc:
            with self.lock:
                self.errors[route] += 1
                self.why[route].add(
                    f"HTTP {exc.code}"
                    if isinstance(exc, urllib.error.HTTPError)
                    else repr(exc)[:80]
                )
                self.times[route].append((time.perf_counter() - started) * 1000)
            return None
        with self.lock:
            self.times[route].append((time.perf_counter() - started) * 1000)
        return result


def push_body(device_name: str) -> bytes:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    resource = {
        "name": device_name,
        "managementMode": "DEVICE_OWNER",
        "state": "ACTIVE",
        "appliedState": "ACTIVE",
        "policyCompliant": True,
        "lastStatusReportTime": now,
        "hardwareInfo": {"brand": "Google", "model": "Pixel 8", "serialNumber": "SN"},
        "softwareInfo": {"androidVersion": "15", "securityPatchLevel": "2026-10-05"},
        "batteryLevel": random.randint(5, 100),
    }
    data = base64.b64encode(json.dumps(resource).encode()).decode()
    message_id = str(random.getrandbits(60))
    return json.dumps(
        {
            "message": {"attributes": {"notificationType": "STATUS_REPORT"}, "data": data,
                        "messageId": message_id, "publishTime": now},
            "subscription": "projects/bench/subscriptions/mamori",
        }
    ).encode()  # fmt: skip


def mix(base: str, data: dict[str, Any], seconds: float, push_rate: float) -> Recorder:
    """The mix (see the module) for ``seconds``; what each route answered."""
    record = Recorder()
    stop = time.monotonic() + seconds
    domain = users.DOMAIN

    def admin() -> None:
        client = Client(base)
        client.login(domain, users.ACCOUNT, users.PASSWORD)
        pages = [("devices list", f"/{domain}/devices/"), ("users list", f"/{domain}/users/"),
                 ("logs", f"/{domain}/logs/"), ("alerts", f"/{domain}/devices/alerts/")]  # fmt: skip
        for route, path in itertools.cycle([*pages, ("device page", "")]):
            if time.monotonic() > stop:
                return
            if route == "device page":
                path = f"/{domain}/devices/{random.choice(data['devices'])}/"
            record.timed(route, lambda path=path: client.get(path))

    def api() -> None:
        after = ""
        while time.monotonic() < stop:
            query = f"?limit=100&after={after}" if after else "?limit=100"
            request = urllib.request.Request(
                f"{base}/api/v1/devices{query}",
                headers={"Authorization": f"Bearer {data['token']}"},
            )

            def page(request: urllib.request.Request = request) -> Any:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.loads(response.read())

            body = record.timed("api devices page", page)
            after = (body or {}).get("next_cursor") or ""

    def push() -> None:
        gap = 1 / push_rate
        due = time.monotonic()
        url = f"{base}/pubsub/amapi/{SECRET}"
        while due < stop:
            time.sleep(max(0.0, due - time.monotonic()))
            name = f"{data['enterprise']}/devices/{random.randint(1, data['count'])}"
            request = urllib.request.Request(
                url, data=push_body(name), headers={"Content-Type": "application/json"},
                method="POST",
            )  # fmt: skip
            threading.Thread(
                target=record.timed,
                args=(
                    "pubsub push",
                    lambda r=request: urllib.request.urlopen(r, timeout=30).read(),
                ),
                daemon=True,
            ).start()
            due += gap

    threads = [threading.Thread(target=f) for f in (admin, admin, api, push)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1)  # the last pushes' answers
    return record


def ceiling(base: str, seconds: float = 10, connections: int = 8) -> Recorder:
    record = Recorder()
    stop = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop:
            record.timed("ceiling /healthz", lambda: urllib.request.urlopen(
                f"{base}/healthz", timeout=30).read())  # fmt: skip

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return record


def table(server: str, phases: list[tuple[Recorder, float, float]]) -> str:
    lines = [f"\n### {server}\n", "| route | requests | errors | req/s | p50 ms | p99 ms | "
             "web CPU ms/request |", "|---|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for record, seconds, cpu in phases:
        total = sum(len(t) for t in record.times.values())
        for route, times in sorted(record.times.items()):
            lines.append(f"| {route} | {len(times):,} | {record.errors[route]} | "
                         f"{len(times) / seconds:,.0f} | {percentile(times, 50):.1f} | "
                         f"{percentile(times, 99):.1f} | |")  # fmt: skip
        lines.append(f"| **all** | {total:,} | {sum(record.errors.values())} | "
                     f"{total / seconds:,.0f} | | | {cpu / max(total, 1) * 1000:.2f} |")  # fmt: skip
        lines += [f"\nerrors of {route}: {', '.join(sorted(why))}"
                  for route, why in sorted(record.why.items())]  # fmt: skip
    return "\n".join(lines)


def run_server(server: str, env: dict[str, str], data: dict[str, Any], args: Any) -> str:
    ports = [_free_port(), _free_port()]
    front = _free_port()
    webs = [web_start(server, env, port) for port in ports]
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("mamori")), "worker"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(VAR / "worker.log", "ab"),  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    proxy = nginx_start(VAR / "nginx", front, (ports[0], ports[1]))
    base = f"http://127.0.0.1:{front}"
    try:
        for port in ports:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
        wait_ready(f"{base}/readyz")
        pgids = [w.pid for w in webs]
        phases = []
        for phase in ("ceiling", "mix"):
            cpu = group_cpu(pgids)
            started = time.monotonic()
            record = (ceiling(base) if phase == "ceiling"
                      else mix(base, data, args.seconds, args.push_rate))  # fmt: skip
            phases.append((record, time.monotonic() - started, group_cpu(pgids) - cpu))
        return table(server, phases)
    finally:
        for process in (proxy, worker, *webs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.production", description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL database of its own")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--push-rate", type=float, default=100, help="pushes a second")
    parser.add_argument("--servers", default="granian,gunicorn")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    if not database.exists(args.url):
        database.create(args.url)
    database.django_setup(args.url)
    users._URL = args.url  # bench.users' fill vacuums the database it names
    data = fill(args.users, args.devices)
    env = environment(args.url)
    results = [run_server(server, env, data, args) for server in args.servers.split(",")]
    with sql_connection(args.url) as conn:
        print(facts_table("Machine", machine_facts(conn)))
    print(f"\n{args.users:,} users, {args.devices:,} devices; mix for {args.seconds:g} s, "
          f"pushes at {args.push_rate:g}/s; 2 web processes × 8 threads behind nginx")  # fmt: skip
    for result in results:
        print(result)


if __name__ == "__main__":
    main()
