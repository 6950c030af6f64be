"""One field list per entity, and what derives from it: values for forms and the log, API schemas.

An app declares the fields a person edits on an entity once (``USER_FIELDS`` on the user model's
module, ``ACCOUNT_FIELDS`` on the account's); forms take their initial values, services their
before/after values for the operation log, the API its schemas and the CSV its columns from it.

The model is also the one source of text limits: ``length_errors`` is the services' check,
``schema_of`` and ``text_field`` put the same ``maxLength`` in the API's schemas, and
``lengths_guard`` refuses any save of a longer value (SQLite would store it, PostgreSQL fail).
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BeforeValidator, Field, WithJsonSchema, create_model


def values_of(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """``{field: obj.field}`` for ``fields``, in their order."""
    return {field: getattr(obj, field) for field in fields}


def max_lengths(model: type[models.Model], fields: Iterable[str]) -> dict[str, int]:
    """``{field: max_length}`` of the text fields among ``fields`` (the model is the one limit)."""
    lengths = {}
    for name in fields:
        length = getattr(model._meta.get_field(name), "max_length", None)
        if length:
            lengths[name] = length
    return lengths


def too_long_message(limit: int) -> str:
    """The one message for a value longer than its column, in the active language."""
    return _("At most %(limit)d characters.") % {"limit": limit}


def length_errors(model: type[models.Model], values: Mapping[str, str]) -> dict[str, list[str]]:
    """``{field: [message]}`` for each of ``values`` longer than ``model``'s field allows."""
    limits = max_lengths(model, values)
    return {
        name: [too_long_message(limit)]
        for name, limit in limits.items()
        if len(values[name]) > limit
    }


@functools.cache
def _text_limits(model: type[models.Model]) -> tuple[tuple[str, str, int], ...]:
    return tuple(
        (field.name, field.attname, field.max_length)
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField) and field.max_length
    )


def lengths_guard(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """``pre_save``: refuse to save a text longer than its column, naming the field.

    The services check the fields a person enters (``length_errors``, the forms, the API's
    ``maxLength``); this is the floor under all of them, so that no path stores on SQLite what
    PostgreSQL would refuse with an error (a 500). Raises ``ValidationError``.
    """
    errors = {
        name: [too_long_message(limit)]
        for name, attname, limit in _text_limits(sender)
        if isinstance(value := getattr(instance, attname), str) and len(value) > limit
    }
    if errors:
        raise ValidationError(errors)


def _choices(field: models.Field[Any, Any]) -> tuple[Any, ...]:
    return tuple(value for value, _label in field.flatchoices if value != "")


def text_field(model: type[models.Model], name: str, default: Any = ..., **extra: Any) -> Any:
    """A pydantic ``Field`` for ``model.name`` with the column's ``max_length`` (for schemas
    written by hand, e.g. ``name: str = text_field(PermissionScheme, "name")``)."""
    length = getattr(model._meta.get_field(name), "max_length", None)
    return Field(default, max_length=length, **extra)


def annotation_of(model: type[models.Model], name: str) -> Any:
    """The API type of ``model.name``: ``bool`` for booleans, ``str`` with the column's
    ``maxLength`` for text, and for a field with choices ``str`` documented as an ``enum``.

    Choices are documented, not checked here: the services check them, with their own message
    in the person's language and every bad field of the request at once (as in the panel), and
    answer a value outside them with a 422 all the same.
    """
    field = model._meta.get_field(name)
    if isinstance(field, models.BooleanField):
        return bool
    choices = _choices(field) if getattr(field, "choices", None) else ()  # type: ignore[arg-type]
    if choices:
        return Annotated[str, Field(json_schema_extra={"enum": list(choices)})]
    length = getattr(field, "max_length", None)
    return Annotated[str, Field(max_length=length)] if length else str


def schema_of(
    model: type[models.Model], fields: Iterable[str], *, name: str, base: type[Schema] = Schema
) -> type[Schema]:
    """An API schema with ``fields`` of ``model`` (types from ``annotation_of``: booleans,
    enums of the choices, text with the column's ``maxLength``); a field is required unless the
    model gives it a default, and blank text defaults to ``""``.

    Text longer than its column is a 422 naming the field before any service runs; the services
    check the same limits (``length_errors``) for the panel and the CSV import, and the choices.
    """
    definitions: dict[str, Any] = {}
    for field_name in fields:
        field = model._meta.get_field(field_name)
        kind = annotation_of(model, field_name)
        if field.has_default():  # type: ignore[union-attr]
            definitions[field_name] = (kind, field.get_default())  # type: ignore[union-attr]
        elif getattr(field, "blank", False) and kind is not bool:
            definitions[field_name] = (kind, "")
        else:
            definitions[field_name] = (kind, ...)
    schema: type[Schema] = create_model(name, __base__=base, **definitions)
    return schema


# A date and time as the API takes them: ISO 8601 with the time to the minute at least, and an
# optional offset ("Z" or ±HH:MM). Pydantic alone would also take "0.5" (a Unix time) or a bare
# date; the document says exactly this pattern, and the API holds to it.
ISO_DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
_ISO_DATETIME = re.compile(ISO_DATETIME_PATTERN)


def _iso_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError(_("Enter a date and time such as 2026-04-01T09:00+09:00."))
    return value


IsoDatetime = Annotated[
    datetime.datetime,
    BeforeValidator(_iso_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": ISO_DATETIME_PATTERN,
            "description": "ISO 8601, e.g. 2026-04-01T09:00:00+09:00; without an offset, in "
            "the token account's timezone; an offset is between -14:00 and +14:00",
        }
    ),
]
"""A query parameter or field holding a date and time (``since: IsoDatetime | None = None``)."""
