"""``mamori mail outbox``: what mail is waiting, sent, or failed, and why (never the body).

``mamori mail show [ID | --latest] [--to ADDRESS]``: one mail, decoded, as its recipient reads
it: from its ``.eml`` file when mail goes to files (``EMAIL_URL=file://…``, what ``make run``
uses), else from the outbox, which keeps a body only until the mail is sent.
"""

import os
import unicodedata
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q, QuerySet

from mamori.core.models import Work
from mamori.outbox.backends import mail_directory, stored_mail_find
from mamori.outbox.models import OutboundMail


class Command(BaseCommand):
    help = "Show the mail outbox (`outbox`), or one mail decoded (`show`)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        outbox = sub.add_parser("outbox", help="List mail, newest first.")
        shown = outbox.add_mutually_exclusive_group()
        shown.add_argument("--pending", action="store_true", help="only mail not yet sent")
        shown.add_argument("--failed", action="store_true", help="only mail that failed")
        outbox.add_argument("--limit", type=int, default=50)
        show = sub.add_parser(
            "show",
            help="Print one mail decoded: the newest (the default), or the one with ID.",
        )
        which = show.add_mutually_exclusive_group()
        which.add_argument("id", nargs="?", help="the mail's ID in `mamori mail outbox`")
        which.add_argument("--latest", action="store_true", help="the newest mail (the default)")
        show.add_argument("--to", metavar="ADDRESS", help="only mail to this address (any case)")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        if subcommand == "show":
            self.show(mail_id=options["id"] or "", to=options["to"] or "")
        else:
            self.outbox(
                pending=options["pending"], failed=options["failed"], limit=options["limit"]
            )

    def outbox(self, *, pending: bool, failed: bool, limit: int) -> None:
        """Print the outbox table, newest first."""
        mails = OutboundMail.objects.select_related("work").order_by("-created_at", "-id")
        if pending:
            mails = mails.filter(
                sent_at__isnull=True,
                work__status__in=[Work.Status.PENDING, Work.Status.RUNNING],
            )
        elif failed:
            mails = mails.filter(
                Q(work__status=Work.Status.FAILED) | Q(work__isnull=True),
                sent_at__isnull=True,
            )
        rows = [("ID", "STATUS", "ATTEMPTS", "NEXT ATTEMPT (UTC)", "TO", "SUBJECT", "LAST ERROR")]
        for m in mails[:limit]:
            waiting = m.status in (Work.Status.PENDING, Work.Status.RUNNING)
            rows.append(
                (
                    str(m.pk),
                    m.status,
                    "-" if m.attempts is None else str(m.attempts),
                    m.work.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")
                    if waiting and m.work is not None
                    else "-",
                    _cell(m.to),
                    _cell(m.subject),
                    m.last_error.splitlines()[0][:80] if m.last_error else "",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )

    def show(self, *, mail_id: str, to: str) -> None:
        """Print the newest mail matching ``mail_id`` and ``to`` (each when given), decoded.

        Raises ``CommandError`` when none matches, saying whether it is still waiting to leave.
        """
        directory = mail_directory()
        if directory is None:
            self._show_from_outbox(mail_id=mail_id, to=to)
            return
        stored = stored_mail_find(directory, mail_id=mail_id, to=to)
        if stored is None:
            raise CommandError(self._not_found(mail_id, to, f"under {_shown(directory)}"))
        message = stored.message
        self.stdout.write(f"Mail {stored.mail_id or '-'}  ({_shown(stored.path)})")
        for header in ("Date", "From", "To", "Cc", "Subject"):
            if message.get(header) is not None:
                self.stdout.write(f"{header + ':':<9} {message[header]}")
        self.stdout.write("")
        self.stdout.write(stored.text().rstrip("\n"))
        if not mail_id and stored.mail_id.isdigit():
            waiting = _waiting(mail_id="", to=to).filter(pk__gt=int(stored.mail_id))
            newer = waiting.order_by("-pk").first()
            if newer is not None:
                self.stderr.write(
                    f"A newer mail{' to ' + to if to else ''} is still waiting to be sent "
                    f"(ID {newer.pk}): is the worker running? Run this again in a moment."
                )

    def _show_from_outbox(self, *, mail_id: str, to: str) -> None:
        mails = OutboundMail.objects.select_related("work").order_by("-created_at", "-id")
        if mail_id:
            mails = mails.filter(pk=int(mail_id)) if mail_id.isdigit() else mails.none()
        if to:
            mails = mails.filter(to__iexact=to)
        mail = mails.first()
        if mail is None:
            raise CommandError(self._not_found(mail_id, to, "in the outbox"))
        self.stdout.write(f"Mail {mail.pk}  ({mail.status})")
        self.stdout.write(f"{'To:':<9} {mail.to}")
        self.stdout.write(f"{'Subject:':<9} {mail.subject}")
        self.stdout.write("")
        self.stdout.write(
            mail.body.rstrip("\n")
            or "(The outbox keeps a body only until the mail is sent. To keep every mail "
            "readable, send mail to files: EMAIL_URL=file:///path/to/directory.)"
        )

    def _not_found(self, mail_id: str, to: str, where: str) -> str:
        wanted = " ".join(
            part for part in (mail_id and f"with ID {mail_id}", to and f"to {to}") if part
        )
        message = f"No mail {wanted + ' ' if wanted else ''}{where}."
        if _waiting(mail_id=mail_id, to=to).exists():
            message += (
                " A matching mail is waiting to be sent: is the worker running? (make run starts"
                " one; otherwise start `mamori worker`.) `mamori mail outbox` shows the outbox."
            )
        return message


def _waiting(*, mail_id: str, to: str) -> QuerySet[OutboundMail]:
    """Mail not sent yet that a worker will still try, with ``mail_id`` and to ``to`` if given."""
    waiting = OutboundMail.objects.filter(
        sent_at__isnull=True, work__status__in=[Work.Status.PENDING, Work.Status.RUNNING]
    )
    if mail_id:
        waiting = waiting.filter(pk=int(mail_id)) if mail_id.isdigit() else waiting.none()
    if to:
        waiting = waiting.filter(to__iexact=to)
    return waiting


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def _cell(text: str) -> str:
    """One table cell: a line separator or an invisible character (what may have made the mail
    fail) shown as its escape, ``\\u2028``, not breaking the row or hiding."""
    return "".join(
        ch if ch.isprintable() or unicodedata.category(ch) == "Zs" else f"\\u{ord(ch):04x}"
        for ch in text
    )
