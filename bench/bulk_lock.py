"""``python -m bench.bulk_lock``: a bulk lock of 10,000 devices at AMAPI's default quota.

In a PostgreSQL database of its own (``--database-url``, dropped and made anew), with the AMAPI
sandbox serving in this process (its quota Google's default: 1,000 requests per 100 s a
project) and ``--workers`` ``mamori worker`` processes sending: contract A's administrator locks
its ``--devices`` devices as one job (``commands.services.command_job_create``); when half of
them have been sent, contract B's administrator locks B's one device (``command_issue``).
Prints how long the job took from its creation to its last command sent (bounded by the
quota at Mamori's budget of 90 %: 10,000 / 900 per 100 s ≈ 1,110 s), the rate it was sent
at, the 429s the sandbox answered, and how long B's lock waited to be sent (target ≤ 5 s).
Takes about 20 minutes: run it on its own, in the background.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import database
from bench.pubsub import enrolled_device
from bench.web import PROJECT_ROOT

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench9_lock"


def contract_with_devices(domain: str, store: object, devices: int) -> tuple[int, int]:
    """A contract bound to a new sandbox enterprise with ``devices`` devices (in both);
    ``(contract id, admin account id)``."""
    from mamori.accounts.models import Account
    from mamori.android.models import Device, Enterprise
    from mamori.android.sandbox import common, keys
    from mamori.android.sandbox.load import KINDS, devices_ensure
    from mamori.core.actor import Actor
    from mamori.directory.models import Organization
    from mamori.provider.services import contract_create

    enterprise_id = "LC0" + common.new_id(7)
    body = {
        "name": f"enterprises/{enterprise_id}",
        "enterpriseDisplayName": domain,
        "pubsubTopic": f"projects/{keys.PROJECT_ID}/topics/mamori",
        "enabledNotificationTypes": KINDS,
    }
    with store.write() as db:  # type: ignore[attr-defined]
        db.execute("INSERT INTO enterprise VALUES (?, ?)", (enterprise_id, json.dumps(body)))
    rows = devices_ensure(store, enterprise_id, devices)  # type: ignore[arg-type]
    contract = contract_create(
        actor=Actor.operator(),
        domain=domain,
        company_name=f"{domain} 株式会社",
        contact_name="管理 太郎",
        contact_furigana="カンリ タロウ",
        contact_email=f"admin@{domain}.example",
    )
    enterprise = Enterprise.objects.create(
        contract=contract, name=body["name"], display_name=domain
    )
    root = Organization.objects.get(contract=contract, parent=None)
    now = datetime.datetime.now(datetime.UTC)
    Device.objects.bulk_create(
        (enrolled_device(enterprise, root, row, now) for row in rows), batch_size=5000
    )
    admin = Account.objects.get(contract=contract, name="admin")
    return contract.pk, admin.pk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_lock", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    url = args.database_url
    database.drop(url)
    database.create(url)

    from mamori.android.sandbox.server import SandboxServer

    var = Path(tempfile.mkdtemp(prefix="bench-bulk-lock-"))
    sandbox = SandboxServer(var, "127.0.0.1", 0).start()
    sandbox.store.limits_set(quota=1000, quota_window=100)
    env = {
        "MAMORI_ENV_FILE": "",
        "MAMORI_AMAPI_ENDPOINT": sandbox.endpoint,
        "MAMORI_AMAPI_CREDENTIALS": str(sandbox.key_file),
        "MAMORI_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    database.django_setup(url)

    from django.db import connection

    from mamori.accounts.models import Account
    from mamori.android.commands.services import command_issue, command_job_create
    from mamori.android.models import Command, Device
    from mamori.contracts.models import Contract
    from mamori.core.actor import Actor

    a_id, a_admin = contract_with_devices("lock-a", sandbox.store, args.devices)
    b_id, b_admin = contract_with_devices("lock-b", sandbox.store, 1)
    connection.close()
    log = open(var / "worker.log", "ab")  # noqa: SIM115 - the children keep it
    mamori = Path(sys.executable).with_name("mamori")
    workers = [
        subprocess.Popen(
            [str(mamori), "worker"], cwd=PROJECT_ROOT, env={**os.environ}, stdout=log, stderr=log
        )
        for _ in range(args.workers)
    ]
    loads = [Path("/proc/loadavg").read_text().split()[0]]
    single_wait = None
    try:
        time.sleep(3)
        sandbox.app.log.clear()
        devices = Device.objects.filter(contract_id=a_id).select_related("organization")
        started = time.monotonic()
        job = command_job_create(
            actor=Actor(account=Account.objects.get(pk=a_admin)),
            contract=Contract.objects.get(pk=a_id),
            code="lock",
            devices=devices,
        )
        print(f"job {job.pk}: {args.devices:,} locks issued", flush=True)
        single = None
        while time.monotonic() - started < args.timeout:
            sent = Command.objects.filter(job=job, sent_at__isnull=False).count()
            if single is None and sent >= args.devices // 2:
                device = Device.objects.select_related("organization").get(contract_id=b_id)
                single = command_issue(
                    actor=Actor(account=Account.objects.get(pk=b_admin)),
                    device=device,
                    code="lock",
                )
                while time.monotonic() - started < args.timeout:
                    single.refresh_from_db()
                    if single.sent_at is not None:
                        break
                    time.sleep(0.1)
                single_wait = (single.sent_at - single.created_at).total_seconds()
                print(f"  contract B's lock sent {single_wait:.2f} s after it was issued")
            if sent >= args.devices:
                break
            print(
                f"  {time.monotonic() - started:6.0f} s: {sent:,} sent, load "
                f"{Path('/proc/loadavg').read_text().split()[0]}",
                flush=True,
            )
            loads.append(Path("/proc/loadavg").read_text().split()[0])
            time.sleep(30)
        first, last = (
            Command.objects.filter(job=job, sent_at__isnull=False)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            .first(),
            Command.objects.filter(job=job, sent_at__isnull=False)
            .order_by("-sent_at")
            .values_list("sent_at", flat=True)
            .first(),
        )
        sent = Command.objects.filter(job=job, sent_at__isnull=False).count()
        statuses = dict(
            Command.objects.filter(job=job)
            .values_list("status")
            .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        requests = list(sandbox.app.log)
        sandbox.stop()
    refused = sum(1 for r in requests if r.status == 429)
    took = (last - job.created_at).total_seconds() if last else float("nan")
    print(f"\nload average (1 min) during: {' → '.join(loads)}")
    print(
        "\n| devices | sent | took (job created → last sent) | first sent after | rate "
        "| sandbox requests | 429s | statuses | B's lock sent after | target |\n"
        "|--:|--:|--:|--:|--:|--:|--:|---|--:|---|"
    )
    wait = f"{single_wait:.2f} s" if single_wait is not None else "not issued"
    verdict = "pass" if single_wait is not None and single_wait <= 5 else "FAIL"
    print(
        f"| {args.devices:,} | {sent:,} | {took:,.0f} s | "
        f"{(first - job.created_at).total_seconds() if first else float('nan'):.1f} s | "
        f"{sent / took * 100:.0f} per 100 s | {len(requests):,} | {refused} | {statuses} | "
        f"{wait} | ≤ 5 s: {verdict} |"
    )


if __name__ == "__main__":
    main()
