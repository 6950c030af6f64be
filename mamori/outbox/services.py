"""The outbox: mail is stored with the change that causes it and delivered by the task queue."""

from __future__ import annotations

import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from mamori.contracts.models import Contract
from mamori.outbox.models import OutboundMail

logger = logging.getLogger(__name__)


def retry_delay(attempts: int) -> datetime.timedelta:
    """Wait before the next try after ``attempts`` failed ones: 15 s, 30 s, 60 s … at most 10 min."""
    base = settings.MAMORI_MAIL_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.MAMORI_MAIL_RETRY_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds)


def mail_queue(
    *, contract: Contract | None, kind: str, to: str, subject: str, body: str
) -> OutboundMail:
    """Store a mail in the caller's transaction; its delivery is queued once that commits."""
    mail = OutboundMail.objects.create(
        contract=contract, kind=kind, to=to, subject=subject, body=body
    )
    transaction.on_commit(lambda: _enqueue(mail.pk))
    return mail


def _enqueue(mail_id: int, run_after: datetime.datetime | None = None) -> None:
    from mamori.outbox.tasks import deliver_mail

    task = deliver_mail.using(run_after=run_after) if run_after else deliver_mail
    task.enqueue(mail_id)


def mail_deliver(mail_id: int) -> str:
    """Send one pending mail, or schedule its next try. Safe to run twice for the same mail."""
    with transaction.atomic():
        mail = (
            OutboundMail.objects.select_for_update(skip_locked=True)
            .filter(pk=mail_id, status=OutboundMail.Status.PENDING)
            .first()
        )
        if mail is None:
            return "not pending"
        now = timezone.now()
        if mail.next_attempt_at > now + datetime.timedelta(seconds=1):
            return "not due"  # a duplicate task; the scheduled one will send it
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as exc:
            mail.attempts += 1
            mail.next_attempt_at = now + retry_delay(mail.attempts)
            mail.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            mail.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            # Same database, same transaction: the retry is stored together with the new state.
            _enqueue(mail.pk, run_after=mail.next_attempt_at)
            logger.warning(
                "mail %s to %s failed (%s); retry at %s",
                mail.pk,
                mail.to,
                mail.last_error,
                mail.next_attempt_at.isoformat(),
            )
            return "retry"
        mail.status = OutboundMail.Status.SENT
        mail.attempts += 1
        mail.sent_at = now
        mail.last_error = ""
        mail.body = ""  # it may carry a password; the recipient has it now
        mail.save(update_fields=["status", "attempts", "sent_at", "last_error", "body"])
        return "sent"


def _send(mail: OutboundMail) -> None:
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        from_email=settings.MAMORI_MAIL_FROM,
        to=[mail.to],
        headers={"X-Mamori-Mail-Id": str(mail.pk)},
    )
    message.send()


def outbox_recover(*, stale_after: datetime.timedelta = datetime.timedelta(minutes=2)) -> int:
    """Queue delivery again for pending mail whose task was lost (a worker killed mid-task).

    Duplicates are harmless: ``mail_deliver`` locks the row and skips mail that is not due.
    """
    cutoff = timezone.now() - stale_after
    ids = list(
        OutboundMail.objects.filter(
            status=OutboundMail.Status.PENDING, next_attempt_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for mail_id in ids:
        _enqueue(mail_id)
    return len(ids)
