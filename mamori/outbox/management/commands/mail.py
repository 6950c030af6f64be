"""``mamori mail outbox``: what mail is waiting, sent, or failed, and why (never the body)."""

import unicodedata
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Q

from mamori.core.models import Work
from mamori.outbox.models import OutboundMail


class Command(BaseCommand):
    help = "Show the mail outbox."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        outbox = sub.add_parser("outbox", help="List mail, newest first.")
        shown = outbox.add_mutually_exclusive_group()
        shown.add_argument("--pending", action="store_true", help="only mail not yet sent")
        shown.add_argument("--failed", action="store_true", help="only mail that failed")
        outbox.add_argument("--limit", type=int, default=50)

    def handle(
        self, *args: Any, subcommand: str, pending: bool, failed: bool, limit: int, **options: Any
    ) -> None:
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
                    _shown(m.to),
                    _shown(m.subject),
                    m.last_error.splitlines()[0][:80] if m.last_error else "",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )


def _shown(text: str) -> str:
    """One table cell: a line separator or an invisible character (what may have made the mail
    fail) shown as its escape, ``\\u2028``, not breaking the row or hiding."""
    return "".join(
        ch if ch.isprintable() or unicodedata.category(ch) == "Zs" else f"\\u{ord(ch):04x}"
        for ch in text
    )
