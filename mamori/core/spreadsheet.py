"""CSV for spreadsheets: cells opened as text, never as a formula (CSV injection), and files
streamed in chunks as UTF-8 with a BOM (Excel then opens Japanese correctly)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BATCH = 1000  # rows a chunk: memory stays flat whatever the file's size


def cell_protect(value: str) -> str:
    """Prefix an apostrophe to a value a spreadsheet would read as a formula (=, +, -, @ …)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell_unprotect(value: str) -> str:
    """Undo ``cell_protect`` when a file comes back: ``'+81 3…`` is the phone number ``+81 3…``."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def csv_chunks(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, batch: int = CSV_BATCH
) -> Iterator[bytes]:
    """A CSV file as UTF-8 chunks for a streaming response: a BOM and ``header`` first, then
    ``rows`` (read lazily), a chunk every ``batch`` rows and one for the rest (``b""`` when
    none is left). Cells are written as given: protect text with ``cell_protect`` first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % batch == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
