"""The operation log as CSV: UTF-8 with BOM, times in the viewer's timezone with their offset."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from mamori.audit.labels import actor_name_label
from mamori.audit.registry import action_choices
from mamori.audit.registry import target_label as target_label_text
from mamori.audit.selectors import LogFilter, log_export_rows, privilege_labels
from mamori.core.access import Principal
from mamori.core.spreadsheet import CSV_BATCH, cell_protect, csv_chunks

BATCH = CSV_BATCH


def _header() -> list[str]:
    return [
        _("Time"),
        _("Actor"),
        _("Account"),
        _("Admin privilege"),
        _("IP address"),
        _("User agent"),
        _("Request ID"),
        _("Action code"),
        _("Action"),
        _("Target type"),
        _("Target ID"),
        _("Target"),
        _("Result"),
        _("Before"),
        _("After"),
        _("Entry ID"),
    ]


def _json_text(value: Any) -> str:
    # PostgreSQL hands over JSON text already; other databases give decoded values.
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def log_csv_chunks(account: Principal, log_filter: LogFilter) -> Iterator[bytes]:
    """Yield the CSV in chunks of ``BATCH`` rows, so memory stays flat whatever the size."""
    zone = zoneinfo.ZoneInfo(account.timezone)
    actions = {code: str(label) for code, label in action_choices()}
    privileges = privilege_labels()
    results = {"success": _("Success"), "failure": _("Failure")}
    rows = (
        [
            created_at.astimezone(zone).isoformat(timespec="seconds"),
            cell_protect(actor_name_label(kind, name)),
            cell_protect(account_name),
            privileges.get(privilege, privilege),
            ip or "",
            cell_protect(agent),
            cell_protect(request_id),
            action,
            actions.get(action, action),
            target_type,
            target_id,
            cell_protect(target_label_text(target_type, target_label)),
            results.get(result, result),
            _json_text(before),
            _json_text(after),
            pk,
        ]
        for (
            created_at,
            kind,
            name,
            account_name,
            privilege,
            ip,
            agent,
            request_id,
            action,
            target_type,
            target_id,
            target_label,
            result,
            before,
            after,
            pk,
        ) in log_export_rows(account, log_filter)
    )
    return csv_chunks(_header(), rows, batch=BATCH)
