"""The base of every API request body: what a client sends is taken as it is, or refused.

README, "The API" (422 ``invalid_request``): values are not coerced where a wrong type would be
taken for another. Pydantic's default (lax) mode would take ``true`` as the id 1 (a bulk lock of
the top organization), ``"2"`` as an id and ``"yes"`` as true, and would drop a field it does not
know (a misspelt parameter silently ignored). ``InputSchema`` is strict and closed instead:

- ``strict=True``: an integer is a JSON integer (not ``true``, ``"1"`` or ``1.0``), a boolean is
  ``true`` or ``false``, text is a JSON string. Pydantic's strict *python* mode (ninja validates
  the parsed JSON) also refuses ISO strings for datetimes, UUIDs and Enum classes: a body field of
  such a type declares itself lax, its text checked (``Annotated[IsoDatetime, Strict(False)]``
  with ``core.fields.IsoDatetime``); choices are ``str`` or ``Literal``
  (``core.fields.annotation_of``).
- ``extra="forbid"``: a field the schema does not declare is a 422 naming it.

Every request body schema of the API derives from it (nested ones too): ``tests/test_api_strict``
checks that every body of the OpenAPI document refuses ``true`` for an integer, ``"1"`` for an
integer or a boolean, ``"yes"`` for a boolean, and an unknown field. Query parameters arrive as
text and are parsed from it (``?organization_id=true`` is no integer: a 422 already).
"""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


class InputSchema(Schema):
    """A request body (or a part of one): strict types, unknown fields refused (see the module).

    The errors are pydantic's ``int_type``, ``bool_type``, ``string_type`` and
    ``extra_forbidden``, answered as 422 ``invalid_request`` with a detail per field in the
    account's language (``mamori.api.api``)."""

    model_config = ConfigDict(strict=True, extra="forbid")
