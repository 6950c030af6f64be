"""Repairing what lost notifications left wrong, in the AMAPI quota's spare capacity.

Both run as periodic jobs (``work.register``). Every call goes through the gateway, so it is
counted by the deployment-wide limiter (``amapi/limiter.py``); when the limiter says Mamori's
share is in use (``QUOTA_IN_USE``), the run stops and the rest waits for the next one — a
person's command is never queued behind a reconciliation.

- **Commands** (``commands_reconcile``): a command ``sent`` more than
  ``MAMORI_COMMAND_RECONCILE_MINUTES`` ago is still open because its COMMAND notification never
  came (or has not yet). ``operations.get`` tells; its ``Operation`` goes to
  ``operation_apply`` as a notification's would. AMAPI drops operations it has finished with
  (ANDROID.md 4), so a 404 after the command's expiry means it expired (``operation_apply``
  with ``error.code`` 4); a 404 before then is looked at again later. At most ``COMMANDS_PER_RUN``
  a run; each command is looked at again after a wait that grows with its age (``CommandCheck``).
- **Devices** (``devices_reconcile``): per enterprise, one ``devices.list`` page (100 devices)
  every ``MAMORI_DEVICE_RECONCILE_SECONDS``, the page token kept between runs (``DeviceWalk``):
  100,000 devices are 1,000 calls over time. A listed device Mamori lacks is created, one whose
  report is newer is updated (``devices_apply``: the same rules as notifications); after a
  complete walk, the devices enrolled before it began and not listed in it are marked DELETED
  (``deleted_at``), each logged by the system.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from mamori.android import amapi, hooks
from mamori.android.models import Command, CommandStatus, Device, DeviceState, Enterprise
from mamori.android.notifications import reports
from mamori.android.notifications.devices import (
    ENROLLMENT_RANK,
    DeviceReport,
    EnterpriseRef,
    devices_apply,
    gone_record,
)
from mamori.android.notifications.models import CommandCheck, DeviceSeen, DeviceWalk
from mamori.audit.services import log_records

logger = logging.getLogger("mamori.android.notifications")

COMMANDS_PER_RUN = 20
WALKS_PER_RUN = 50
DEFAULT_DURATION = datetime.timedelta(minutes=10)  # Command.duration's default (ANDROID.md 2.2)
CHECK_MAX = datetime.timedelta(hours=6)


# ── Commands ──────────────────────────────────────────────────────────────────────────────────


def _check_again(command: Command, now: datetime.datetime) -> datetime.datetime:
    age = now - (command.sent_at or now)
    minimum = datetime.timedelta(minutes=settings.MAMORI_COMMAND_RECONCILE_MINUTES)
    return now + min(max(minimum, age / 4), CHECK_MAX)


def _expired(command: Command, now: datetime.datetime) -> bool:
    expires = command.expires_at or ((command.sent_at or now) + DEFAULT_DURATION)
    return now > expires


def commands_reconcile(now: datetime.datetime | None = None) -> dict[str, int]:
    """One run of the commands' reconciliation; returns counts (``checked``, ``finished``,
    ``expired``, ``open``) for the work's result."""
    from mamori.android.commands.lifecycle import DEADLINE_EXCEEDED, operation_apply

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.MAMORI_COMMAND_RECONCILE_MINUTES)
    due = CommandCheck.objects.filter(command=OuterRef("pk"), next_at__gt=now)
    commands = list(
        Command.objects.filter(status=CommandStatus.SENT, sent_at__lt=cutoff)
        .exclude(operation_name="")
        .filter(~Exists(due))
        .order_by("sent_at", "pk")[:COMMANDS_PER_RUN]
    )
    counts = {"checked": 0, "finished": 0, "expired": 0, "open": 0}
    for command in commands:
        try:
            operation = amapi.operation_get(command.operation_name, contract_id=command.contract_id)
        except amapi.AmapiNotFound:
            if _expired(command, now):
                operation_apply(
                    {
                        "name": command.operation_name,
                        "done": True,
                        "error": {"code": DEADLINE_EXCEEDED},
                    }
                )
                counts["expired"] += 1
                continue
            operation = {}
        except amapi.AmapiUnavailable as exc:
            if exc.code == "QUOTA_IN_USE":
                break  # the quota's spare capacity is used up: the next run goes on
            logger.warning("operations.get of command %s failed: %s", command.pk, exc)
            operation = {}
        except amapi.AmapiError as exc:
            logger.warning("operations.get of command %s refused: %s", command.pk, exc)
            operation = {}
        counts["checked"] += 1
        if operation.get("done"):
            operation_apply(operation)
            counts["finished"] += 1
            continue
        counts["open"] += 1
        CommandCheck.objects.update_or_create(
            command=command, defaults={"next_at": _check_again(command, now)}
        )
    return counts


# ── Devices ───────────────────────────────────────────────────────────────────────────────────


def _walks_due(now: datetime.datetime) -> list[Enterprise]:
    """Enterprises whose next page is due (a new enterprise's walk is created due)."""
    missing = Enterprise.objects.filter(device_walk__isnull=True).values_list("pk", flat=True)
    DeviceWalk.objects.bulk_create(
        [DeviceWalk(enterprise_id=pk, next_at=now) for pk in missing], ignore_conflicts=True
    )
    return list(
        Enterprise.objects.filter(device_walk__next_at__lte=now)
        .select_related("device_walk")
        .order_by("device_walk__next_at", "pk")[:WALKS_PER_RUN]
    )


def devices_reconcile(now: datetime.datetime | None = None) -> dict[str, int]:
    """One run: one ``devices.list`` page of each enterprise whose walk is due. Returns counts
    (``pages``, ``created``, ``updated``, ``deleted``)."""
    now = now or timezone.now()
    counts = {"pages": 0, "created": 0, "updated": 0, "deleted": 0}
    for enterprise in _walks_due(now):
        try:
            result = walk_step(enterprise, now)
        except amapi.AmapiUnavailable as exc:
            if exc.code == "QUOTA_IN_USE":
                break
            logger.warning("devices.list of %s failed: %s", enterprise.name, exc)
            continue
        except amapi.AmapiError as exc:
            logger.warning("devices.list of %s refused: %s", enterprise.name, exc)
            DeviceWalk.objects.filter(enterprise=enterprise).update(
                next_at=now + datetime.timedelta(seconds=settings.MAMORI_DEVICE_RECONCILE_SECONDS)
            )
            continue
        for key, value in result.items():
            counts[key] += value
    return counts


def _report(
    device: dict[str, Any], enterprise: EnterpriseRef, now: datetime.datetime
) -> DeviceReport | None:
    name = device.get("name")
    if not isinstance(name, str) or not name.startswith(f"{enterprise.name}/devices/"):
        return None
    clock = reports.timestamp(device.get("lastStatusReportTime")) or reports.timestamp(
        device.get("enrollmentTime")
    )
    return DeviceReport(
        name=name[:300],
        enterprise=enterprise,
        resource=json.loads(json.dumps(device)),
        clock=clock or now,
        # As an ENROLLMENT's: a listed device whose report Mamori has already is not rewritten.
        rank=ENROLLMENT_RANK,
    )


def walk_step(enterprise: Enterprise, now: datetime.datetime) -> dict[str, int]:
    """Fetch the walk's next page of ``enterprise`` and apply it (one AMAPI call).

    Raises ``AmapiError`` (nothing changed then).
    """
    walk = enterprise.device_walk
    token = walk.page_token or None
    devices, next_token = amapi.device_list(
        enterprise.name, page_token=token, contract_id=enterprise.contract_id
    )
    ref = EnterpriseRef(enterprise.pk, enterprise.name, enterprise.contract_id)
    items = [r for d in devices if isinstance(d, dict) and (r := _report(d, ref, now))]
    counts = {"pages": 1, "created": 0, "updated": 0, "deleted": 0}
    with transaction.atomic():
        walk = DeviceWalk.objects.select_for_update().get(pk=walk.pk)
        started = (walk.started_at if token else None) or now
        applied = devices_apply(items, now=now)
        hooks.devices_changed([*applied.created, *applied.updated])
        counts["created"], counts["updated"] = len(applied.created), len(applied.updated)
        seen = list(
            Device.objects.filter(name__in=[i.name for i in items]).values_list("pk", flat=True)
        )
        _seen(sorted(seen), started)
        records = list(applied.records)
        if next_token:
            walk.page_token, walk.started_at, walk.pages = next_token, started, walk.pages + 1
        else:
            gone, gone_records = _gone(enterprise, started, now)
            counts["deleted"] = gone
            records.extend(gone_records)
            walk.page_token, walk.started_at, walk.pages = "", None, 0
            walk.completed_at = now
        walk.next_at = now + datetime.timedelta(seconds=settings.MAMORI_DEVICE_RECONCILE_SECONDS)
        walk.save()
        log_records(records)
    return counts


def _seen(device_ids: list[int], started: datetime.datetime) -> None:
    if not device_ids:
        return
    DeviceSeen.objects.filter(device_id__in=device_ids).update(walk_started_at=started)
    known = set(
        DeviceSeen.objects.filter(device_id__in=device_ids).values_list("device_id", flat=True)
    )
    DeviceSeen.objects.bulk_create(
        [DeviceSeen(device_id=pk, walk_started_at=started) for pk in device_ids if pk not in known],
        ignore_conflicts=True,
    )


def _gone(
    enterprise: Enterprise, started: datetime.datetime, now: datetime.datetime
) -> tuple[int, list[Any]]:
    """Mark DELETED the live devices enrolled before the walk began and not listed in it."""
    listed = DeviceSeen.objects.filter(device=OuterRef("pk"), walk_started_at=started)
    gone = list(
        Device.objects.select_for_update()
        .filter(enterprise=enterprise, created_at__lt=started, deleted_at__isnull=True)
        .exclude(applied_state=DeviceState.DELETED)
        .filter(~Exists(listed))
        .filter(Q(report_clock__isnull=True) | Q(report_clock__lt=started))
        .order_by("pk")
        .values_list("pk", "contract_id", "organization_id", "serial_number", "name")
    )
    if not gone:
        return 0, []
    Device.objects.filter(pk__in=[row[0] for row in gone]).update(
        applied_state=DeviceState.DELETED, deleted_at=now, updated_at=now
    )
    hooks.devices_changed([row[0] for row in gone])
    records = [
        gone_record(
            pk, contract_id, organization_id, serial or name.rsplit("/", 1)[-1], "not_listed"
        )
        for pk, contract_id, organization_id, serial, name in gone
    ]
    return len(gone), records
