"""The outbox: mail is stored with the change that causes it and delivered as durable work.

``mail_queue`` stores the mail and its ``mail.deliver`` work row in the caller's transaction.
The handler sends it with no transaction open; a failure that can pass (connection refused, a
4xx reply) is retried 15 s, 30 s, 60 s … at most 10 min later, forever (mail is never lost); a
mail that can never be sent (the library cannot build or address it, or the server refuses the
recipient or the message for good, 5xx) fails with that reason (``mamori mail outbox --failed``)
instead of waiting forever.
"""

from __future__ import annotations

import dataclasses
import datetime
import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import Failure, Retry, WorkFailed, WorkRetry, work_submit, work_submit_many
from mamori.outbox.models import OutboundMail

DELIVER = "mail.deliver"
# Mail is retried forever: 15 s, 30 s, 60 s … at most 10 min (the settings), with jitter below.
RETRY = Retry(
    base=lambda: settings.MAMORI_MAIL_RETRY_BASE_SECONDS,
    cap=lambda: settings.MAMORI_MAIL_RETRY_MAX_SECONDS,
    max_attempts=None,
)


def retry_delay(attempts: int) -> datetime.timedelta:
    """The nominal wait before the next try after ``attempts`` failed ones (before jitter)."""
    return RETRY.nominal(attempts)


def mail_queue(
    *, contract: Contract | None, kind: str, to: str, subject: str, body: str
) -> OutboundMail:
    """Store a mail in the caller's transaction; its delivery is queued once that commits."""
    work = work_submit(
        kind=DELIVER,
        payload={},
        actor=Actor.system(),
        contract_id=contract.pk if contract else None,
    )
    return OutboundMail.objects.create(
        contract=contract, kind=kind, to=to, subject=subject, body=body, work=work
    )


@dataclasses.dataclass(frozen=True)
class Mail:
    """One mail of a bulk ``mails_queue``."""

    kind: str
    to: str
    subject: str
    body: str


def mails_queue(*, contract: Contract | None, mails: Sequence[Mail]) -> int:
    """Store many mails (thousands: a CSV import's invitations) in the caller's transaction, a
    few statements in all; their delivery is queued once that commits. Returns how many."""
    works = work_submit_many(
        kind=DELIVER,
        payloads=[{} for _mail in mails],
        actor=Actor.system(),
        contract_id=contract.pk if contract else None,
    )
    OutboundMail.objects.bulk_create(
        [
            OutboundMail(
                contract=contract,
                kind=m.kind,
                to=m.to,
                subject=m.subject,
                body=m.body,
                work=work,
            )
            for m, work in zip(mails, works, strict=True)
        ],
        batch_size=1000,
    )
    return len(works)


def mail_deliver(work: Work, actor: Actor) -> str:
    """The ``mail.deliver`` handler: send the work's mail, outside any transaction.

    Raises ``WorkRetry`` for a failure that can pass (no connection, a 4xx reply, the server's
    own configuration: authentication, the sender) and ``WorkFailed`` for a mail that can never
    be sent: the mail library refuses to build or address it (a header with a line separator,
    an address it cannot encode), or the server refuses the recipient or the message for good
    (5xx). A mail marked sent is not sent again; a worker killed between the server's
    acceptance and that mark leaves it to be sent once more (at least once, never lost).
    """
    mail = OutboundMail.objects.filter(work=work).first()
    if mail is None:
        raise WorkFailed("The mail of this work no longer exists.")
    if mail.sent_at is not None:
        return "already sent"
    message = _message(mail)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        refusals = list(exc.recipients.values())
        reason = "; ".join(f"{code} {_text(text)}" for code, text in refusals)
        if refusals and all(500 <= code < 600 for code, _text_ in refusals):
            raise WorkFailed(f"The recipient was refused: {reason}") from exc
        raise WorkRetry(f"SMTPRecipientsRefused: {reason}") from exc
    except smtplib.SMTPDataError as exc:
        reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        if 500 <= exc.smtp_code < 600:  # this message, refused for good (size, content)
            raise WorkFailed(f"The message was refused: {reason}") from exc
        raise WorkRetry(f"SMTPDataError: {reason}") from exc
    except smtplib.SMTPNotSupportedError as exc:  # e.g. an address that needs SMTPUTF8
        raise WorkFailed(f"The server cannot take this mail: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise WorkRetry(f"{type(exc).__name__}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        # The library refused the mail while sending it (an address it cannot encode, such
        # as a local part with non-ASCII characters): it will refuse it every time.
        raise WorkFailed(f"The mail cannot be sent: {type(exc).__name__}: {exc}") from exc
    with transaction.atomic():
        # The body may carry a password; the recipient has it now.
        OutboundMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now(), body="")
    return "sent"


def _message(mail: OutboundMail) -> EmailMessage:
    """The mail as the library builds it; ``WorkFailed`` if it cannot (it never will)."""
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        from_email=settings.MAMORI_MAIL_FROM,
        to=[mail.to],
        headers={"X-Mamori-Mail-Id": str(mail.pk)},
    )
    try:
        message.message()  # builds the headers now: a line separator in one raises here
    except (ValueError, TypeError, LookupError) as exc:
        raise WorkFailed(f"The mail cannot be built: {type(exc).__name__}: {exc}") from exc
    return message


def _text(message: bytes | str) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else message


def mail_failed(work: Work, failure: Failure) -> None:
    """``on_failure`` of ``mail.deliver``: a mail that will never leave keeps no body."""
    OutboundMail.objects.filter(work=work, sent_at__isnull=True).update(body="")
