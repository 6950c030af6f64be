"""The OpenAPI document's error answers: every operation documents the API's one error shape
(``{"error": {"code", "message", "details"?}}``) for the statuses it can answer with, so a client
(and schemathesis in the suite) knows every status it may see.

The endpoints declare only their successes; which errors an operation can give follows from what
the API does to every request, written once here rather than on each endpoint.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Schema
from ninja.openapi.schema import OpenAPISchema
from pydantic import Field


class ErrorDetail(Schema):
    field: str = Field(description="the field at fault (dotted path), or empty for the request")
    message: str


class ErrorBody(Schema):
    code: str = Field(
        description="a stable word to branch on: unauthorized, two_factor_required, forbidden, "
        "not_found, too_large, invalid_request (the request's shape: a type, a documented range, "
        "a body field or a query parameter the operation does not know), invalid (its values: a "
        "rule of the service, a filter value or a kind not among those listed, a cursor this "
        "list did not give), unavailable (the database is out of reach: retry)"
    )
    message: str = Field(description="for a person, in the token account's language")
    details: list[ErrorDetail] = Field(
        default=[], description="with invalid and invalid_request: each field's problem"
    )


class Error(Schema):
    """The API's one error shape."""

    error: ErrorBody


# status: (description, only for operations that take a request body)
ERRORS: dict[int, tuple[str, bool]] = {
    400: (
        "The request holds text no database can store (NUL, a lone surrogate); or a profile's "
        "policy fails the AMAPI Policy schema (code invalid, details per field path).",
        False,
    ),
    401: ("No valid API token, or its account must first set up two-step verification.", False),
    403: ("The token account's privilege does not allow this.", False),
    404: ("Not found, or outside the token account's contract and organizations.", False),
    413: ("The request body is over 2.5 MB.", True),
    422: (
        "A parameter or a field is not valid; details name each one. Code invalid_request: it "
        "does not match this document (a wrong type, out of range, a body field or a query "
        "parameter the operation does not read: none is ignored); code invalid: a rule refuses "
        "its value.",
        False,
    ),
    503: (
        "The database cannot be reached at the moment (code unavailable); nothing was changed. "
        "Retry after the Retry-After header's seconds.",
        False,
    ),
}
ERROR_REF = "#/components/schemas/Error"


def errors_documented(document: dict[str, Any]) -> dict[str, Any]:
    """Add ``Error`` to the components and the error statuses to every operation of
    ``document`` (an OpenAPI 3.1 dict, changed in place and returned). A status an endpoint
    documents itself is left as it is."""
    document.setdefault("components", {}).setdefault("schemas", {}).update(
        _definitions(Error.model_json_schema(ref_template="#/components/schemas/{model}"))
    )
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, (description, body_only) in ERRORS.items():
                if body_only and "requestBody" not in operation:
                    continue
                if status == 401 and not operation.get("security"):
                    continue
                responses.setdefault(
                    str(status),
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                    },
                )
    return document


def _definitions(schema: dict[str, Any]) -> dict[str, Any]:
    definitions = schema.pop("$defs", {})
    return {**definitions, "Error": schema}


class DocumentedAPI(NinjaAPI):
    """``NinjaAPI`` whose OpenAPI document describes the error answers (``errors_documented``)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        errors_documented(document)
        return document
