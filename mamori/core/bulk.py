"""Writing many rows at once: PostgreSQL's COPY where it is the database (several times faster
than INSERTs, and an UPDATE from a copied table instead of Django's CASE per row, which grows with
the square of the batch), Django's bulk operations elsewhere (SQLite, for development).

Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from psycopg import sql

BATCH = 1000


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    return [model._meta.get_field(f).column for f in fields]  # type: ignore[union-attr,misc]


def _attnames(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    return [model._meta.get_field(f).attname for f in fields]  # type: ignore[union-attr]


def next_ids(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence (PostgreSQL), in ascending order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of ``fields`` values (an id among them if the caller took ids)."""
    if _postgresql():
        _copy(sql.Identifier(model._meta.db_table), _columns(model, fields), rows)
        return
    names = _attnames(model, fields)
    model.objects.bulk_create(  # type: ignore[attr-defined]
        (model(**dict(zip(names, row, strict=True))) for row in rows), batch_size=BATCH
    )


def insert_returning_ids(
    model: type[models.Model], fields: Sequence[str], rows: list[Sequence[Any]]
) -> list[int]:
    """Insert rows and return their new ids, in the rows' order."""
    if _postgresql():
        ids = next_ids(model, len(rows))
        insert(model, ["id", *fields], [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
        return ids
    names = _attnames(model, fields)
    objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=BATCH)  # type: ignore[attr-defined]
    return [obj.pk for obj in objects]


def update(model: type[models.Model], fields: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Set ``fields`` of the rows whose id is each row's first value."""
    rows = sorted(rows, key=lambda row: row[0])  # id order: writers never wait in a circle
    if not rows:
        return
    if not _postgresql():
        names = _attnames(model, fields)
        objects = [model(pk=row[0], **dict(zip(names, row[1:], strict=True))) for row in rows]
        model.objects.bulk_update(objects, list(fields), batch_size=BATCH)  # type: ignore[attr-defined]
        return
    table = sql.Identifier(model._meta.db_table)
    temporary = sql.Identifier(f"bulk_update_{model._meta.db_table}")
    columns = ["id", *_columns(model, fields)]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
                temporary, sql.SQL(", ").join(map(sql.Identifier, columns)), table
            )
        )
        _copy(temporary, columns, rows)
        cursor.execute(
            sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE t.id = s.id").format(
                table,
                sql.SQL(", ").join(
                    sql.SQL("{} = s.{}").format(sql.Identifier(c), sql.Identifier(c))
                    for c in columns[1:]
                ),
                temporary,
            )
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(temporary))


def _copy(table: sql.Identifier, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,  # psycopg's own cursor
    ):
        for row in rows:
            copy.write_row(row)
