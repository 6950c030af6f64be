"""Detecting alerts (issue 10 point 1): from what android tells (``android.hooks``) and from the
periodic check (``checks.py``), in the caller's transaction.

Rules, kind by kind (levels as the issue gives them):

- ``left_management`` (important): the device is gone (a DELETED final report, or the
  reconciliation no longer finds it) and Mamori did not order it: no WIPE or
  RELINQUISH_OWNERSHIP command of the device that did not fail and was not cancelled (an
  expired one counts as ordered: the device may have acted just after Mamori stopped waiting),
  and not a "remove device" by a person. A device that left never comes back under the same
  name (ANDROID.md 2.3: DELETED is final), so this alert does not clear by itself.
- ``non_compliant`` (warning): ``policyCompliant`` false since longer than the contract's grace.
  When Mamori first sees it false a ``ComplianceWatch`` row keeps the time; it goes when the
  device reports compliant (the alert clears then).
- ``no_report`` (caution, then warning): hours since ``last_status_report_at`` (since the
  device's creation when it never reported) on the server's clock, against ``caution_hours`` and
  ``warning_hours``; a report clears it, changed thresholds move its level both ways.
- ``compromised``: POTENTIALLY_COMPROMISED important, AT_RISK warning; SECURE clears it.
- ``command_failed`` (caution): a command failed or expired; it clears when a later command of
  the same device succeeds (the device acts on commands again). A cancelled command changes
  nothing.
- ``enterprise_unbound`` (important, no device): a gateway call about the contract's enterprise
  answered 403 PERMISSION_DENIED (access revoked) or 404 on a call whose resource is the
  enterprise itself; it clears when a call for the contract succeeds again.

A removed or gone device keeps no alert but ``left_management`` open. Every change is one
``AlertEvent`` handed to ``dispatch.events_dispatch`` in the same transaction. Reading is a fixed
number of queries per call whatever the number of devices; opening relies on the partial unique
constraints: when another worker opened the same alert first, its ``IntegrityError`` (in a
savepoint) makes this worker take that alert as the open one.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mamori.alerts.dispatch import events_dispatch
from mamori.alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertSettings,
    ComplianceWatch,
)
from mamori.android.models import (
    Command,
    CommandStatus,
    CommandType,
    Device,
    DeviceState,
    SecurityPosture,
)

K = AlertKind
DEVICE_KINDS = frozenset({K.LEFT_MANAGEMENT, K.NON_COMPLIANT, K.NO_REPORT, K.COMPROMISED})
ORDERED_GONE = (CommandType.WIPE, CommandType.RELINQUISH_OWNERSHIP)
NOT_ORDERED = (CommandStatus.FAILED, CommandStatus.CANCELLED)
DETAIL_ITEMS = 20  # at most this many reasons / risks kept in an alert's details
NON_COMPLIANCE_KEYS = (
    "settingName",
    "fieldPath",
    "packageName",
    "nonComplianceReason",
    "specificNonComplianceReason",
    "installationFailureReason",
)
# Calls whose resource is the enterprise itself: a 404 there means the enterprise is gone (a 404
# of a device or an operation is about that device).
ENTERPRISE_METHODS = frozenset(
    {
        "enterprises.get",
        "enterprises.patch",
        "enterprises.devices.list",
        "enterprises.policies.list",
        "enterprises.policies.patch",
        "enterprises.enrollmentTokens.create",
        "enterprises.enrollmentTokens.list",
    }
)

Key = tuple[int, int | None, str]  # (contract, device or None, kind)
Wanted = dict[Key, tuple[int, dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Subject:
    """What alerts are about: a device (with its organization now), or a contract's enterprise."""

    contract_id: int
    device_id: int | None = None
    organization_id: int | None = None


def settings_of(contract_ids: Iterable[int]) -> dict[int, AlertSettings]:
    """Each contract's ``AlertSettings`` (an unsaved row with the defaults when it has none);
    one query."""
    ids = set(contract_ids)
    found = {s.contract_id: s for s in AlertSettings.objects.filter(contract_id__in=ids)}
    return {c: found.get(c) or AlertSettings(contract_id=c) for c in ids}


# ── Applying findings ─────────────────────────────────────────────────────────────────────────


def _event(alert: Alert, action: str, previous: int | None, now: datetime.datetime) -> AlertEvent:
    return AlertEvent(
        contract_id=alert.contract_id,
        alert=alert,
        action=action,
        level=alert.level,
        previous_level=previous,
        at=now,
    )


def _open_alerts(subjects: Sequence[Subject], kinds: Iterable[str]) -> dict[Key, Alert]:
    """The open alerts of ``subjects`` of ``kinds``, locked (primary-key order)."""
    kinds = list(kinds)
    devices = sorted({s.device_id for s in subjects if s.device_id is not None})
    contracts = sorted({s.contract_id for s in subjects if s.device_id is None})
    found: dict[Key, Alert] = {}
    queries = []
    if devices:
        queries.append(Alert.objects.filter(device_id__in=devices))
    if contracts:
        queries.append(Alert.objects.filter(contract_id__in=contracts, device__isnull=True))
    for rows in queries:
        for alert in (
            rows.filter(kind__in=kinds, cleared_at__isnull=True).select_for_update().order_by("pk")
        ):
            found[(alert.contract_id, alert.device_id, alert.kind)] = alert
    return found


def _insert(alerts: list[Alert]) -> list[Alert]:
    """Insert ``alerts``; returns those another worker had opened first (not inserted)."""
    if not alerts:
        return []
    try:
        with transaction.atomic():
            Alert.objects.bulk_create(alerts)
        return []
    except IntegrityError:
        pass
    lost = []
    for alert in alerts:
        alert.pk = None
        try:
            with transaction.atomic():
                alert.save(force_insert=True)
        except IntegrityError:
            alert.pk = None
            lost.append(alert)
    return lost


def findings_apply(
    subjects: Sequence[Subject],
    kinds: Iterable[str],
    wanted: Wanted,
    now: datetime.datetime | None = None,
) -> list[AlertEvent]:
    """Make the open alerts of ``subjects`` of ``kinds`` what ``wanted`` says (``{(contract,
    device, kind): (level, details)}``; a checked key not in it has no open alert): open,
    change level in place, update details, clear. Returns the events written (already
    dispatched)."""
    now = now or timezone.now()
    kinds = frozenset(kinds)
    open_now = _open_alerts(subjects, kinds)
    events: list[AlertEvent] = []
    changed: dict[int, tuple[Alert, set[str]]] = {}
    new: list[Alert] = []
    for subject in subjects:
        for kind in kinds:
            key = (subject.contract_id, subject.device_id, kind)
            alert, want = open_now.get(key), wanted.get(key)
            if alert is None and want is not None:
                new.append(
                    Alert(
                        contract_id=subject.contract_id,
                        device_id=subject.device_id,
                        organization_id=subject.organization_id,
                        kind=kind,
                        level=want[0],
                        details=want[1],
                        opened_at=now,
                        level_changed_at=now,
                    )
                )
            elif alert is not None and (fields := _update(alert, subject, want, now, events)):
                changed[alert.pk] = (alert, fields)
    lost = _insert(new)
    events.extend(_event(a, AlertAction.OPENED, None, now) for a in new if a.pk is not None)
    if lost:
        # Another worker opened these meanwhile (its row is committed now): take them as open.
        raced = _open_alerts([s for s in subjects if _has(s, lost)], kinds)
        for alert in lost:
            key = (alert.contract_id, alert.device_id, alert.kind)
            if key in raced:
                subject = Subject(alert.contract_id, alert.device_id, alert.organization_id)
                if fields := _update(raced[key], subject, wanted.get(key), now, events):
                    changed[raced[key].pk] = (raced[key], fields)
    _save(changed, now)
    if events:
        AlertEvent.objects.bulk_create(events)
        events_dispatch(events)
    return events


def _has(subject: Subject, alerts: list[Alert]) -> bool:
    return any(
        a.contract_id == subject.contract_id and a.device_id == subject.device_id for a in alerts
    )


def _update(
    alert: Alert,
    subject: Subject,
    want: tuple[int, dict[str, Any]] | None,
    now: datetime.datetime,
    events: list[AlertEvent],
) -> set[str]:
    """Change ``alert`` in memory toward ``want``; returns the fields to save."""
    if want is None:
        alert.cleared_at = now
        events.append(_event(alert, AlertAction.CLEARED, alert.level, now))
        return {"cleared_at"}
    level, details = want
    fields = set()
    if level != alert.level:
        previous = alert.level
        alert.level, alert.level_changed_at = level, now
        action = AlertAction.RISEN if level > previous else AlertAction.LOWERED
        events.append(_event(alert, action, previous, now))
        fields.add("level")
    if details != alert.details:
        alert.details = details
        fields.add("details")
    if subject.device_id is not None and alert.organization_id != subject.organization_id:
        alert.organization_id = subject.organization_id
        fields.add("organization")
    return fields


def _save(changed: dict[int, tuple[Alert, set[str]]], now: datetime.datetime) -> None:
    """Write the changes in a few statements: one UPDATE per value shared by many rows
    (cleared, a level, an organization), per-row values (details) in batches. Clearing 1,000
    alerts is one statement, not a CASE of 1,000 branches."""
    groups: dict[tuple[str, Any], list[int]] = {}
    details: list[Alert] = []
    for alert, fields in changed.values():
        if "cleared_at" in fields:
            groups.setdefault(("cleared_at", None), []).append(alert.pk)
            continue
        if "level" in fields:
            groups.setdefault(("level", alert.level), []).append(alert.pk)
        if "organization" in fields:
            groups.setdefault(("organization_id", alert.organization_id), []).append(alert.pk)
        if "details" in fields:
            details.append(alert)
    for (field, value), pks in sorted(groups.items(), key=lambda g: (g[0][0], str(g[0][1]))):
        values: dict[str, Any] = {field: now if field == "cleared_at" else value}
        if field == "level":
            values["level_changed_at"] = now
        Alert.objects.filter(pk__in=sorted(pks)).update(**values)
    if details:
        Alert.objects.bulk_update(details, ["details"], batch_size=100)


# ── Devices ───────────────────────────────────────────────────────────────────────────────────

FACTS = (
    "pk",
    "contract_id",
    "organization_id",
    "applied_state",
    "deleted_at",
    "policy_compliant",
    "security_posture",
    "last_status_report_at",
    "created_at",
    # The device's ComplianceWatch, joined: no query of its own per batch.
    "alert_watch__since",
    "alert_watch__due_at",
    "alert_watch__alerted",
)


def no_report_level(
    last: datetime.datetime | None, settings: AlertSettings, now: datetime.datetime
) -> int | None:
    """The ``no_report`` level of a device whose newest report (else creation) is ``last``."""
    if last is None:
        return None
    hours = (now - last).total_seconds() / 3600
    if hours >= settings.warning_hours:
        return AlertLevel.WARNING
    if hours >= settings.caution_hours:
        return AlertLevel.CAUTION
    return None


def _compliance_details(report: Any) -> dict[str, Any]:
    details = []
    for item in (report or [])[:DETAIL_ITEMS] if isinstance(report, list) else []:
        if isinstance(item, Mapping):
            details.append(
                {k: str(item[k])[:200] for k in NON_COMPLIANCE_KEYS if item.get(k) is not None}
            )
    return {"nonComplianceDetails": details}


def _posture_details(posture: Any) -> dict[str, Any]:
    risks = []
    items = posture.get("postureDetails") if isinstance(posture, Mapping) else None
    for item in (items or [])[:DETAIL_ITEMS] if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        advice = [
            {
                "defaultMessage": str(a.get("defaultMessage") or "")[:500],
                "localizedMessages": {
                    str(k)[:10]: str(v)[:500]
                    for k, v in list((a.get("localizedMessages") or {}).items())[:10]
                }
                if isinstance(a.get("localizedMessages"), Mapping)
                else {},
            }
            for a in (item.get("advice") or [])[:5]
            if isinstance(a, Mapping)
        ]
        risks.append({"securityRisk": str(item.get("securityRisk") or "")[:60], "advice": advice})
    return {"postureDetails": risks}


def _reports(device_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The report parts the details need, only for the devices that need them (one query)."""
    if not device_ids:
        return {}
    return {
        row["pk"]: dict(row)
        for row in Device.objects.filter(pk__in=device_ids).values(
            "pk", "report__nonComplianceDetails", "report__securityPosture"
        )
    }


def _ordered_gone(device_ids: list[int]) -> set[int]:
    """The devices of ``device_ids`` Mamori told to leave (a wipe or relinquish not refused)."""
    if not device_ids:
        return set()
    return set(
        Command.objects.filter(device_id__in=device_ids, type__in=ORDERED_GONE)
        .exclude(status__in=NOT_ORDERED)
        .values_list("device_id", flat=True)
    )


def _watches(
    rows: list[dict[str, Any]], settings: dict[int, AlertSettings], now: datetime.datetime
) -> dict[int, ComplianceWatch]:
    """The compliance watches of ``rows``' devices after this report (read with the rows, by
    ``FACTS``' join): created for devices now not compliant, deleted for the others (a query
    each, only when there is something to write)."""
    found = {
        r["pk"]: ComplianceWatch(
            device_id=r["pk"],
            contract_id=r["contract_id"],
            since=r["alert_watch__since"],
            due_at=r["alert_watch__due_at"],
            alerted=r["alert_watch__alerted"],
        )
        for r in rows
        if r["alert_watch__since"] is not None
    }
    live = {r["pk"] for r in rows if not r["gone"] and r["policy_compliant"] is False}
    gone = sorted(set(found) - live)
    if gone:
        ComplianceWatch.objects.filter(device_id__in=gone).delete()
    missing = []
    for row in rows:
        if row["pk"] in live and row["pk"] not in found:
            grace = datetime.timedelta(
                minutes=settings[row["contract_id"]].non_compliance_grace_minutes
            )
            missing.append(
                ComplianceWatch(
                    device_id=row["pk"],
                    contract_id=row["contract_id"],
                    since=now,
                    due_at=now + grace,
                )
            )
    if missing:
        ComplianceWatch.objects.bulk_create(missing, ignore_conflicts=True)
        found.update((w.device_id, w) for w in missing)
    return {pk: w for pk, w in found.items() if pk in live}


def devices_detect(
    device_ids: Sequence[int],
    *,
    kinds: Iterable[str] = DEVICE_KINDS,
    removed_by_mamori: bool = False,
    now: datetime.datetime | None = None,
) -> list[AlertEvent]:
    """Detect ``kinds`` (device kinds) for ``device_ids`` from their rows now (the caller's
    transaction); returns the events written. ``removed_by_mamori``: a person removed them."""
    now = now or timezone.now()
    kinds = frozenset(kinds) & DEVICE_KINDS
    rows = list(Device.objects.filter(pk__in=sorted(set(device_ids))).values(*FACTS))
    if not rows or not kinds:
        return []
    settings = settings_of(r["contract_id"] for r in rows)
    for row in rows:
        row["gone"] = row["deleted_at"] is not None or row["applied_state"] == DeviceState.DELETED
    watches = _watches(rows, settings, now) if K.NON_COMPLIANT in kinds else {}
    ordered = (
        _ordered_gone([r["pk"] for r in rows if r["gone"]])
        if K.LEFT_MANAGEMENT in kinds and not removed_by_mamori
        else set()
    )
    need = [
        r["pk"]
        for r in rows
        if not r["gone"]
        and (
            (K.NON_COMPLIANT in kinds and r["pk"] in watches)
            or (K.COMPROMISED in kinds and r["security_posture"] in RISKY)
        )
    ]
    reports = _reports(need)
    wanted: Wanted = {}
    for row in rows:
        found = _device_findings(
            row,
            kinds,
            settings[row["contract_id"]],
            watches,
            reports,
            now,
            left=not removed_by_mamori and row["pk"] not in ordered,
        )
        wanted.update(((row["contract_id"], row["pk"], k), v) for k, v in found.items())
    alerted = [
        pk
        for pk, w in watches.items()
        if not w.alerted and (w.contract_id, pk, K.NON_COMPLIANT) in wanted
    ]
    if alerted:
        ComplianceWatch.objects.filter(device_id__in=alerted).update(alerted=True)
    subjects = [Subject(r["contract_id"], r["pk"], r["organization_id"]) for r in rows]
    events = findings_apply(subjects, kinds, wanted, now)
    gone = [s for s, r in zip(subjects, rows, strict=True) if r["gone"]]
    if gone and K.LEFT_MANAGEMENT in kinds:
        # A device that is gone runs no more commands: its failed ones clear with it.
        events += findings_apply(gone, {K.COMMAND_FAILED}, {}, now)
    return events


RISKY = {
    SecurityPosture.POTENTIALLY_COMPROMISED: AlertLevel.IMPORTANT,
    SecurityPosture.AT_RISK: AlertLevel.WARNING,
}


def _device_findings(
    row: dict[str, Any],
    kinds: frozenset[str],
    settings: AlertSettings,
    watches: dict[int, ComplianceWatch],
    reports: dict[int, dict[str, Any]],
    now: datetime.datetime,
    *,
    left: bool,
) -> dict[str, tuple[int, dict[str, Any]]]:
    """``{kind: (level, details)}`` of the alerts one device should have open."""
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    if row["gone"]:
        if K.LEFT_MANAGEMENT in kinds and left:
            found[K.LEFT_MANAGEMENT] = (AlertLevel.IMPORTANT, {})
        return found
    report = reports.get(row["pk"], {})
    watch = watches.get(row["pk"])
    if K.NON_COMPLIANT in kinds and watch is not None and watch.due_at <= now:
        details = _compliance_details(report.get("report__nonComplianceDetails"))
        details["since"] = watch.since.isoformat()
        found[K.NON_COMPLIANT] = (AlertLevel.WARNING, details)
    if K.COMPROMISED in kinds and row["security_posture"] in RISKY:
        details = _posture_details(report.get("report__securityPosture"))
        found[K.COMPROMISED] = (
            RISKY[row["security_posture"]],
            {"posture": row["security_posture"], **details},
        )
    if K.NO_REPORT in kinds:
        last = row["last_status_report_at"] or row["created_at"]
        silent = no_report_level(last, settings, now)
        if silent is not None:
            found[K.NO_REPORT] = (
                silent,
                {"last_status_report_at": _iso(row["last_status_report_at"])},
            )
    return found


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ── Commands and the enterprise ───────────────────────────────────────────────────────────────


def command_detect(command: Command, now: datetime.datetime | None = None) -> list[AlertEvent]:
    """``command_failed`` after ``command`` finished (see the module): failed or expired opens
    it (or refreshes its details), succeeded clears it, cancelled changes nothing."""
    if command.status not in (CommandStatus.FAILED, CommandStatus.EXPIRED, CommandStatus.SUCCEEDED):
        return []
    device = command.device
    if device.deleted_at is not None or device.applied_state == DeviceState.DELETED:
        return []
    subject = Subject(command.contract_id, command.device_id, device.organization_id)
    wanted: Wanted = {}
    if command.status != CommandStatus.SUCCEEDED:
        wanted[(command.contract_id, command.device_id, K.COMMAND_FAILED)] = (
            AlertLevel.CAUTION,
            {
                "command_id": command.pk,
                "type": command.type,
                "status": command.status,
                "error_code": command.error_code,
            },
        )
    return findings_apply([subject], {K.COMMAND_FAILED}, wanted, now)


def unbinding_error(method: str, error: Exception) -> bool:
    """Whether a gateway call's ``error`` says the enterprise is gone or access was revoked."""
    from mamori.android import amapi

    if not method.startswith("enterprises.") or method == "enterprises.create":
        return False
    if isinstance(error, amapi.AmapiNotConfigured):
        return False
    if isinstance(error, amapi.AmapiRefused) and error.code == "PERMISSION_DENIED":
        return True
    return isinstance(error, amapi.AmapiNotFound) and method in ENTERPRISE_METHODS


def enterprise_detect(
    contract_id: int, method: str, error: Exception | None, now: datetime.datetime | None = None
) -> list[AlertEvent]:
    """``enterprise_unbound`` after a gateway call for ``contract_id`` (see the module). A
    success costs one query when no such alert is open."""
    from mamori.android.models import Enterprise

    key = (contract_id, None, K.ENTERPRISE_UNBOUND)
    subject = Subject(contract_id)
    if error is None:
        if not Alert.objects.filter(
            contract_id=contract_id, device__isnull=True, kind=key[2], cleared_at__isnull=True
        ).exists():
            return []
        with transaction.atomic():
            return findings_apply([subject], {key[2]}, {}, now)
    if (
        not unbinding_error(method, error)
        or not Enterprise.objects.filter(contract_id=contract_id).exists()
    ):
        return []
    details = {
        "method": method,
        "status": getattr(error, "status", 0),
        "code": str(getattr(error, "code", ""))[:60],
    }
    with transaction.atomic():
        return findings_apply([subject], {key[2]}, {key: (AlertLevel.IMPORTANT, details)}, now)
