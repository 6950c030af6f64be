"""Alert rows for the tests of the alert mail, summary and webhooks, made directly (the detector
is another part of issue 10), and the accounts the support option's mail goes to."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from mamori.accounts.models import Account
from mamori.alerts.dispatch import events_dispatch
from mamori.alerts.models import Alert, AlertEvent, AlertKind, AlertLevel
from mamori.android.models import Device


def support_holder(account: Account) -> Account:
    """``account`` (a System administrator) given the support option."""
    account.support_option = True
    account.save(update_fields=["support_option"])
    return account


def alert_open(
    device: Device,
    kind: str = AlertKind.NO_REPORT,
    level: int = AlertLevel.CAUTION,
    at: datetime.datetime | None = None,
    dispatch: bool = True,
) -> tuple[Alert, AlertEvent]:
    """An alert opened on ``device`` and its ``opened`` event, dispatched as the detector does."""
    at = at or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.create(
            contract_id=device.contract_id,
            device=device,
            organization_id=device.organization_id,
            kind=kind,
            level=level,
            details={"hours": 30} if kind == AlertKind.NO_REPORT else {},
            opened_at=at,
            level_changed_at=at,
        )
        event = AlertEvent.objects.create(
            contract_id=device.contract_id, alert=alert, action="opened", level=level, at=at
        )
        if dispatch:
            events_dispatch([event])
    return alert, event


def alert_change(
    alert: Alert, action: str, level: int | None = None, at: datetime.datetime | None = None
) -> AlertEvent:
    """``alert`` risen, lowered (to ``level``) or cleared, with its event, dispatched."""
    at = at or timezone.now()
    with transaction.atomic():
        previous = alert.level
        if action == "cleared":
            alert.cleared_at = at
        else:
            alert.level = level or alert.level
            alert.level_changed_at = at
        alert.save()
        event = AlertEvent.objects.create(
            contract_id=alert.contract_id,
            alert=alert,
            action=action,
            level=alert.level,
            previous_level=previous,
            at=at,
        )
        events_dispatch([event])
    return event


def racing(work: Callable[[], object], workers: int = 2) -> list[object]:
    """Run ``work`` in ``workers`` threads released at once (each its own database connection),
    as workers racing would; each one's result, or ``repr`` of what it raised."""
    start = threading.Barrier(workers)
    outcomes: list[object] = []

    def one() -> None:
        try:
            start.wait()
            outcomes.append(work())
        except Exception as exc:  # noqa: BLE001 - reported in the caller's assertion
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
