"""What was told about one alert: the mails and webhook deliveries of its events, for the
alert's page (issue 10, point 6: "each mail and webhook delivery is visible in the alert's
detail")."""

from __future__ import annotations

import dataclasses
import datetime

from mamori.alerts.models import Alert, AlertMail, AlertMailChannel, WebhookDelivery


@dataclasses.dataclass(frozen=True)
class Notice:
    """One mail or one webhook delivery about an event of the alert.

    ``channel``: ``at_once`` | ``summary`` (mail) | ``webhook``; ``to``: the recipient's address
    or the webhook's URL; ``status``: for mail ``waiting`` (not gathered yet), ``pending`` /
    ``running`` / ``sent`` / ``failed`` (the outbox's), or ``not_sent`` (the recipient could no
    longer be mailed); for a webhook ``pending`` / ``delivered`` / ``failed``. ``status_code``
    is the receiver's last answer (webhooks), ``attempts`` the tries so far.
    """

    at: datetime.datetime
    event_id: int
    action: str
    channel: str
    to: str
    status: str
    status_code: int | None = None
    attempts: int | None = None


def _mail_status(row: AlertMail) -> str:
    if row.mailed_at is None:
        return "waiting"
    return row.mail.status if row.mail is not None else "not_sent"


def alert_notices(alert: Alert) -> list[Notice]:
    """The mails and webhook deliveries about ``alert``'s events, oldest first (three queries
    whatever their number). The caller has read ``alert`` through a scoped selector."""
    mails = (
        AlertMail.objects.filter(event__alert=alert)
        .select_related("event", "mail__work")
        .order_by("created_at", "id")
    )
    deliveries = (
        WebhookDelivery.objects.filter(event__alert=alert)
        .select_related("event")
        .order_by("created_at", "id")
    )
    notices = [
        Notice(
            at=row.mailed_at or row.created_at,
            event_id=row.event_id,
            action=row.event.action,
            channel=AlertMailChannel(row.channel).value,
            to=row.to,
            status=_mail_status(row),
            attempts=row.mail.attempts if row.mail is not None else None,
        )
        for row in mails
    ] + [
        Notice(
            at=d.finished_at or d.created_at,
            event_id=d.event_id,
            action=d.event.action,
            channel="webhook",
            to=d.url,
            status=d.status,
            status_code=d.status_code,
            attempts=d.attempts,
        )
        for d in deliveries
    ]
    return sorted(notices, key=lambda n: (n.at, n.channel))
