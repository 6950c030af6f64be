"""``mamori worker`` slowed down at a chosen point, for tests that kill a worker mid-task.

Run as ``python -m tests.slow_worker [worker options]``. ``MAMORI_TEST_SLOW_AT`` chooses the point:

- ``csv_row`` (the default): each row the users CSV check reads takes ``MAMORI_TEST_ROW_SECONDS``
  more, and the first one touches the file ``MAMORI_TEST_MARKER``, so a test knows the check (or
  the import's second check, under the contract's lock) has begun.
- ``inbox_outcome``: the Pub/Sub apply worker, once a batch's devices are written and before it
  marks the batch's messages and commits, touches ``MAMORI_TEST_MARKER`` and sleeps an hour
  (the test kills it meanwhile).

Production code has no such hook: this wraps a private function from outside, in this process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def _slow_csv_rows(marker: Path) -> None:
    from mamori.users_csv import check as csv_check

    row = csv_check._Checker._row
    delay = float(os.environ.get("MAMORI_TEST_ROW_SECONDS", "1"))

    def slow_row(self: csv_check._Checker, number: int, cells: dict) -> None:
        marker.touch()
        time.sleep(delay)
        row(self, number, cells)

    csv_check._Checker._row = slow_row  # type: ignore[method-assign]


def _stuck_inbox_outcome(marker: Path) -> None:
    from mamori.android.notifications import apply

    def stuck(*args: Any) -> None:
        marker.touch()
        time.sleep(3600)

    apply.outcome_record = stuck  # type: ignore[assignment]


SLOW_AT = {"csv_row": _slow_csv_rows, "inbox_outcome": _stuck_inbox_outcome}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamori.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    marker = Path(os.environ["MAMORI_TEST_MARKER"])
    SLOW_AT[os.environ.get("MAMORI_TEST_SLOW_AT", "csv_row")](marker)
    execute_from_command_line(["mamori", "worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
