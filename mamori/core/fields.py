"""One field list per entity, and what derives from it: values for forms and the log, API schemas.

An app declares the fields a person edits on an entity once (``USER_FIELDS`` on the user model's
module, ``ACCOUNT_FIELDS`` on the account's); forms take their initial values, services their
before/after values for the operation log, the API its schemas and the CSV its columns from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from ninja import Schema
from pydantic import create_model


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


def schema_of(
    model: type[models.Model], fields: Iterable[str], *, name: str, base: type[Schema] = Schema
) -> type[Schema]:
    """An API schema with ``fields`` of ``model``: booleans as ``bool``, the rest as ``str``;
    a field is required unless the model gives it a default, and blank text defaults to ``""``.

    Lengths are not limited here: the services' own checks answer an over-long value with their
    message, the same as in the panel.
    """
    definitions: dict[str, Any] = {}
    for field_name in fields:
        field = model._meta.get_field(field_name)
        kind: type = bool if isinstance(field, models.BooleanField) else str
        if field.has_default():  # type: ignore[union-attr]
            definitions[field_name] = (kind, field.get_default())  # type: ignore[union-attr]
        elif getattr(field, "blank", False) and kind is str:
            definitions[field_name] = (str, "")
        else:
            definitions[field_name] = (kind, ...)
    schema: type[Schema] = create_model(name, __base__=base, **definitions)
    return schema
