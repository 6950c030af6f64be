"""``core.spreadsheet.csv_chunks``: the one CSV streaming loop of every export (devices, the
operation log, users)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from mamori.core.spreadsheet import csv_chunks


def test_a_bom_and_the_header_then_a_chunk_every_batch_of_rows_and_one_for_the_rest() -> None:
    rows = [[n, f"名前 {n}", "a,b"] for n in range(5)]
    chunks = list(csv_chunks(["id", "name", "text"], rows, batch=2))
    assert len(chunks) == 3  # rows 0-1 (with the header), 2-3, then 4
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeffid,name,text\r\n")
    assert chunks[0].decode("utf-8") == '\ufeffid,name,text\r\n0,名前 0,"a,b"\r\n1,名前 1,"a,b"\r\n'
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["id", "name", "text"],
        *([str(n), f"名前 {n}", "a,b"] for n in range(5)),
    ]


def test_rows_filling_the_last_chunk_end_with_an_empty_one_and_no_rows_is_the_header() -> None:
    assert list(csv_chunks(["a"], [[1], [2]], batch=2)) == [b"\xef\xbb\xbfa\r\n1\r\n2\r\n", b""]
    assert list(csv_chunks(["a"], [])) == [b"\xef\xbb\xbfa\r\n"]


def test_rows_are_read_lazily_a_chunk_at_a_time() -> None:
    read: list[int] = []

    def rows() -> Iterator[list[int]]:
        for n in range(4):
            read.append(n)
            yield [n]

    chunks = csv_chunks(["n"], rows(), batch=2)
    assert read == []
    next(chunks)
    assert read == [0, 1]
