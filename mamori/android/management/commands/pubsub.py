"""``mamori pubsub stats``: the device notifications' inbox, counted by state and reason."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from mamori.android.notifications.stats import inbox_counts


class Command(BaseCommand):
    help = "Device notifications (Pub/Sub push): counts of the inbox by state and reason."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser(
            "stats",
            help="Messages applied, pending, waiting and kept aside (with why), "
            "and pushes refused as no message, over the days the inbox keeps.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = inbox_counts()
        if not rows:
            self.stdout.write("The inbox is empty.")
            return
        width = max(len(f"{state} {detail}") for state, detail, _ in rows)
        for state, detail, count in rows:
            self.stdout.write(f"{f'{state} {detail}'.ljust(width)}  {count}")
