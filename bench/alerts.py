"""``python -m bench.alerts``: what the alerts cost at scale (issue 10), on PostgreSQL.

Data (made once in its own database, ``--url``): one contract with ``--devices`` active devices
(default 1,000,000; rows as the apply worker leaves them, without their report JSON), each last
reported within the past hour. Then, in one run, with the default thresholds (caution 24 h,
warning 72 h):

1. **Idle check**: ``alerts.check`` (``checks.alerts_check``, every minute) when no device
   crossed a threshold: the cost every worker pays each minute, whatever the fleet's size.
2. **Silent burst**: ``--silent`` devices (default 100,000) last reported 25 h ago, as after a
   carrier outage: the runs until nothing is left (each run is bounded by ``RUN_DEVICES``),
   their seconds, devices/s and the alerts opened; beside it the **floor**: the same alerts
   and their events written by two ``INSERT … SELECT`` statements (rolled back), the least
   any detector could take.
3. **Idle check with them open**, then **rise**: the same devices 73 h silent → warning.
4. **The apply path**: ``detect.devices_detect`` over one apply batch (1,000 devices, what the
   worker's ``hooks.devices_changed`` calls inside its transaction): quiet devices (nothing
   to do), and devices with an open no-report alert that report again (1,000 clearings).
   Each against the apply worker's own time for a batch (``bench/README.md``, issue 9:
   1,832 changed reports/s, i.e. ~546 ms per 1,000).

Prints markdown tables (``bench/README.md`` keeps them with the machine).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench import database
from bench.measure import percentile
from bench.report import facts_table, machine_facts

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench_alerts"
DOMAIN = "alerts-bench"
APPLY_BATCH = 1000
APPLY_MS_PER_BATCH = 1000 / 1832 * 1000  # issue 9's apply worker, changed reports (README)


def fill(devices: int) -> tuple[int, int]:
    """``(contract id, enterprise id)``, the devices inserted by SQL when missing."""
    from django.db import connection

    from mamori.android.models import Enterprise
    from mamori.contracts.models import Contract
    from mamori.core.actor import Actor
    from mamori.directory.models import Organization
    from mamori.provider.services import contract_create

    contract = Contract.objects.filter(domain=DOMAIN).first()
    if contract is None:
        contract = contract_create(
            actor=Actor.operator(),
            domain=DOMAIN,
            company_name="アラート株式会社",
            contact_name="管理 花子",
            contact_furigana="カンリ ハナコ",
            contact_email="admin@alerts-bench.example",
        )
    enterprise, _ = Enterprise.objects.get_or_create(
        contract=contract, defaults={"name": "enterprises/LCalerts", "display_name": "Alerts"}
    )
    root = Organization.objects.get(contract=contract, parent=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM android_device WHERE contract_id = %s", [contract.pk])
        have = cursor.fetchone()[0]
        if have < devices:
            print(f"inserting {devices - have:,} devices", flush=True)
            devices_insert(cursor, enterprise, root.pk, have + 1, devices)
    return contract.pk, enterprise.pk


def devices_insert(cursor: Any, enterprise: Any, root_id: int, first: int, last: int) -> None:
    """Devices ``first``..``last`` of ``enterprise`` in the organization ``root_id``, inserted by
    one SQL statement: active, compliant, reported now, without their report JSON (as the
    apply worker leaves them but for it)."""
    cursor.execute(
        """
        INSERT INTO android_device (contract_id, enterprise_id, name, organization_id,
          note, kind, management_mode, ownership, applied_state, policy_name,
          applied_policy_name, policy_compliant, security_posture, brand, manufacturer,
          model, serial_number, android_version, security_patch_level, enrolled_at,
          last_status_report_at, report_clock, report, report_digest, created_at,
          updated_at)
        SELECT %(contract)s, %(enterprise)s, %(prefix)s || n,
          %(root)s, '', 'fully_managed', 'DEVICE_OWNER', 'COMPANY_OWNED', 'ACTIVE', '',
          '', true, 'SECURE', 'Google', 'Google', 'Pixel 8', 'SN' || n, '15',
          '2026-10-05', now() - interval '30 days', now(), now(), '{}', '', now(), now()
        FROM generate_series(%(first)s, %(last)s) AS n
        """,
        {
            "contract": enterprise.contract_id,
            "enterprise": enterprise.pk,
            "prefix": f"{enterprise.name}/devices/",
            "root": root_id,
            "first": first,
            "last": last,
        },
    )


def reset(contract_id: int) -> None:
    """No alerts (nor their events, mails, deliveries); every device reported within the past hour; the walk from the start."""
    from django.db import connection

    from mamori.alerts.checks import thresholds_changed

    with connection.cursor() as cursor:
        # The bench database holds this contract alone: every alert and what refers to one.
        cursor.execute("TRUNCATE alerts_alert CASCADE")
        cursor.execute(
            "UPDATE android_device SET last_status_report_at = now() - (id %% 3600) * "
            "interval '1 second' WHERE contract_id = %s",
            [contract_id],
        )
        cursor.execute("VACUUM ANALYZE android_device")
    thresholds_changed(contract_id)


def silence(contract_id: int, count: int, hours: float) -> list[int]:
    """The first ``count`` devices last reported ``hours`` ago; their ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM android_device WHERE contract_id = %s ORDER BY id LIMIT %s",
            [contract_id, count],
        )
        ids = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            "UPDATE android_device SET last_status_report_at = now() - %s * interval '1 hour' "
            "- (id %% 600) * interval '1 second' WHERE id = ANY(%s)",
            [hours, ids],
        )
        cursor.execute("ANALYZE android_device")
    return ids


def runs_until_done() -> dict[str, Any]:
    """Run the check until a run finds nothing; runs, seconds, devices, events, longest run."""
    from mamori.alerts.checks import alerts_check

    runs, devices, events, longest = 0, 0, 0, 0.0
    start = time.perf_counter()
    while True:
        began = time.perf_counter()
        result = alerts_check()
        longest = max(longest, time.perf_counter() - began)
        runs += 1
        devices += result["devices"]
        events += result["events"]
        if not result["events"]:
            break
    return {
        "runs": runs,
        "seconds": time.perf_counter() - start,
        "devices": devices,
        "events": events,
        "longest": longest,
    }


def idle(samples: int) -> dict[str, float]:
    """p50/p95 of a run that finds nothing, in ms, and its statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mamori.alerts.checks import alerts_check

    times = []
    for _ in range(samples):
        began = time.perf_counter()
        alerts_check()
        times.append((time.perf_counter() - began) * 1000)
    with CaptureQueriesContext(connection) as captured:
        alerts_check()
    return {
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "statements": len(captured),
    }


def floor(contract_id: int, ids: list[int]) -> float:
    """Seconds to write ``ids``' no-report alerts and their events in two statements (rolled
    back): the least a detector that writes both could take."""
    from django.db import connection, transaction

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO alerts_alert (contract_id, device_id, organization_id, kind, level,
              details, opened_at, level_changed_at, cleared_at)
            SELECT contract_id, id, organization_id, 'no_report', 1, '{}', now(), now(), NULL
            FROM android_device WHERE id = ANY(%s)
            """,
            [ids],
        )
        cursor.execute(
            """
            INSERT INTO alerts_alertevent (contract_id, alert_id, action, level,
              previous_level, at)
            SELECT contract_id, id, 'opened', 1, NULL, now() FROM alerts_alert
            WHERE contract_id = %s AND kind = 'no_report'
            """,
            [contract_id],
        )
        elapsed = time.perf_counter() - began
        transaction.set_rollback(True)
    return elapsed


def apply_batches(ids: list[int], repeats: int) -> list[float]:
    """ms of ``devices_detect`` over each 1,000-device batch of ``ids`` (at most ``repeats``),
    in a transaction like the apply worker's."""
    from django.db import transaction

    from mamori.alerts.detect import devices_detect

    times = []
    for start in range(0, min(len(ids), repeats * APPLY_BATCH), APPLY_BATCH):
        batch = ids[start : start + APPLY_BATCH]
        began = time.perf_counter()
        with transaction.atomic():
            devices_detect(batch)
        times.append((time.perf_counter() - began) * 1000)
    return times


def report_again(ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE android_device SET last_status_report_at = now() WHERE id = ANY(%s)", [ids]
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL database of its own")
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--silent", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20, help="idle runs measured")
    args = parser.parse_args(argv)
    if not database.exists(args.url):
        database.create(args.url)
    database.django_setup(args.url)
    from django.db import connection

    from mamori.alerts.checks import RUN_DEVICES

    contract_id, _ = fill(args.devices)
    reset(contract_id)
    rows: list[tuple[str, str, str]] = []
    quiet = idle(args.samples)
    rows.append(("idle check, nothing crossed",
                 f"{quiet['p50']:.1f} ms (p95 {quiet['p95']:.1f})",
                 f"{quiet['statements']} statements"))  # fmt: skip

    ids = silence(contract_id, args.silent, 25)
    low = floor(contract_id, ids)  # before the detector: it writes the same alerts
    burst = runs_until_done()
    rate = burst["events"] / burst["seconds"]
    rows.append(("silent burst → caution", f"{burst['seconds']:.1f} s, {rate:,.0f} alerts/s",
                 f"{burst['events']:,} opened in {burst['runs']} runs (≤ {RUN_DEVICES:,} devices"
                 f" each), longest run {burst['longest']:.1f} s"))  # fmt: skip
    rows.append(("floor: INSERT … SELECT of the same alerts and events",
                 f"{low:.2f} s, {args.silent / low:,.0f} alerts/s",
                 f"the detector at {rate / (args.silent / low):.2f}× the floor"))  # fmt: skip
    busy = idle(args.samples)
    rows.append((f"idle check, {burst['events']:,} alerts open",
                 f"{busy['p50']:.1f} ms (p95 {busy['p95']:.1f})",
                 f"{busy['statements']} statements"))  # fmt: skip
    silence(contract_id, args.silent, 73)
    rise = runs_until_done()
    rows.append(("silent burst → warning (rise in place)",
                 f"{rise['seconds']:.1f} s, {rise['events'] / rise['seconds']:,.0f} alerts/s",
                 f"{rise['events']:,} risen in {rise['runs']} runs, longest run "
                 f"{rise['longest']:.1f} s"))  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM android_device WHERE contract_id = %s ORDER BY id DESC LIMIT %s",
            [contract_id, 10 * APPLY_BATCH],
        )
        calm = [r[0] for r in cursor.fetchall()]
    plain = apply_batches(calm, 10)
    report_again(ids[: 10 * APPLY_BATCH])
    clearing = apply_batches(ids, 10)
    for label, times in (("apply batch, 1,000 quiet devices", plain),
                         ("apply batch, 1,000 devices reporting again (clears)", clearing)):  # fmt: skip
        p50 = percentile(times, 50)
        rows.append((label, f"{p50:.0f} ms (p95 {percentile(times, 95):.0f})",
                     f"{p50 / APPLY_MS_PER_BATCH:.0%} of the apply worker's own "
                     f"{APPLY_MS_PER_BATCH:.0f} ms"))  # fmt: skip

    from bench.measure import sql_connection

    with sql_connection(args.url) as conn:
        print(facts_table("Machine", machine_facts(conn)))
    print(f"\n{args.devices:,} devices, {args.silent:,} silent\n")
    print("| case | time | notes |\n|---|--:|---|")
    for case, measured, notes in rows:
        print(f"| {case} | {measured} | {notes} |")
    reset(contract_id)


if __name__ == "__main__":
    main()
