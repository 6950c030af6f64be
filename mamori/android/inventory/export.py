"""Devices as CSV: UTF-8 with BOM (Excel opens Japanese correctly), times in the viewer's
timezone with their offset, streamed ``BATCH`` rows a chunk (``core.spreadsheet.csv_chunks``).
The same columns as the list, in the list's filters, as the Users export does it."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from mamori.android.inventory.selectors import (
    ROW_COLUMNS,
    DeviceQuery,
    compliance_code,
    compliance_labels,
    device_order,
    devices_filtered,
    devices_ordered,
)
from mamori.android.models import DeviceKind, DeviceState, SecurityPosture
from mamori.core.access import Principal
from mamori.core.spreadsheet import CSV_BATCH, cell_protect, csv_chunks
from mamori.directory.models import Organization

BATCH = CSV_BATCH

COLUMNS = (*ROW_COLUMNS, "user__employee_code")


def _header() -> list[str]:
    return [
        _("ID"),
        _("Device name"),
        _("Serial number"),
        _("User"),
        _("Employee code"),
        _("Organization"),
        _("Model"),
        _("Android version"),
        _("Security patch level"),
        _("Device kind"),
        _("State"),
        _("Policy compliance"),
        _("Security posture"),
        _("Battery"),
        _("Applied profile version"),
        _("Last status report"),
        _("Enrolled at"),
        _("Note"),
    ]


def _organization_paths(contract_id: int) -> dict[int, str]:
    """Every organization's path of names from the top ("ACME / 営業部 / 東京")."""
    rows = list(
        Organization.objects.filter(contract_id=contract_id).values_list("id", "name", "path")
    )
    names = {pk: name for pk, name, _path in rows}
    return {
        pk: " / ".join(names.get(int(i), "?") for i in path.strip("/").split("/"))
        for pk, _name, path in rows
    }


def devices_csv_chunks(account: Principal, query: DeviceQuery) -> Iterator[bytes]:
    """The devices the account may see that match ``query``, in its order, as CSV chunks."""
    zone = zoneinfo.ZoneInfo(account.timezone)
    paths = _organization_paths(account.contract_id)
    kinds = {k: str(v) for k, v in DeviceKind.choices}
    states = {k: str(v) for k, v in DeviceState.choices}
    postures = {k: str(v) for k, v in SecurityPosture.choices}
    compliance = compliance_labels()
    devices = devices_ordered(devices_filtered(account, query), device_order(query.sort))

    def when(value: Any) -> str:
        """An aware time in the reader's timezone with its offset; "" for none."""

        return value.astimezone(zone).isoformat(timespec="seconds") if value else ""

    def row(r: dict[str, Any]) -> list[Any]:
        return [
            r["id"],
            r["name"],
            cell_protect(r["serial_number"]),
            cell_protect(r["user__name"] or ""),
            cell_protect(r["user__employee_code"] or ""),
            cell_protect(paths.get(r["organization_id"], "")),
            cell_protect(r["model"]),
            r["android_version"],
            r["security_patch_level"],
            kinds.get(r["kind"], r["kind"]),
            states.get(r["applied_state"], r["applied_state"]),
            compliance[compliance_code(r["policy_compliant"])],
            postures.get(r["security_posture"], r["security_posture"]),
            "" if r["battery_level"] is None else r["battery_level"],
            "" if r["applied_policy_version"] is None else r["applied_policy_version"],
            when(r["last_status_report_at"]),
            when(r["enrolled_at"]),
            cell_protect(r["note"]),
        ]

    values = devices.values_list(*COLUMNS).iterator(chunk_size=BATCH)
    rows = (row(dict(zip(COLUMNS, v, strict=True))) for v in values)
    return csv_chunks(_header(), rows, batch=BATCH)
