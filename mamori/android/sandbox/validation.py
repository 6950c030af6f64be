"""The checks Google makes on a Policy body before it stores it, as far as the sandbox mimics them.

Walks the ``Policy`` schema of the discovery document: an unknown field, a value of the wrong JSON
type or an enum value the schema does not list is a 400 INVALID_ARGUMENT with one
``google.rpc.BadRequest`` field violation per problem, in Google's words ("Invalid JSON payload
received. Unknown name …"). Deprecated fields are accepted (Google accepts them); Mamori's own
validation (``mamori.android.policy``) is stricter. Free-form objects are not checked.
"""

from __future__ import annotations

from typing import Any

from mamori.android.sandbox import common
from mamori.android.sandbox.errors import BAD_REQUEST_TYPE, ApiError

MAX_VIOLATIONS = 20


def policy_check(body: Any) -> None:
    """Raise 400 INVALID_ARGUMENT listing the problems of ``body`` against ``Policy``."""
    violations: list[dict[str, str]] = []
    _walk(body, {"$ref": "Policy"}, "policy", violations)
    if violations:
        raise ApiError(
            "INVALID_ARGUMENT",
            violations[0]["description"],
            [{"@type": BAD_REQUEST_TYPE, "fieldViolations": violations[:MAX_VIOLATIONS]}],
        )


JSON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int, str),  # int32 as a number; int64 as a string or a number
    "number": (int, float, str),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


def _walk(value: Any, schema: dict[str, Any], path: str, out: list[dict[str, str]]) -> None:
    if len(out) >= MAX_VIOLATIONS:
        return
    if "$ref" in schema:
        schema = common.discovery()["schemas"][schema["$ref"]]
    kind = schema.get("type", "any")
    if kind == "any" or value is None:
        return
    if kind == "integer" and schema.get("format") == "int32" and isinstance(value, str):
        kind_ok = value.lstrip("-").isdigit()
    else:
        kind_ok = isinstance(value, JSON_TYPES.get(kind, (object,))) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
    if not kind_ok:
        out.append(_violation(path, f"Invalid value at '{path}' ({type(value).__name__})"))
    elif "enum" in schema and value not in schema["enum"]:
        out.append(_violation(path, f"Invalid value at '{path}' ({value!r})"))
    elif kind == "array":
        for index, item in enumerate(value):
            _walk(item, schema.get("items", {}), f"{path}[{index}]", out)
    elif kind == "object" and "properties" in schema:
        for name, item in value.items():
            if name not in schema["properties"]:
                out.append(
                    _violation(
                        path,
                        f"Invalid JSON payload received. Unknown name \"{name}\" at '{path}': "
                        "Cannot find field.",
                    )
                )
            else:
                _walk(item, schema["properties"][name], f"{path}.{name}", out)
    elif kind == "object" and "additionalProperties" in schema:
        for name, item in value.items():
            _walk(item, schema["additionalProperties"], f"{path}[{name!r}]", out)


def _violation(field: str, description: str) -> dict[str, str]:
    return {"field": field, "description": description}
