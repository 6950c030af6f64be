"""USAGE_LOGS: AMAPI's ``BatchUsageLogEvents`` (``device``, ``usageLogEvents[]``) kept as
``UsageLogEvent`` rows, once per device and ``eventId``, for ``MAMORI_USAGE_LOG_RETENTION_DAYS``.

The security-relevant ones are flagged for the device page (``SECURITY_TYPES``, from the
discovery document's ``UsageLogEvent.eventType`` enum, rev. 20261104): a failed wipe, ADB
access, files pulled or pushed over ADB, a CA certificate installed, a certificate or key
integrity failure, security logging stopped, the lost-mode location and call, a user's attempt
to leave lost mode, and a failed unlock attempt (``KEYGUARD_DISMISS_AUTH_ATTEMPT`` whose
``keyguardDismissAuthAttemptEvent.success`` is false).
"""

from __future__ import annotations

import datetime
from typing import Any

from mamori.android.models import UsageLogEvent
from mamori.android.notifications.reports import timestamp

SECURITY_TYPES = frozenset(
    {
        "WIPE_FAILURE",
        "ADB_SHELL_COMMAND",
        "ADB_SHELL_INTERACTIVE",
        "FILE_PULLED",
        "FILE_PUSHED",
        "CERT_AUTHORITY_INSTALLED",
        "CERT_VALIDATION_FAILURE",
        "KEY_INTEGRITY_VIOLATION",
        "LOGGING_STOPPED",
        "LOST_MODE_LOCATION",
        "LOST_MODE_OUTGOING_PHONE_CALL",
        "STOP_LOST_MODE_USER_ATTEMPT",
    }
)
UNLOCK_ATTEMPT = "KEYGUARD_DISMISS_AUTH_ATTEMPT"
TYPE_CHARS = UsageLogEvent._meta.get_field("event_type").max_length or 60
INT64 = 2**63 - 1


def security(event_type: str, data: dict[str, Any]) -> bool:
    """Whether an event of ``event_type`` with its own object ``data`` is highlighted."""
    if event_type == UNLOCK_ATTEMPT:
        return data.get("success") is False
    return event_type in SECURITY_TYPES


def _own_object(event: dict[str, Any]) -> dict[str, Any]:
    """The event's own object (``lostModeLocationEvent``…): the one key ending in ``Event``."""
    for key, value in event.items():
        if key.endswith("Event") and isinstance(value, dict):
            return value
    return {}


def events_rows(batch: dict[str, Any], device_id: int, contract_id: int) -> list[UsageLogEvent]:
    """The rows of a ``BatchUsageLogEvents`` for device ``device_id``; events without an
    ``eventId`` or ``eventTime`` it can read are left out."""
    rows = []
    for event in batch.get("usageLogEvents") or []:
        if not isinstance(event, dict):
            continue
        try:
            event_id = int(event.get("eventId"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        when = timestamp(event.get("eventTime"))
        if when is None or not -INT64 <= event_id <= INT64:
            continue
        event_type = str(event.get("eventType") or "")[:TYPE_CHARS]
        data = _own_object(event)
        rows.append(
            UsageLogEvent(
                contract_id=contract_id,
                device_id=device_id,
                event_id=event_id,
                event_type=event_type,
                event_time=when,
                data=data,
                security=security(event_type, data),
            )
        )
    return rows


def usage_events_store(rows: list[UsageLogEvent]) -> int:
    """Insert ``rows`` (a redelivered event is skipped by the unique constraint); in the caller's
    transaction, sorted by device and event. Returns how many were given."""
    rows.sort(key=lambda row: (row.device_id, row.event_id))
    UsageLogEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def usage_events_prune(now: datetime.datetime, days: float) -> int:
    """Delete the events older than ``days``; returns how many."""
    cutoff = now - datetime.timedelta(days=days)
    deleted = 0
    while ids := list(
        UsageLogEvent.objects.filter(event_time__lt=cutoff).values_list("pk", flat=True)[:5000]
    ):
        UsageLogEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
