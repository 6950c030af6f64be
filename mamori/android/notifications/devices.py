"""Applying ``Device`` resources (ENROLLMENT, STATUS_REPORT, a ``devices.list`` page) to Mamori's
devices, many at once, in the caller's transaction.

The rules (issue 9, ANDROID.md 7):

- per device, only the newest resource of a batch is applied (``winner``): the one with the
  latest clock, a STATUS_REPORT before an ENROLLMENT of the same clock — and a DELETED report
  before anything, because DELETED is final for a device name;
- a resource that repeats the row's report but for its times (``report_digest``) writes only
  the times' columns: most status reports change nothing else, and rewriting a ~10 KB ``jsonb``
  (and every index of the row) is what a report costs the database (bench/README.md);
- a resource older than the row's ``report_clock`` is not applied (at the same clock, a
  STATUS_REPORT is and an ENROLLMENT is not), and nothing is applied to a deleted device;
- a device Mamori does not have yet is created from whichever resource comes first, in the
  organization and for the user of its enrollment token (``enrollmentTokenName``, else
  ``{"mamori": public_id}`` in ``enrollmentTokenData``), or in the contract's top organization
  without a user for a token Mamori does not know; the enterprise name decides the contract;
  a one-time token is marked used; the organization's profile follows (``devices_policy_sync``);
  the system logs ``device.enrolled`` (and ``device.deleted`` when it is deleted already).

So any order of delivery, with any duplicates, ends in the state in-order delivery gives.
Rows are locked and written in primary-key order: two workers never deadlock.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import re
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mamori.android.audit_actions import AndroidAction
from mamori.android.device_policy import devices_policy_sync
from mamori.android.models import Device, DeviceState, EnrollmentToken
from mamori.android.notifications import reports
from mamori.audit.services import LogRecord, Target, TargetType
from mamori.contracts.models import Contract
from mamori.core.actor import Actor

STATUS_REPORT_RANK = 1
ENROLLMENT_RANK = 0

# The columns a report writes, with their PostgreSQL types for the VALUES list.
UPDATED: tuple[tuple[str, str], ...] = (
    ("management_mode", "varchar"),
    ("ownership", "varchar"),
    ("applied_state", "varchar"),
    ("applied_policy_name", "varchar"),
    ("applied_policy_version", "bigint"),
    ("policy_compliant", "boolean"),
    ("security_posture", "varchar"),
    ("brand", "varchar"),
    ("manufacturer", "varchar"),
    ("model", "varchar"),
    ("serial_number", "varchar"),
    ("android_version", "varchar"),
    ("security_patch_level", "varchar"),
    ("api_level", "smallint"),
    ("battery_level", "smallint"),
    ("enrolled_at", "timestamptz"),
    ("last_status_report_at", "timestamptz"),
    ("last_policy_sync_at", "timestamptz"),
    ("report_clock", "timestamptz"),
    ("report", "jsonb"),
    ("report_digest", "varchar"),
)


# The columns a report that repeats the stored one but for its times writes.
TIMES: tuple[tuple[str, str], ...] = (
    ("last_status_report_at", "timestamptz"),
    ("last_policy_sync_at", "timestamptz"),
    ("report_clock", "timestamptz"),
)
# The times a device report carries (ANDROID.md 2.3), left out of the digest.
_TIME_KEYS = ('"lastStatusReportTime"', '"lastPolicySyncTime"', '"lastPolicyComplianceReportTime"')
_TIME_VALUE = re.compile(r'\s*:\s*"[^"\\]*"')


def report_digest(text: str) -> str:
    """The digest (32 hex characters, BLAKE2b-128) of a stored report's JSON ``text`` without its
    times (each ``"key": "value"`` of ``_TIME_KEYS``): equal digests mean the reports differ at
    most in those times (or in key order or spacing, which only costs a full write).

    A quoted key inside a JSON string is escaped (``\\"``), so only real keys match. The keys
    are found with ``str.find`` (a 10 KB report is scanned in microseconds) and only their
    values matched with a pattern.
    """
    for key in _TIME_KEYS:
        start = text.find(key)
        while start >= 0:
            value = _TIME_VALUE.match(text, start + len(key))
            if value is None:
                start = text.find(key, start + len(key))
                continue
            text = text[:start] + text[value.end() :]
            start = text.find(key, start)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclasses.dataclass(frozen=True)
class EnterpriseRef:
    """An enterprise as the worker needs it: AMAPI's name, Mamori's ids."""

    id: int
    name: str
    contract_id: int


@dataclasses.dataclass
class DeviceReport:
    """One ``Device`` resource to apply: its ``clock`` and ``rank`` order it (see the module).

    ``text`` is the resource's JSON as received, stored as is when nothing must be removed from
    it (a company-owned device); None makes the report be written from ``resource``.
    """

    name: str
    enterprise: EnterpriseRef
    resource: dict[str, Any]
    clock: datetime.datetime
    rank: int
    text: str | None = None

    @property
    def deleted(self) -> bool:
        """A DELETED final report."""
        return reports.deleted(self.resource)

    def key(self) -> tuple[Any, ...]:
        """The order of reports of one device (the greatest is applied)."""
        return (self.deleted, self.clock, self.rank, self.text or "")

    def stored_report(self) -> str:
        """The JSON text kept in ``Device.report`` (IMEI, MEID, phone numbers removed for a
        personally owned device)."""
        return self._stored

    @functools.cached_property
    def _stored(self) -> str:
        if reports.personal(self.resource):
            return json.dumps(reports.stripped(self.resource), ensure_ascii=False)
        return self.text if self.text is not None else json.dumps(self.resource, ensure_ascii=False)

    @functools.cached_property
    def digest(self) -> str:
        """``report_digest`` of the stored report."""
        return report_digest(self._stored)


def winner(group: list[DeviceReport]) -> DeviceReport:
    """The report of one device that a batch applies."""
    return max(group, key=DeviceReport.key)


def newer(report: DeviceReport, clock: datetime.datetime | None, state: str) -> bool:
    """Whether ``report`` may overwrite a row at ``clock`` in ``state``."""
    if state == DeviceState.DELETED:
        return False
    if report.deleted or clock is None:
        return True
    if report.clock != clock:
        return report.clock > clock
    return report.rank >= STATUS_REPORT_RANK


@dataclasses.dataclass
class Applied:
    """What ``devices_apply`` did: devices created and updated, and the log entries to write."""

    created: list[int] = dataclasses.field(default_factory=list)
    updated: list[int] = dataclasses.field(default_factory=list)
    skipped: int = 0
    times_only: int = 0  # of ``updated``: reports that repeated the stored one but for its times
    records: list[LogRecord] = dataclasses.field(default_factory=list)


def devices_apply(items: list[DeviceReport], *, now: datetime.datetime | None = None) -> Applied:
    """Apply the newest report of each device among ``items`` (in the caller's transaction).

    Returns what changed and the log entries the caller writes last in its transaction
    (``log_records``). Raises a database error only for a failure of the database itself.
    """
    now = now or timezone.now()
    groups: dict[str, list[DeviceReport]] = defaultdict(list)
    for item in items:
        groups[item.name].append(item)
    winners = {name: winner(group) for name, group in groups.items()}
    applied = Applied()
    if not winners:
        return applied
    rows = _locked(sorted(winners))
    missing = [winners[name] for name in sorted(winners) if name not in rows]
    if missing:
        try:
            with transaction.atomic():
                _create(missing, now, applied)
        except IntegrityError:
            # Another worker created one of them meanwhile: update what it created instead.
            applied.created.clear()
            applied.records.clear()
            rows = _locked(sorted(winners))
            missing = [winners[name] for name in sorted(winners) if name not in rows]
            with transaction.atomic():
                _create(missing, now, applied)
    changes, times = [], []
    for name in sorted(winners, key=lambda n: rows[n][0] if n in rows else 0):
        if name not in rows:
            continue
        pk, clock, state, contract_id, organization_id, label, digest = rows[name]
        report = winners[name]
        if not newer(report, clock, state):
            applied.skipped += 1
            continue
        if digest and digest == report.digest:
            times.append((pk, report))
            continue
        changes.append((pk, report))
        if report.deleted:
            applied.records.append(gone_record(pk, contract_id, organization_id, label, "reported"))
    _update(changes, now)
    _times_update(times, now)
    applied.updated = sorted(pk for pk, _ in changes + times)
    applied.times_only = len(times)
    return applied


def _locked(names: list[str]) -> dict[str, tuple[Any, ...]]:
    """``{name: (pk, report_clock, applied_state, contract, organization, label,
    report_digest)}``, locked in primary-key order."""
    found = (
        Device.objects.select_for_update()
        .filter(name__in=names)
        .order_by("pk")
        .values_list(
            "name",
            "pk",
            "report_clock",
            "applied_state",
            "contract_id",
            "organization_id",
            "serial_number",
            "report_digest",
        )
    )
    return {
        name: (pk, clock, state, contract, org, serial or name.rsplit("/", 1)[-1], digest)
        for name, pk, clock, state, contract, org, serial, digest in found
    }


def _tokens(
    items: list[DeviceReport],
) -> tuple[dict[str, EnrollmentToken], dict[str, EnrollmentToken]]:
    names = {str(i.resource.get("enrollmentTokenName") or "") for i in items} - {""}
    public_ids = {reports.token_public_id(i.resource) for i in items} - {""}
    tokens = EnrollmentToken.objects.filter(name__in=names) | EnrollmentToken.objects.filter(
        public_id__in=public_ids
    )
    by_name, by_public = {}, {}
    for token in tokens.select_related("organization"):
        by_name[token.name] = token
        by_public[token.public_id] = token
    return by_name, by_public


def _token_of(
    item: DeviceReport, by_name: dict[str, EnrollmentToken], by_public: dict[str, EnrollmentToken]
) -> EnrollmentToken | None:
    token = by_name.get(str(item.resource.get("enrollmentTokenName") or ""))
    if token is None:
        token = by_public.get(reports.token_public_id(item.resource))
    # A token of another contract's enterprise never decides anything here.
    return token if token is not None and token.enterprise_id == item.enterprise.id else None


def _roots(contract_ids: set[int]) -> dict[int, tuple[int, str]]:
    from mamori.directory.models import Organization

    return {
        contract: (pk, name)
        for contract, pk, name in Organization.objects.filter(
            contract_id__in=contract_ids, parent__isnull=True
        ).values_list("contract_id", "pk", "name")
    }


def _create(items: list[DeviceReport], now: datetime.datetime, applied: Applied) -> None:
    by_name, by_public = _tokens(items)
    roots = _roots({i.enterprise.contract_id for i in items})
    devices, tokens_used, labels = [], set(), {}
    for item in items:
        token = _token_of(item, by_name, by_public)
        root = roots.get(item.enterprise.contract_id)
        if token is None and root is None:
            continue  # a contract without organizations: nothing to attach the device to
        values = reports.columns(item.resource, item.clock)
        device = Device(
            contract_id=item.enterprise.contract_id,
            enterprise_id=item.enterprise.id,
            name=item.name,
            organization_id=token.organization_id if token else root[0],  # type: ignore[index]
            user_id=token.user_id if token else None,
            token=token,
            kind=reports.kind_of(item.resource, token.allow_personal_usage if token else None),
            policy_name=reports.policy_name(item.resource, item.enterprise.name),
            report=json.loads(item.stored_report()),
            report_digest=item.digest,
            deleted_at=now if item.deleted else None,
            **values,
        )
        devices.append(device)
        labels[item.name] = (
            token.organization.name if token else root[1],  # type: ignore[index]
            f"…{token.value_tail}" if token else "",
        )
        if token is not None and token.one_time:
            tokens_used.add(token.pk)
    if not devices:
        return
    devices.sort(key=lambda d: d.name)
    Device.objects.bulk_create(devices)
    if tokens_used:
        EnrollmentToken.objects.filter(pk__in=sorted(tokens_used), used_at__isnull=True).update(
            used_at=now
        )
    by_contract: dict[int, list[int]] = defaultdict(list)
    for device in devices:
        applied.created.append(device.pk)
        by_contract[device.contract_id].append(device.pk)
        organization, token_tail = labels[device.name]
        applied.records.append(_enrolled_record(device, organization, token_tail))
        if device.deleted_at is not None:
            applied.records.append(
                gone_record(
                    device.pk, device.contract_id, device.organization_id, str(device), "reported"
                )
            )
    for contract_id, pks in by_contract.items():
        devices_policy_sync(Actor.system(), contract_id, pks)


def _contract(contract_id: int) -> Contract:
    # The log writer reads only the id; no query per entry.
    return Contract(pk=contract_id)


def _enrolled_record(device: Device, organization: str, token_tail: str) -> LogRecord:
    return LogRecord(
        contract=_contract(device.contract_id),
        actor=Actor.system(),
        action=AndroidAction.DEVICE_ENROLLED,
        target=Target(TargetType.DEVICE, device.pk, str(device)),
        after={
            "device_name": device.name,
            "organization": organization,
            "value_tail": token_tail,
            "device_kind": device.kind,
            "model": device.model,
            "serial_number": device.serial_number,
        },
        organization_id=device.organization_id,
    )


def gone_record(
    pk: int,
    contract_id: int,
    organization_id: int,
    label: str,
    how: str,
) -> LogRecord:
    """The system's ``device.deleted`` entry: ``how`` is ``reported`` (a DELETED report) or
    ``not_listed`` (missing from a complete ``devices.list`` walk)."""
    return LogRecord(
        contract=_contract(contract_id),
        actor=Actor.system(),
        action=AndroidAction.DEVICE_DELETED,
        target=Target(TargetType.DEVICE, pk, label),
        after={"how": how},
        organization_id=organization_id,
    )


def _row(pk: int, report: DeviceReport) -> list[Any]:
    values = reports.columns(report.resource, report.clock)
    values["report"] = report.stored_report()
    values["report_digest"] = report.digest
    return [pk, *(values[name] for name, _ in UPDATED)]


def _document(changes: list[tuple[int, DeviceReport]]) -> str:
    """The rows of ``_update`` as one JSON array for ``jsonb_to_recordset``: each row's columns,
    and its report spliced in as the JSON text it already is (never parsed again here)."""
    rows = []
    for pk, report in changes:
        values = reports.columns(report.resource, report.clock)
        values["id"] = pk
        values["report_digest"] = report.digest
        for name, value in values.items():
            if isinstance(value, datetime.datetime):
                values[name] = value.isoformat()
        rows.append(f'{json.dumps(values)[:-1]}, "report": {report.stored_report()}}}')
    return f"[{','.join(rows)}]"


def _times_update(changes: list[tuple[int, DeviceReport]], now: datetime.datetime) -> None:
    """Write only the ``TIMES`` columns of reports that repeat the stored one but for their
    times. PostgreSQL: one statement over ``unnest`` of one array per column."""
    if not changes:
        return
    changes.sort(key=lambda change: change[0])
    table = connection.ops.quote_name(Device._meta.db_table)
    columns = [reports.times(report.resource, report.clock) for _, report in changes]
    if connection.vendor == "postgresql":
        assigned = ", ".join(f"{name} = v.{name}" for name, _ in TIMES)
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in TIMES)
        names = ", ".join(name for name, _ in TIMES)
        sql = (
            f"UPDATE {table} AS d SET {assigned}, updated_at = %s "  # noqa: S608 - names from the model, values are parameters
            f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {names}) WHERE d.id = v.id"
        )
        params: list[Any] = [now, [pk for pk, _ in changes]]
        params += [[values[name] for values in columns] for name, _ in TIMES]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    adapt = connection.ops.adapt_datetimefield_value
    assigned = ", ".join(f"{name} = %s" for name, _ in TIMES)
    sql = f"UPDATE {table} SET {assigned}, updated_at = %s WHERE id = %s"  # noqa: S608 - as above
    rows = [
        [*(adapt(values[name]) for name, _ in TIMES), adapt(now), pk]
        for (pk, _), values in zip(changes, columns, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _update(changes: list[tuple[int, DeviceReport]], now: datetime.datetime) -> None:
    """Write the reports' columns. PostgreSQL: one statement whose rows travel as one JSON
    document (``jsonb_to_recordset``), as the operation log's writer does: a ``VALUES`` list of
    20,000 parameters cost more to build and parse than to write."""
    if not changes:
        return
    changes.sort(key=lambda change: change[0])
    table = connection.ops.quote_name(Device._meta.db_table)
    if connection.vendor == "postgresql":
        assigned = ", ".join(
            f"{name} = COALESCE(v.{name}, d.{name})"
            if name == "enrolled_at"
            else f"{name} = v.{name}"
            for name, _ in UPDATED
        )
        types = ", ".join(f"{name} {kind}" for name, kind in UPDATED)
        sql = (
            f"UPDATE {table} AS d SET {assigned}, updated_at = %s, deleted_at = CASE "  # noqa: S608 - names from the model, values are parameters
            f"WHEN v.applied_state = 'DELETED' THEN COALESCE(d.deleted_at, %s) ELSE d.deleted_at END "
            f"FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, {types}) WHERE d.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, now, _document(changes)])
        return
    adapt = connection.ops.adapt_datetimefield_value
    assigned = ", ".join(
        f"{name} = COALESCE(%s, {name})" if name == "enrolled_at" else f"{name} = %s"
        for name, _ in UPDATED
    )
    sql = (
        f"UPDATE {table} SET {assigned}, updated_at = %s, deleted_at = CASE WHEN %s "  # noqa: S608 - as above
        f"THEN COALESCE(deleted_at, %s) ELSE deleted_at END WHERE id = %s"
    )
    rows = []
    for pk, report in changes:
        row = _row(pk, report)[1:]
        row = [adapt(v) if isinstance(v, datetime.datetime) else v for v in row]
        rows.append([*row, adapt(now), report.deleted, adapt(now), pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
