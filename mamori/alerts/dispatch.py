"""Telling about alert events: the mail at once and the webhooks (issue 10, points 3–4).

``events_dispatch`` is the one entry point the detector calls, in the transaction that wrote the
events; it only records durable work (outbox mail, webhook deliveries) that leaves after commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from mamori.alerts.mail import at_once_record
from mamori.alerts.models import AlertEvent
from mamori.alerts.webhooks.services import deliveries_record


def events_dispatch(events: Sequence[AlertEvent]) -> None:
    """Record the durable work that tells about ``events`` (saved ``AlertEvent`` rows of one or
    more contracts), in the caller's transaction: nothing leaves before it commits.

    - ``opened`` and ``risen`` events of a kind in the contract's ``mail_immediately``: an
      ``AlertMail`` row per support-option System administrator, gathered per recipient into
      one mail at the end of the minute (``mail.at_once_record``);
    - every event: a signed POST to each of the contract's webhooks
      (``webhooks.services.deliveries_record``).

    The daily summary reads the events itself. A fixed number of queries per call, plus one
    INSERT per webhook delivery and per recipient's work; the events' devices are read only
    for a contract with webhooks (a burst of 100,000 alerts spent half its time reloading them
    for nobody: bench.alerts).
    """
    if not events:
        return
    ordered = sorted(events, key=lambda e: (e.at, e.pk))
    at_once_record(ordered)
    deliveries_record(ordered)
