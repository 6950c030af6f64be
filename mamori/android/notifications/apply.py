"""The apply worker: drains the inbox in batches, each batch one transaction.

A batch takes up to ``BATCH`` pending messages in arrival order (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so two workers take different batches), decodes them, applies them grouped by device
(``devices.devices_apply``: coalesced, sorted, never older than the row), records each message
applied, waiting or kept aside, writes the system's log entries last, and commits. A worker
killed in the middle loses nothing: the transaction rolls back and the messages are pending
again for the next run.

What each type does:

- ENROLLMENT, STATUS_REPORT (a ``Device``): ``devices_apply``.
- USAGE_LOGS (a ``BatchUsageLogEvents``): ``usage.usage_events_store`` for a known device; for a
  device not created yet the message waits (``WAIT``), and is kept aside after ``WAIT_MAX``.
- COMMAND (an ``Operation``): ``commands.lifecycle.operation_apply``; False (no command with
  that operation yet) makes the message wait like a USAGE_LOGS one, without blocking the rest.
- Anything else, a payload that is not JSON or names no device, an enterprise Mamori does not
  have: kept aside (state ``rejected``) with the reason, counted by ``mamori pubsub stats``.

If applying a batch fails for a reason other than the database being unreachable (a payload
the code did not foresee), the batch is applied again one message at a time, and the message
that fails is kept aside (``apply_failed``) instead of blocking the inbox.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections import Counter, defaultdict
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from mamori.android import hooks
from mamori.android.models import Device, Enterprise
from mamori.android.notifications import reports
from mamori.android.notifications.devices import (
    ENROLLMENT_RANK,
    STATUS_REPORT_RANK,
    DeviceReport,
    EnterpriseRef,
    devices_apply,
)
from mamori.android.notifications.models import InboxMessage, InboxNudge, InboxState
from mamori.android.notifications.store import apply_submit
from mamori.android.notifications.usage import events_rows, usage_events_store
from mamori.audit.services import LogRecord, log_records
from mamori.core.metrics import PUBSUB_MESSAGES

logger = logging.getLogger("mamori.android.notifications")

BATCH = 1000
RUN_SECONDS = 20.0  # a run drains this long, then hands on to a new run (other work goes first)
GRACE_SECONDS = 0.05  # after emptying the flag, a last look for a message committed meanwhile
WAIT = datetime.timedelta(seconds=30)  # a COMMAND or USAGE_LOGS waiting for its row
WAIT_MAX = datetime.timedelta(hours=1)
STALE = datetime.timedelta(minutes=2)  # a flag older than this has no live run behind it
DEVICE_TYPES = {"ENROLLMENT": ENROLLMENT_RANK, "STATUS_REPORT": STATUS_REPORT_RANK}
KNOWN_TYPES = frozenset({*DEVICE_TYPES, "USAGE_LOGS", "COMMAND"})


@dataclasses.dataclass(frozen=True)
class Message:
    """One inbox row as a batch reads it."""

    id: int
    type: str
    data: str
    publish_time: datetime.datetime | None
    received_at: datetime.datetime


@dataclasses.dataclass
class Outcome:
    """What a batch decided for its messages, and the log entries to write."""

    applied: list[int] = dataclasses.field(default_factory=list)
    waiting: list[int] = dataclasses.field(default_factory=list)
    rejected: dict[str, list[int]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    records: list[LogRecord] = dataclasses.field(default_factory=list)

    def reject(self, message: Message, reason: str) -> None:
        """Keep ``message`` aside with ``reason``."""
        self.rejected[reason].append(message.id)

    def wait(self, message: Message, now: datetime.datetime) -> None:
        """Try ``message`` again later; kept aside once it has waited ``WAIT_MAX``."""
        if now - message.received_at > WAIT_MAX:
            self.reject(
                message, "unknown_operation" if message.type == "COMMAND" else "unknown_device"
            )
        else:
            self.waiting.append(message.id)


def _enterprise_name(resource_name: Any, kind: str) -> str:
    """``enterprises/{e}`` of ``enterprises/{e}/devices/{d}[/operations/{o}]``, or ""."""
    if not isinstance(resource_name, str):
        return ""
    parts = resource_name.split("/")
    if len(parts) < 4 or parts[0] != "enterprises" or parts[2] != "devices" or not parts[3]:
        return ""
    if kind == "COMMAND" and (len(parts) != 6 or parts[4] != "operations" or not parts[5]):
        return ""
    if kind != "COMMAND" and len(parts) != 4:
        return ""
    return f"{parts[0]}/{parts[1]}"


def _decoded(
    messages: list[Message], outcome: Outcome
) -> list[tuple[Message, dict[str, Any], str]]:
    """``(message, payload, enterprise name)`` of each message that can be applied."""
    out = []
    for message in messages:
        if message.type not in KNOWN_TYPES:
            outcome.reject(message, "unknown_type")
            continue
        try:
            payload = reports.json_load(message.data)
        except ValueError:
            outcome.reject(message, "malformed")
            continue
        if not isinstance(payload, dict):
            outcome.reject(message, "malformed")
            continue
        key = "device" if message.type == "USAGE_LOGS" else "name"
        enterprise = _enterprise_name(payload.get(key), message.type)
        if not enterprise:
            outcome.reject(message, "malformed")
            continue
        out.append((message, payload, enterprise))
    return out


def _clock(message: Message, payload: dict[str, Any]) -> datetime.datetime:
    field = "enrollmentTime" if message.type == "ENROLLMENT" else "lastStatusReportTime"
    return reports.timestamp(payload.get(field)) or message.publish_time or message.received_at


def batch_apply(messages: list[Message], now: datetime.datetime) -> Outcome:
    """Apply ``messages`` (in the caller's transaction); returns what became of each."""
    outcome = Outcome()
    decoded = _decoded(messages, outcome)
    names = {enterprise for _, _, enterprise in decoded}
    enterprises = {
        name: EnterpriseRef(pk, name, contract_id)
        for pk, name, contract_id in Enterprise.objects.filter(name__in=names).values_list(
            "pk", "name", "contract_id"
        )
    }
    device_items: list[DeviceReport] = []
    usage: list[tuple[Message, dict[str, Any], EnterpriseRef]] = []
    commands: list[tuple[Message, dict[str, Any]]] = []
    for message, payload, name in decoded:
        enterprise = enterprises.get(name)
        if enterprise is None:
            outcome.reject(message, "unknown_enterprise")
        elif message.type in DEVICE_TYPES and (
            problem := reports.report_problem(payload, _clock(message, payload), message, now)
        ):
            outcome.reject(message, problem)
        elif message.type in DEVICE_TYPES:
            device_items.append(
                DeviceReport(
                    name=payload["name"],
                    enterprise=enterprise,
                    resource=payload,
                    clock=_clock(message, payload),
                    rank=DEVICE_TYPES[message.type],
                    text=None if reports.escapes_unstorable(message.data) else message.data,
                )
            )
            outcome.applied.append(message.id)
        elif message.type == "USAGE_LOGS":
            usage.append((message, payload, enterprise))
        else:
            commands.append((message, payload))
    applied = devices_apply(device_items, now=now)
    hooks.devices_changed([*applied.created, *applied.updated])
    outcome.records.extend(applied.records)
    _usage_apply(usage, outcome, now)
    _commands_apply(commands, outcome, now)
    return outcome


def _usage_apply(
    items: list[tuple[Message, dict[str, Any], EnterpriseRef]],
    outcome: Outcome,
    now: datetime.datetime,
) -> None:
    if not items:
        return
    devices = {
        name: (pk, contract_id, enterprise_id)
        for name, pk, contract_id, enterprise_id in Device.objects.filter(
            name__in={payload["device"] for _, payload, _ in items}
        ).values_list("name", "pk", "contract_id", "enterprise_id")
    }
    rows = []
    for message, payload, enterprise in items:
        found = devices.get(payload["device"])
        if found is None or found[2] != enterprise.id:
            outcome.wait(message, now)
            continue
        rows.extend(events_rows(payload, found[0], found[1]))
        outcome.applied.append(message.id)
    usage_events_store(rows)


def _commands_apply(
    items: list[tuple[Message, dict[str, Any]]], outcome: Outcome, now: datetime.datetime
) -> None:
    from mamori.android.commands.lifecycle import operation_apply

    for message, operation in items:
        if operation_apply(operation):
            outcome.applied.append(message.id)
        else:
            outcome.wait(message, now)


def _one_by_one(messages: list[Message], now: datetime.datetime) -> Outcome:
    """Apply each message on its own (after a batch failed): a failing one is kept aside."""
    outcome = Outcome()
    for message in messages:
        try:
            with transaction.atomic():
                single = batch_apply([message], now)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("notification %s could not be applied; kept aside", message.id)
            outcome.reject(message, "apply_failed")
            continue
        outcome.applied.extend(single.applied)
        outcome.waiting.extend(single.waiting)
        outcome.records.extend(single.records)
        for reason, ids in single.rejected.items():
            outcome.rejected[reason].extend(ids)
    return outcome


def _claim(limit: int, now: datetime.datetime) -> list[Message]:
    rows = (
        InboxMessage.objects.select_for_update(skip_locked=True)
        .filter(state=InboxState.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", "notification_type", "data", "publish_time", "received_at")[:limit]
    )
    return [Message(*row) for row in rows]


def outcome_record(outcome: Outcome, now: datetime.datetime) -> None:
    """Mark the batch's messages (in its transaction), then write its log entries, last."""
    if outcome.applied:
        InboxMessage.objects.filter(pk__in=sorted(outcome.applied)).update(
            state=InboxState.APPLIED, data="", applied_at=now
        )
    for reason, ids in outcome.rejected.items():
        InboxMessage.objects.filter(pk__in=sorted(ids)).update(
            state=InboxState.REJECTED, reason=reason[:60]
        )
    if outcome.waiting:
        InboxMessage.objects.filter(pk__in=sorted(outcome.waiting)).update(
            attempts=F("attempts") + 1, next_attempt_at=now + WAIT
        )
    log_records(outcome.records)


def inbox_batch(limit: int = BATCH) -> int:
    """Apply one batch of at most ``limit`` due messages, in one transaction; returns how many
    messages it took (0: none was due)."""
    now = timezone.now()
    with transaction.atomic():
        messages = _claim(limit, now)
        if not messages:
            return 0
        try:
            with transaction.atomic():
                outcome = batch_apply(messages, now)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("a batch of %d notifications failed; one at a time", len(messages))
            outcome = _one_by_one(messages, now)
        outcome_record(outcome, now)
        transaction.on_commit(lambda: outcome_count(messages, outcome))
    return len(messages)


def outcome_count(messages: list[Message], outcome: Outcome) -> None:
    """``mamori_pubsub_messages_total{type, outcome}`` for a committed batch (``core.metrics``):
    ``applied``, ``waiting`` or the reason a message was set aside; a type Google does not send
    is counted as ``other``."""
    types = {m.id: m.type if m.type in KNOWN_TYPES else "other" for m in messages}
    decided = [("applied", outcome.applied), ("waiting", outcome.waiting)]
    for label, ids in [*decided, *outcome.rejected.items()]:
        counts = Counter(types[i] for i in ids if i in types)
        for kind, count in counts.items():
            PUBSUB_MESSAGES.labels(kind, label).inc(count)


def _flag(value: datetime.datetime | None) -> None:
    updated = InboxNudge.objects.filter(pk=1).update(pending_since=value)
    if not updated:
        InboxNudge.objects.get_or_create(pk=1, defaults={"pending_since": value})


def inbox_drain(*, seconds: float = RUN_SECONDS, limit: int = BATCH) -> tuple[int, bool]:
    """Apply batches until no message is due or ``seconds`` have passed.

    Returns ``(messages taken, more)``: ``more`` is true when time ran out with messages left
    (the nudge flag is still set; the caller hands on to a new run). When the inbox is empty,
    the flag is emptied, so the next stored message nudges again.
    """
    deadline = time.monotonic() + seconds
    taken = 0
    while True:
        count = inbox_batch(limit)
        taken += count
        if count:
            if time.monotonic() > deadline:
                return taken, True
            continue
        _flag(None)
        # A message whose statement saw the flag set and committed after our last look.
        time.sleep(GRACE_SECONDS)
        if not _due_exists():
            return taken, False
        _flag(timezone.now())


def _due_exists() -> bool:
    now = timezone.now()
    return (
        InboxMessage.objects.filter(state=InboxState.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exists()
    )


def inbox_run() -> str:
    """One apply run (the nudged work): drain, and hand on to a new run when time ran out."""
    taken, more = inbox_drain()
    if more:
        with transaction.atomic():
            _flag(timezone.now())
            apply_submit()
    return f"applied {taken}" + (", more" if more else "")


def inbox_safety_net() -> str:
    """The periodic job: drain when messages are due and no run is alive (a nudge lost, a run
    that failed for good, messages whose wait is over)."""
    nudge = InboxNudge.objects.filter(pk=1).values_list("pending_since", flat=True).first()
    now = timezone.now()
    if nudge is not None and now - nudge < STALE:
        return "a run is alive"
    if not _due_exists():
        if nudge is not None:
            _flag(None)
        return "nothing due"
    _flag(now)
    return inbox_run()
