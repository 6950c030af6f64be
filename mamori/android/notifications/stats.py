"""Counting the inbox: what ``mamori pubsub stats`` prints (for a System administrator or the
service provider's operator: messages applied, pending, waiting, and kept aside with why)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from mamori.android.notifications.models import InboxMessage, InboxRejected, InboxState


def inbox_counts() -> list[tuple[str, str, int]]:
    """``[(state, reason or type, count)]``: messages per state (pending ones split into due and
    waiting, applied and pending per notification type, rejected per reason), then the bodies
    refused as no message (``rejected_body``, per reason). Kept ``INBOX_KEEP_DAYS`` days."""
    now = timezone.now()
    rows: list[tuple[str, str, int]] = []
    by_type = (
        InboxMessage.objects.exclude(state=InboxState.REJECTED)
        .values_list("state", "notification_type")
        .annotate(
            n=Count("pk"),
            waiting=Count("pk", filter=Q(state=InboxState.PENDING, next_attempt_at__gt=now)),
        )
        .order_by("state", "notification_type")
    )
    for state, kind, count, waiting in by_type:
        if waiting:
            rows.append(("waiting", kind, waiting))
        if count - waiting:
            rows.append((state, kind, count - waiting))
    rejected = (
        InboxMessage.objects.filter(state=InboxState.REJECTED)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("reason")
    )
    rows.extend(("rejected", reason, count) for reason, count in rejected)
    bodies = InboxRejected.objects.values_list("reason").annotate(n=Count("pk")).order_by("reason")
    rows.extend(("rejected_body", reason, count) for reason, count in bodies)
    return rows
