"""Keyset pagination: pages that follow an index, never ``OFFSET`` or ``COUNT(*)``.

An order is a value column and the primary key as the tie-breaker (``created_at, id`` for the log,
``furigana, id`` for users). A cursor is the (value, id) of the last row shown, as an opaque
URL-safe string; the next page is the rows strictly after it in that order. With an index on
``(contract, value, id)`` a page is a short index range at any depth (PERFORMANCE.md: 0.15–0.3 ms
at 10M rows, where ``OFFSET 50000`` takes 231 ms).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import json
import operator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a page ends: the (value, id) of a row in a keyset order."""

    value: Any
    id: int


@dataclasses.dataclass(frozen=True)
class Keyset:
    """A keyset order over ``field`` (then ``id``), newest/greatest first when ``descending``.

    ``datetimes`` says the field holds aware datetimes (encoded as microseconds since the epoch,
    exact whatever the timezone); otherwise values are JSON strings or numbers.
    """

    field: str
    descending: bool = False
    datetimes: bool = False
    # More value columns after ``field`` (``("furigana",)``: users by organization, then
    # reading); a position's value is then the tuple of all of them. Not with ``datetimes``.
    then: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field, *self.then)

    def order(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        """``rows`` in this order."""
        sign = "-" if self.descending else ""
        return rows.order_by(*(f"{sign}{f}" for f in self.fields), f"{sign}id")

    def position(self, row: Model) -> Position:
        if self.then:
            return Position(tuple(getattr(row, f) for f in self.fields), row.pk)
        return Position(getattr(row, self.field), row.pk)

    def encode(self, row_or_position: Model | Position) -> str:
        """The opaque cursor of a row (or position): the page after it starts after it."""
        position = (
            row_or_position
            if isinstance(row_or_position, Position)
            else self.position(row_or_position)
        )
        value = position.value
        if self.datetimes:
            delta = value - EPOCH
            value = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        values = list(value) if self.then else [value]
        text = json.dumps([*values, position.id], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str, *, field: str = "cursor") -> Position:
        """The position in a cursor from ``encode``; anything else is a ``ValidationError`` on
        ``field`` (the query parameter it came in)."""
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            *values, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if len(values) != len(self.fields):
                raise ValueError(values)
            if self.datetimes:
                values = [EPOCH + datetime.timedelta(microseconds=int(values[0]))]
            elif not all(isinstance(v, str | int | float) for v in values):
                raise TypeError(values)
            return Position(tuple(values) if self.then else values[0], int(pk))
        except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
            raise ValidationError({field: [_("This cursor is not valid.")]}) from None

    def after(self, rows: QuerySet[Any], position: Position) -> QuerySet[Any]:
        """The rows strictly after ``position`` in this order (the next page)."""
        return rows.filter(self._beyond(position, forward=True))

    def before(self, rows: QuerySet[Any], position: Position) -> QuerySet[Any]:
        """The rows strictly before ``position`` in this order (the previous page), to be read
        in the reverse order."""
        return rows.filter(self._beyond(position, forward=False))

    def _beyond(self, position: Position, *, forward: bool) -> Q:
        # "value >= v" (or <=) bounds the index range; the OR only drops ties already shown.
        down = self.descending == forward
        op, strict = ("lte", "lt") if down else ("gte", "gt")
        values = list(position.value) if self.then else [position.value]
        keys = [*zip(self.fields, values, strict=True), ("id", position.id)]
        # (a, b, id) > (x, y, z): a > x, or a = x and b > y, or a = x and b = y and id > z.
        beyond = functools.reduce(
            operator.or_,
            (
                Q(**dict(keys[:i])) & Q(**{f"{field}__{strict}": value})
                for i, (field, value) in enumerate(keys)
            ),
        )
        return Q(**{f"{self.field}__{op}": values[0]}) & beyond
