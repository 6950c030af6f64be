"""The periodic check (``alerts.check``, every minute): what only time reveals.

- **Grace over**: ``ComplianceWatch`` rows due (index ``alert_watch_due``) → ``non_compliant``.
- **No report**: per contract, the devices whose newest report crossed ``caution_hours`` or
  ``warning_hours`` since the last run, read by keyset on ``(last_status_report_at, id)``
  (index ``device_by_report``) from where the last run stopped (``NoReportCheck``), so a run
  reads only the devices that crossed a threshold, not the whole fleet. Devices that never
  reported (measured from their creation) are few and read each run. After the thresholds
  change, the walk starts again and the open alerts are looked at once (``rescan``).

Each batch of at most ``BATCH`` devices is one transaction running ``detect.devices_detect``
(a fixed number of queries); a run stops after ``RUN_DEVICES`` devices and the next goes on, so
1,000,000 devices going silent at once are handled over a few dozen runs without long
transactions. Runs are claimed per slot by ``core.work`` (one at a time across workers); two
runs overlapping anyway only detect twice, which changes nothing the second time.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from mamori.alerts.detect import devices_detect, settings_of
from mamori.alerts.models import Alert, AlertKind, AlertLevel, ComplianceWatch, NoReportCheck
from mamori.android.models import Device, DeviceState, Enterprise

BATCH = 1000
RUN_DEVICES = 50_000
NO_REPORT = frozenset({AlertKind.NO_REPORT})


def _detect(ids: list[int], kinds: frozenset[str], now: datetime.datetime) -> int:
    with transaction.atomic():
        return len(devices_detect(ids, kinds=kinds, now=now))


def grace_check(now: datetime.datetime, budget: int) -> tuple[int, int]:
    """Open ``non_compliant`` for the watches whose grace is over; ``(devices, events)``."""
    seen = events = 0
    after: tuple[datetime.datetime, int] | None = None
    while seen < budget:
        rows = ComplianceWatch.objects.filter(alerted=False, due_at__lte=now)
        if after is not None:
            rows = rows.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], device_id__gt=after[1]))
        batch = list(
            rows.order_by("due_at", "device_id").values_list("due_at", "device_id")[:BATCH]
        )
        if not batch:
            break
        events += _detect([pk for _, pk in batch], frozenset({AlertKind.NON_COMPLIANT}), now)
        seen += len(batch)
        after = batch[-1]
    return seen, events


def _live(contract_id: int) -> QuerySet[Device]:
    return Device.objects.filter(contract_id=contract_id, deleted_at__isnull=True).exclude(
        applied_state=DeviceState.DELETED
    )


def _walk(
    check: NoReportCheck, which: str, cut: datetime.datetime, now: datetime.datetime, budget: int
) -> tuple[int, int]:
    """Devices whose report is before ``cut`` and after the ``which`` cursor (``caution`` or
    ``warning``); moves the cursor. ``(devices, events)``."""
    seen = events = 0
    while seen < budget:
        at, pk = getattr(check, f"{which}_at"), getattr(check, f"{which}_id")
        rows = _live(check.contract_id).filter(last_status_report_at__lt=cut)
        if at is not None:
            rows = rows.filter(
                Q(last_status_report_at__gt=at) | Q(last_status_report_at=at, pk__gt=pk)
            )
        batch = list(
            rows.order_by("last_status_report_at", "pk").values_list("last_status_report_at", "pk")[
                :BATCH
            ]
        )
        if not batch:
            break
        events += _detect([p for _, p in batch], NO_REPORT, now)
        seen += len(batch)
        setattr(check, f"{which}_at", batch[-1][0])
        setattr(check, f"{which}_id", batch[-1][1])
        NoReportCheck.objects.filter(pk=check.pk).update(
            **{f"{which}_at": batch[-1][0], f"{which}_id": batch[-1][1]}
        )
    return seen, events


def _never_reported(
    contract_id: int, cut: datetime.datetime, warning_cut: datetime.datetime
) -> QuerySet[Device]:
    """Devices that never reported, past a threshold and without the alert at its level."""
    open_alert = Alert.objects.filter(
        device=OuterRef("pk"), kind=AlertKind.NO_REPORT, cleared_at__isnull=True
    )
    return (
        _live(contract_id)
        .filter(last_status_report_at__isnull=True, created_at__lt=cut)
        .filter(
            ~Exists(open_alert)
            | Q(
                created_at__lt=warning_cut,
                pk__in=open_alert.filter(level=AlertLevel.CAUTION).values("device"),
            )
        )
    )


def _rescan(
    contract_id: int, caution_cut: datetime.datetime, warning_cut: datetime.datetime
) -> QuerySet[Alert]:
    """Open ``no_report`` alerts whose level the current thresholds no longer give."""
    return Alert.objects.filter(
        contract_id=contract_id, kind=AlertKind.NO_REPORT, cleared_at__isnull=True
    ).filter(
        Q(device__last_status_report_at__gte=caution_cut)
        | Q(level=AlertLevel.WARNING, device__last_status_report_at__gte=warning_cut)
        | Q(level=AlertLevel.CAUTION, device__last_status_report_at__lt=warning_cut)
    )


def _batches(ids: list[int], now: datetime.datetime) -> int:
    events = 0
    for start in range(0, len(ids), BATCH):
        events += _detect(ids[start : start + BATCH], NO_REPORT, now)
    return events


def no_report_check(contract_id: int, now: datetime.datetime, budget: int) -> tuple[int, int]:
    """One contract's no-report walk; ``(devices, events)``."""
    settings = settings_of([contract_id])[contract_id]
    caution_cut = now - datetime.timedelta(hours=settings.caution_hours)
    warning_cut = now - datetime.timedelta(hours=settings.warning_hours)
    check, _ = NoReportCheck.objects.get_or_create(contract_id=contract_id)
    seen = events = 0
    if check.rescan:
        ids = list(
            _rescan(contract_id, caution_cut, warning_cut)
            .order_by("device_id")
            .values_list("device_id", flat=True)[:budget]
        )
        events += _batches(ids, now)
        seen += len(ids)
        if len(ids) < budget:
            NoReportCheck.objects.filter(pk=contract_id).update(rescan=False)
    ids = list(
        _never_reported(contract_id, caution_cut, warning_cut)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(budget - seen, 0)]
    )
    events += _batches(ids, now)
    seen += len(ids)
    for which, cut in (("caution", caution_cut), ("warning", warning_cut)):
        more, found = _walk(check, which, cut, now, budget - seen)
        seen, events = seen + more, events + found
    return seen, events


def alerts_check(now: datetime.datetime | None = None, budget: int = RUN_DEVICES) -> dict[str, Any]:
    """One run of the periodic check; returns counts (``devices`` looked at, ``events``)."""
    now = now or timezone.now()
    seen, events = grace_check(now, budget)
    contracts = Enterprise.objects.order_by("contract_id").values_list("contract_id", flat=True)
    for contract_id in contracts:
        if seen >= budget:
            break
        more, found = no_report_check(contract_id, now, budget - seen)
        seen, events = seen + more, events + found
    return {"devices": seen, "events": events}


def thresholds_changed(contract_id: int) -> None:
    """Start the contract's no-report walk again (the settings service, in its transaction)."""
    NoReportCheck.objects.update_or_create(
        contract_id=contract_id,
        defaults={
            "caution_at": None,
            "caution_id": 0,
            "warning_at": None,
            "warning_id": 0,
            "rescan": True,
        },
    )
