"""``mamori mail outbox``: what mail is waiting, sent, or failing, and why (never the body)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from mamori.outbox.models import OutboundMail


class Command(BaseCommand):
    help = "Show the mail outbox."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        outbox = sub.add_parser("outbox", help="List mail, newest first.")
        outbox.add_argument("--pending", action="store_true", help="only mail not yet sent")
        outbox.add_argument("--limit", type=int, default=50)

    def handle(
        self, *args: Any, subcommand: str, pending: bool, limit: int, **options: Any
    ) -> None:
        mails = OutboundMail.objects.order_by("-created_at", "-id")
        if pending:
            mails = mails.filter(status=OutboundMail.Status.PENDING)
        rows = [("ID", "STATUS", "ATTEMPTS", "NEXT ATTEMPT (UTC)", "TO", "SUBJECT", "LAST ERROR")]
        for m in mails[:limit]:
            rows.append(
                (
                    str(m.pk),
                    m.status,
                    str(m.attempts),
                    "-"
                    if m.status == OutboundMail.Status.SENT
                    else m.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.to,
                    m.subject,
                    m.last_error.splitlines()[0][:80] if m.last_error else "",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
