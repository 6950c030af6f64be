"""Telling people about alert events: the mail at once and the webhooks (issue 10, points 3–4).

``events_dispatch`` is the one entry point the detector calls, in the transaction that wrote the
events; it only records durable work (outbox mail, webhook deliveries) that leaves after commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from mamori.alerts.models import AlertEvent


def events_dispatch(events: Sequence[AlertEvent]) -> None:
    """Record the durable work that tells about ``events`` (saved ``AlertEvent`` rows of one or
    more contracts), in the caller's transaction: nothing leaves before it commits.

    Until the mail and webhooks land this records nothing; the daily summary reads events
    itself, so none is lost by being dispatched late.
    """
    del events
