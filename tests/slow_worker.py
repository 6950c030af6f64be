"""``mamori worker`` with the users CSV check slowed down, for tests that kill a worker mid-import.

Run as ``python -m tests.slow_worker [worker options]``. Each checked row takes
``MAMORI_TEST_ROW_SECONDS`` more, and the first one touches the file ``MAMORI_TEST_MARKER``, so a
test knows the check (or the import's second check, under the contract's lock) has begun.
Production code has no such hook: this wraps a private function from outside, in this process.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamori.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    from mamori.users_csv import check as csv_check

    row = csv_check._Checker._row
    marker = Path(os.environ["MAMORI_TEST_MARKER"])
    delay = float(os.environ.get("MAMORI_TEST_ROW_SECONDS", "1"))

    def slow_row(self: csv_check._Checker, number: int, cells: dict) -> None:
        marker.touch()
        time.sleep(delay)
        row(self, number, cells)

    csv_check._Checker._row = slow_row  # type: ignore[method-assign]
    execute_from_command_line(["mamori", "worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
