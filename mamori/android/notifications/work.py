"""The notifications' durable work and periodic jobs, registered from ``AndroidConfig.ready()``.

- ``android.notifications.apply``: an apply run, submitted by the push that found no run
  pending (``store.push_store``) or by a run that ran out of time (``apply.inbox_run``).
- ``android.notifications.safety_net`` (every ``SAFETY_NET``): drains when a nudge was lost.
- ``android.notifications.prune`` (daily): inbox rows and rejected bodies older than
  ``INBOX_KEEP_DAYS``, usage-log events past ``MAMORI_USAGE_LOG_RETENTION_DAYS``, the walk's
  marks of deleted devices.
- ``android.commands.reconcile`` and ``android.devices.reconcile``: ``reconcile.py``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from mamori.android.notifications.apply import inbox_run, inbox_safety_net
from mamori.android.notifications.models import InboxMessage, InboxRejected, InboxState
from mamori.android.notifications.reconcile import commands_reconcile, devices_reconcile
from mamori.android.notifications.store import APPLY
from mamori.android.notifications.usage import usage_events_prune
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import Retry, periodic_job, work_handler

INBOX_KEEP_DAYS = 8  # Pub/Sub's default retention is 7 days (ANDROID.md 7): a day more
SAFETY_NET = datetime.timedelta(seconds=30)


def apply_handler(work: Work, actor: Actor) -> str:
    """The work of one apply run (``apply.inbox_run``)."""
    return inbox_run()


def safety_net_job(work: Work, actor: Actor) -> str:
    """The periodic safety net (``apply.inbox_safety_net``)."""
    return inbox_safety_net()


def _delete(rows: object) -> int:
    deleted = 0
    while ids := list(rows.values_list("pk", flat=True)[:5000]):  # type: ignore[attr-defined]
        rows.model.objects.filter(pk__in=ids).delete()  # type: ignore[attr-defined]
        deleted += len(ids)
    return deleted


def notifications_prune(now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete what is kept no longer (see the module); returns the counts per kind."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=INBOX_KEEP_DAYS)
    return {
        "inbox": _delete(
            InboxMessage.objects.filter(received_at__lt=cutoff).exclude(state=InboxState.PENDING)
        ),
        "rejected": _delete(InboxRejected.objects.filter(received_at__lt=cutoff)),
        "usage_events": usage_events_prune(now, settings.MAMORI_USAGE_LOG_RETENTION_DAYS),
    }


def prune_job(work: Work, actor: Actor) -> str:
    """The daily prune (``notifications_prune``)."""
    return ", ".join(f"{k} {v}" for k, v in notifications_prune().items())


def commands_reconcile_job(work: Work, actor: Actor) -> str:
    """The commands' reconciliation (``reconcile.commands_reconcile``)."""
    return ", ".join(f"{k} {v}" for k, v in commands_reconcile().items())


def devices_reconcile_job(work: Work, actor: Actor) -> str:
    """The devices' reconciliation (``reconcile.devices_reconcile``)."""
    return ", ".join(f"{k} {v}" for k, v in devices_reconcile().items())


def _device_every() -> datetime.timedelta:
    return datetime.timedelta(seconds=min(settings.MAMORI_DEVICE_RECONCILE_SECONDS, 60))


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    work_handler(APPLY, retry=Retry(base=2.0, cap=60.0, max_attempts=None))(apply_handler)
    periodic_job("android.notifications.safety_net", every=SAFETY_NET)(safety_net_job)
    periodic_job("android.notifications.prune", every=datetime.timedelta(days=1))(prune_job)
    periodic_job("android.commands.reconcile", every=datetime.timedelta(minutes=1))(
        commands_reconcile_job
    )
    periodic_job("android.devices.reconcile", every=_device_every)(devices_reconcile_job)
