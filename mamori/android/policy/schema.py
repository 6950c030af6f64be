"""AMAPI's ``Policy`` schema, read from the discovery document that google-api-python-client
ships (``googleapiclient/discovery_cache/documents/androidmanagement.v1.json``), and the check of
a policy against it: ``policy_errors``.

The document is parsed and compiled once per process into a tree of ``_Node`` (one per schema
and per inline property type); ``policy_errors`` walks a policy along that tree. What the document
states only in descriptions (ranges, counts, lengths, freeze periods) is checked by the few rules
in ``_RULES``; sources: ANDROID.md 2.6 and 2.7, and the description quoted next to each rule.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient
from django.utils.translation import gettext as _

DOCUMENT = (
    Path(googleapiclient.__file__).parent
    / "discovery_cache"
    / "documents"
    / "androidmanagement.v1.json"
)

# Fields Google sets and returns with a policy, never a profile's to choose: refused, so that
# what Mamori stores is what a person chose (`policy_without_server_fields` strips them from
# Google's answer). `version` is "read-only" in its description, though not flagged (ANDROID.md 2.6).
SERVER_FIELDS = ("name", "version")

APPLICATIONS_MAX = 3000  # Policy.applications: "at most 3,000 elements"
MESSAGE_LENGTH_MAX = 4096  # UserFacingMessage: "The maximum message length is 4096 characters."
MINUTES_OF_DAY_MAX = 1439  # SystemUpdate.startMinutes/endMinutes: "between 0 and 1439, inclusive"
FREEZE_PERIOD_DAYS_MAX = 90  # FreezePeriod.endDate: "no later than 90 days from the start date"
FREEZE_GAP_DAYS_MIN = 60  # SystemUpdate.freezePeriods: "separated by at least 60 days"
MINIMUM_VERSION_CODE_APPS_MAX = 20  # minimumVersionCode: "At most 20 apps … per policy"
INSTALL_PRIORITY_MAX = 10000  # installPriority: "outside of the range 0 to 10,000 … rejected"
INT32 = (-(2**31), 2**31 - 1)
WORK_OFF_DAYS_MIN = 3  # PersonalUsagePolicies.maxDaysWithWorkOff: "must be at least 3 days"
# Mamori's own bound on nesting (no AMAPI field nests nearly this deep; a managed configuration
# is the only free-form part): a deeper value is refused before anything walks it recursively.
DEPTH_MAX = 32
INT64 = (-(2**63), 2**63 - 1)

# The field to use instead of a deprecated one (ANDROID.md 2.6; descriptions in the document).
REPLACEMENTS: dict[tuple[str, str], str] = {
    ("Policy", "autoTimeRequired"): "autoDateAndTimeZone",
    ("Policy", "cameraDisabled"): "cameraAccess",
    ("Policy", "complianceRules"): "policyEnforcementRules",
    ("Policy", "debuggingFeaturesAllowed"): "advancedSecurityOverrides.developerSettings",
    ("Policy", "ensureVerifyAppsEnabled"): "advancedSecurityOverrides.googlePlayProtectVerifyApps",
    ("Policy", "installUnknownSourcesAllowed"): "advancedSecurityOverrides.untrustedAppsPolicy",
    ("Policy", "passwordRequirements"): "passwordPolicies",
    ("Policy", "safeBootDisabled"): "advancedSecurityOverrides.developerSettings",
    ("Policy", "statusBarDisabled"): "kioskCustomLauncherEnabled",
    ("Policy", "tetheringConfigDisabled"): "deviceConnectivityManagement.tetheringSettings",
    ("Policy", "unmuteMicrophoneDisabled"): "microphoneAccess",
    ("Policy", "usbFileTransferDisabled"): "deviceConnectivityManagement.usbDataAccess",
    ("Policy", "wifiConfigDisabled"): "deviceConnectivityManagement.configureWifi",
    ("ApplicationPolicy", "lockTaskAllowed"): "kioskCustomLauncherEnabled",
}

# Android's package name: two or more dot-separated segments, each a letter then letters, digits
# or underscores (https://developer.android.com/guide/topics/manifest/manifest-element#package).
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
_DURATION = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,9})?s")
_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_INT64 = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class PolicyError:
    """One problem of a policy: ``field`` is its path ("applications[0].installType"; "" for the
    policy itself), ``message`` a sentence in the active language that names it."""

    field: str
    message: str


@dataclass(eq=False)
class _Node:
    """A compiled schema: what a JSON value at one place of a policy must be."""

    kind: str  # object, map, array, string, enum, bool, int32, int64, duration, datetime,
    # number, bytes, any, free
    schema: str = ""  # the discovery schema's name for kind "object"
    props: dict[str, _Prop] = field(default_factory=dict)
    items: _Node | None = None  # array items, map values
    enum: frozenset[str] = frozenset()
    deprecated_values: frozenset[str] = frozenset()
    current_values: tuple[str, ...] = ()  # the values a person may choose, in the doc's order


@dataclass(eq=False)
class _Prop:
    node: _Node
    deprecated: bool


@cache
def discovery_document() -> dict[str, Any]:
    """The AMAPI discovery document of the installed client, parsed once per process."""
    with DOCUMENT.open(encoding="utf-8") as f:
        document: dict[str, Any] = json.load(f)
    return document


@cache
def policy_schema() -> _Node:
    """The ``Policy`` schema compiled (once per process)."""
    schemas = discovery_document()["schemas"]
    compiled: dict[str, _Node] = {}

    def named(name: str) -> _Node:
        if name not in compiled:
            node = compiled[name] = _Node("object", schema=name)
            for key, spec in schemas[name].get("properties", {}).items():
                node.props[key] = _Prop(inline(spec), _is_deprecated(spec))
        return compiled[name]

    def inline(spec: dict[str, Any]) -> _Node:
        if "$ref" in spec:
            return named(spec["$ref"])
        kind, fmt = str(spec.get("type")), spec.get("format")
        if "enum" in spec:
            return _enum_node(spec)
        if kind == "array":
            return _Node("array", items=inline(spec["items"]))
        if kind == "object":
            values = spec.get("additionalProperties")
            if isinstance(values, dict) and values.get("type") != "any":
                return _Node("map", items=inline(values))
            return _Node("free")
        return _Node(_SCALAR_KINDS.get((kind, fmt), "any"))

    return named("Policy")


_SCALAR_KINDS: dict[tuple[str, str | None], str] = {
    ("string", None): "string",
    ("string", "int64"): "int64",
    ("string", "google-duration"): "duration",
    ("string", "google-datetime"): "datetime",
    ("string", "google-fieldmask"): "string",
    ("string", "byte"): "bytes",
    ("boolean", None): "bool",
    ("integer", "int32"): "int32",
    ("number", "float"): "number",
    ("number", "double"): "number",
}


def _enum_node(spec: dict[str, Any]) -> _Node:
    values = spec["enum"]
    flags = spec.get("enumDeprecated") or [False] * len(values)
    deprecated = frozenset(v for v, f in zip(values, flags, strict=False) if f)
    current = tuple(v for v in values if v not in deprecated and not v.endswith("_UNSPECIFIED"))
    return _Node(
        "enum", enum=frozenset(values), deprecated_values=deprecated, current_values=current
    )


def _is_deprecated(spec: dict[str, Any]) -> bool:
    return bool(spec.get("deprecated")) or str(spec.get("description", "")).lower().startswith(
        "deprecated"
    )


def enum_values(path: str) -> tuple[str, ...]:
    """The current values of the enum at ``path`` (dotted, lists as ``[]``: "applications[].
    installType"), in the document's order, without deprecated and ``*_UNSPECIFIED`` ones."""
    node = policy_schema()
    for part in path.replace("[]", ".[]").split("."):
        node = (node.items if part == "[]" else node.props[part].node) or node
    return node.current_values


def policy_errors(policy: object) -> list[PolicyError]:
    """The problems of ``policy`` (any JSON value, as ``json.loads`` gives it) against AMAPI's
    Policy schema and the limits stated in its descriptions; [] when it is valid.

    Refused, each naming its field path: unknown fields (with the closest known name), wrong JSON
    types, enum values not in the document, deprecated fields and enum values (with the current
    field or values), int64 that are not whole numbers (a JSON string of digits or an integer),
    int32 out of range, durations other than ``"3600s"``/``"1.5s"``, datetimes other than RFC 3339,
    non-finite numbers, bools other than true/false, free-form objects (``managedConfiguration``,
    ``openNetworkConfiguration``) that are not objects, ``name`` and ``version`` (set by Google),
    and the description-only limits in ``_RULES``. Never raises; messages are in the active
    language.
    """
    if not isinstance(policy, dict):
        return [PolicyError("", _("The policy must be a JSON object."))]
    errors: list[PolicyError] = []
    for key in SERVER_FIELDS:
        if key in policy:
            errors.append(
                PolicyError(key, _("%(field)s is set by Google: leave it out.") % {"field": key})
            )
    deep = _too_deep(policy)
    if deep is not None:
        return [
            PolicyError(
                deep,
                _("%(field)s is nested more than %(limit)s levels deep.")
                % {"field": deep or "policy", "limit": DEPTH_MAX},
            )
        ]
    rest = {k: v for k, v in policy.items() if k not in SERVER_FIELDS}
    _check(policy_schema(), rest, "", errors)
    return errors


def _too_deep(value: Any) -> str | None:
    """The path where ``value`` nests deeper than ``DEPTH_MAX``, or None (walked without
    recursion, so any depth is safe)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > DEPTH_MAX:
            return path
        if isinstance(item, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))
    return None


def policy_without_server_fields(policy: dict[str, Any]) -> dict[str, Any]:
    """``policy`` without the fields Google sets (``SERVER_FIELDS``): Google's answer to
    ``policies.patch``/``get`` made fit to store as a profile's policy."""
    return {k: v for k, v in policy.items() if k not in SERVER_FIELDS}


def policy_errors_from_google(violations: Iterable[tuple[str, str]]) -> list[PolicyError]:
    """Google's ``INVALID_ARGUMENT`` field violations (``google.rpc.BadRequest.fieldViolations``
    as (field, description) pairs) in the shape of ``policy_errors``. Google writes paths in
    snake_case ("applications[0].install_type"); they are turned into the policy's camelCase.
    Google's description stays in Google's words (English), after a sentence in the active
    language naming the field."""
    errors = []
    for raw_field, description in violations:
        path = _camel_path(str(raw_field or ""))
        if path.startswith("policy."):
            path = path.removeprefix("policy.")
        message = (
            _("%(field)s: Google refused it: %(reason)s") % {"field": path, "reason": description}
            if path
            else _("Google refused the policy: %(reason)s") % {"reason": description}
        )
        errors.append(PolicyError(path, message))
    return errors


def _camel_path(path: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), path)


# The walk ------------------------------------------------------------------------------------


def _check(node: _Node, value: Any, path: str, errors: list[PolicyError]) -> None:
    kind = node.kind
    if kind == "object":
        if not isinstance(value, dict):
            errors.append(_type_error(path, node, value))
            return
        _check_object(node, value, path, errors)
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(_type_error(path, node, value))
            return
        assert node.items is not None
        for i, item in enumerate(value):
            _check(node.items, item, f"{path}[{i}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(_type_error(path, node, value))
            return
        assert node.items is not None
        for key, item in value.items():
            _check(node.items, item, f"{path}.{key}", errors)
    elif kind == "enum":
        _check_enum(node, value, path, errors)
    elif not _SCALAR_CHECKS[kind](value):
        errors.append(_type_error(path, node, value))
    elif kind == "int32" and not INT32[0] <= value <= INT32[1]:
        errors.append(_range_error(path, value, *INT32))


def _check_object(node: _Node, value: dict[Any, Any], path: str, errors: list[PolicyError]) -> None:
    for key, item in value.items():
        sub = f"{path}.{key}" if path else str(key)
        prop = node.props.get(key)
        if prop is None:
            errors.append(_unknown_error(sub, str(key), node))
        elif prop.deprecated:
            errors.append(_deprecated_error(sub, REPLACEMENTS.get((node.schema, key))))
        else:
            _check(prop.node, item, sub, errors)
            rule = _RULES.get((node.schema, key))
            if rule is not None:
                rule(item, sub, errors)
    rule = _RULES.get((node.schema, ""))
    if rule is not None:
        rule(value, path, errors)


def _check_enum(node: _Node, value: Any, path: str, errors: list[PolicyError]) -> None:
    if not isinstance(value, str):
        errors.append(_type_error(path, node, value))
    elif value not in node.enum:
        errors.append(
            PolicyError(
                path,
                _('%(field)s: "%(value)s" is not one of %(allowed)s.')
                % {
                    "field": path,
                    "value": _shown(value),
                    "allowed": ", ".join(node.current_values),
                },
            )
        )
    elif value in node.deprecated_values:
        errors.append(
            PolicyError(
                path,
                _('%(field)s: "%(value)s" is deprecated; use one of %(allowed)s.')
                % {"field": path, "value": value, "allowed": ", ".join(node.current_values)},
            )
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int64(value: Any) -> bool:
    if _is_int(value):
        return bool(INT64[0] <= value <= INT64[1])
    return (
        isinstance(value, str)
        and _INT64.fullmatch(value) is not None
        and INT64[0] <= int(value) <= INT64[1]
    )


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    match = _DATETIME.fullmatch(value)
    if match is None:
        return False
    day, time, _fraction, zone = match.groups()
    zone = "+00:00" if zone in "Zz" else zone
    try:
        datetime.fromisoformat(f"{day}T{time}{zone}")
    except ValueError:
        return False
    return True


def _is_bytes(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        text = value.replace("-", "+").replace("_", "/").rstrip("=")
        base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int32": _is_int,
    "int64": _is_int64,
    "duration": lambda v: isinstance(v, str) and _DURATION.fullmatch(v) is not None,
    "datetime": _is_datetime,
    "number": lambda v: (_is_int(v) or isinstance(v, float)) and math.isfinite(v),
    "bytes": _is_bytes,
    "free": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}


# Messages ------------------------------------------------------------------------------------


def _expected(node: _Node) -> str:
    return {
        "object": _("an object"),
        "map": _("an object"),
        "free": _("an object"),
        "array": _("a list"),
        "string": _("a string"),
        "enum": _("a string"),
        "bool": _("true or false"),
        "int32": _("a whole number"),
        "int64": _('a whole number, as a string of digits (for example "300000")'),
        "duration": _('a duration in seconds (for example "3600s")'),
        "datetime": _('a date and time in RFC 3339 (for example "2026-04-01T09:00:00Z")'),
        "number": _("a number"),
        "bytes": _("base64 text"),
    }.get(node.kind, _("a value"))


def _actual(value: Any) -> str:
    if isinstance(value, bool):
        return _("true or false")
    if isinstance(value, dict):
        return _("an object")
    if isinstance(value, list):
        return _("a list")
    if value is None:
        return "null"
    return f'"{_shown(value)}"' if isinstance(value, str) else _shown(value)


def _shown(value: Any) -> str:
    """A value as a message quotes it: strings as they are, at most 60 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _type_error(path: str, node: _Node, value: Any) -> PolicyError:
    return PolicyError(
        path,
        _("%(field)s: expected %(expected)s, not %(actual)s.")
        % {"field": path or _("The policy"), "expected": _expected(node), "actual": _actual(value)},
    )


def _unknown_error(path: str, key: str, node: _Node) -> PolicyError:
    close = difflib.get_close_matches(
        key, [k for k, p in node.props.items() if not p.deprecated], n=1
    )
    if close:
        message = _("%(field)s: unknown field; did you mean %(suggestion)s?") % {
            "field": path,
            "suggestion": close[0],
        }
    else:
        message = _("%(field)s: unknown field.") % {"field": path}
    return PolicyError(path, message)


def _deprecated_error(path: str, replacement: str | None) -> PolicyError:
    if replacement:
        message = _("%(field)s is deprecated: use %(replacement)s instead.") % {
            "field": path,
            "replacement": replacement,
        }
    else:
        message = _("%(field)s is deprecated: leave it out.") % {"field": path}
    return PolicyError(path, message)


def _range_error(path: str, value: Any, low: int, high: int) -> PolicyError:
    return PolicyError(
        path,
        _("%(field)s: %(value)s is out of range (%(minimum)s to %(maximum)s).")
        % {"field": path, "value": value, "minimum": low, "maximum": high},
    )


# Limits the document states only in descriptions ----------------------------------------------

Rule = Callable[[Any, str, list[PolicyError]], None]


def _minutes_of_day(value: Any, path: str, errors: list[PolicyError]) -> None:
    if _is_int(value) and not 0 <= value <= MINUTES_OF_DAY_MAX:
        errors.append(_range_error(path, value, 0, MINUTES_OF_DAY_MAX))


def _install_priority(value: Any, path: str, errors: list[PolicyError]) -> None:
    if _is_int(value) and not 0 <= value <= INSTALL_PRIORITY_MAX:
        errors.append(_range_error(path, value, 0, INSTALL_PRIORITY_MAX))


def _not_negative(value: Any, path: str, errors: list[PolicyError]) -> None:
    number = value if _is_int(value) else int(value) if _is_int64(value) else None
    if number is not None and number < 0:
        errors.append(_range_error(path, value, 0, INT32[1]))


def _work_off_days(value: Any, path: str, errors: list[PolicyError]) -> None:
    if _is_int(value) and (value < 0 or 0 < value < WORK_OFF_DAYS_MIN):
        errors.append(
            PolicyError(
                path,
                _("%(field)s: 0 (no limit) or at least %(minimum)s days (now %(value)s).")
                % {"field": path, "minimum": WORK_OFF_DAYS_MIN, "value": value},
            )
        )


def _applications(apps: Any, path: str, errors: list[PolicyError]) -> None:
    if not isinstance(apps, list):
        return
    if len(apps) > APPLICATIONS_MAX:
        errors.append(
            PolicyError(
                path,
                _("%(field)s: at most %(limit)s entries (now %(count)s).")
                % {"field": path, "limit": f"{APPLICATIONS_MAX:,}", "count": f"{len(apps):,}"},
            )
        )
    seen: set[str] = set()
    versioned = 0
    for i, app in enumerate(apps):
        if not isinstance(app, dict):
            continue
        name = app.get("packageName")
        if isinstance(name, str) and name in seen:
            errors.append(
                PolicyError(
                    f"{path}[{i}].packageName",
                    _("%(field)s: %(package)s is listed more than once.")
                    % {"field": f"{path}[{i}].packageName", "package": name},
                )
            )
        if isinstance(name, str):
            seen.add(name)
        versioned += "minimumVersionCode" in app
    if versioned > MINIMUM_VERSION_CODE_APPS_MAX:
        errors.append(
            PolicyError(
                path,
                _("%(field)s: at most %(limit)s apps may set minimumVersionCode (now %(count)s).")
                % {"field": path, "limit": MINIMUM_VERSION_CODE_APPS_MAX, "count": versioned},
            )
        )


def _application(app: dict[str, Any], path: str, errors: list[PolicyError]) -> None:
    sub = f"{path}.packageName"
    name = app.get("packageName")
    if name is None or name == "":
        errors.append(PolicyError(sub, _("%(field)s is required.") % {"field": sub}))
    elif isinstance(name, str) and not package_name_valid(name):
        errors.append(
            PolicyError(
                sub,
                _('%(field)s: "%(value)s" is not a package name (for example com.example.app).')
                % {"field": sub, "value": _shown(name)},
            )
        )


def package_name_valid(name: str) -> bool:
    """Whether ``name`` is an Android package name ("com.example.app")."""
    return len(name) <= 255 and PACKAGE_NAME.fullmatch(name) is not None


def _message(message: dict[str, Any], path: str, errors: list[PolicyError]) -> None:
    texts = [("defaultMessage", message.get("defaultMessage"))]
    localized = message.get("localizedMessages")
    if isinstance(localized, dict):
        texts += [(f"localizedMessages.{k}", v) for k, v in localized.items()]
        if localized and not message.get("defaultMessage"):
            sub = f"{path}.defaultMessage"
            errors.append(
                PolicyError(
                    sub,
                    _("%(field)s is required when localized messages are given.") % {"field": sub},
                )
            )
    for key, text in texts:
        if isinstance(text, str) and len(text) > MESSAGE_LENGTH_MAX:
            sub = f"{path}.{key}"
            errors.append(
                PolicyError(
                    sub,
                    _("%(field)s: at most %(limit)s characters (now %(count)s).")
                    % {"field": sub, "limit": f"{MESSAGE_LENGTH_MAX:,}", "count": f"{len(text):,}"},
                )
            )


def _password(requirements: dict[str, Any], path: str, errors: list[PolicyError]) -> None:
    unified = requirements.get("unifiedLockSettings")
    if unified not in (None, "UNIFIED_LOCK_SETTINGS_UNSPECIFIED") and (
        requirements.get("passwordScope") != "SCOPE_PROFILE"
    ):
        sub = f"{path}.unifiedLockSettings"
        errors.append(
            PolicyError(
                sub,
                _("%(field)s can be set only with passwordScope SCOPE_PROFILE.") % {"field": sub},
            )
        )


# Days before each month's first day in a year of 365 days: Google ignores leap years in freeze
# periods (Feb 29 counts as Feb 28; FreezePeriod's description).
_MONTH_STARTS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _day_of_year(date: Any, path: str, errors: list[PolicyError]) -> int | None:
    """The day (0-364) of a FreezePeriod's ``{month, day}``, or None after adding its error."""
    month: Any = date.get("month") if isinstance(date, dict) else None
    day: Any = date.get("day") if isinstance(date, dict) else None
    if not (
        _is_int(month) and _is_int(day) and 1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1]
    ):
        errors.append(
            PolicyError(
                path,
                _("%(field)s: give a month (1-12) and a day of that month.") % {"field": path},
            )
        )
        return None
    return int(_MONTH_STARTS[month - 1] + min(day, 28 if month == 2 else day) - 1)


def _freeze_periods(periods: Any, path: str, errors: list[PolicyError]) -> None:
    if not isinstance(periods, list):
        return
    spans = []
    for i, period in enumerate(periods):
        sub = f"{path}[{i}]"
        if not isinstance(period, dict):
            return
        start = _day_of_year(period.get("startDate"), f"{sub}.startDate", errors)
        end = _day_of_year(period.get("endDate"), f"{sub}.endDate", errors)
        if start is None or end is None:
            return
        length = (end - start) % 365 + 1
        if length > FREEZE_PERIOD_DAYS_MAX:
            errors.append(
                PolicyError(
                    sub,
                    _("%(field)s: a freeze period is at most %(limit)s days (now %(days)s).")
                    % {"field": sub, "limit": FREEZE_PERIOD_DAYS_MAX, "days": length},
                )
            )
            return
        spans.append((start, start + length - 1, sub))
    spans.sort()
    for (_s1, end1, _p1), (start2, _e2, sub2) in zip(spans, spans[1:] + spans[:1], strict=True):
        if len(spans) > 1 and (start2 - end1 - 1) % 365 < FREEZE_GAP_DAYS_MIN:
            errors.append(
                PolicyError(
                    sub2,
                    _("%(field)s: freeze periods must be at least %(limit)s days apart.")
                    % {"field": sub2, "limit": FREEZE_GAP_DAYS_MIN},
                )
            )
            return


def _setup_actions(actions: Any, path: str, errors: list[PolicyError]) -> None:
    if (
        isinstance(actions, list) and len(actions) > 1
    ):  # Policy.setupActions: "At most one action may be specified."
        errors.append(
            PolicyError(
                path,
                _("%(field)s: at most %(limit)s entries (now %(count)s).")
                % {"field": path, "limit": 1, "count": len(actions)},
            )
        )


# (schema, property) → a check of the property's value after its schema check; (schema, "") → a
# check of the whole object. Either may meet a value of the wrong shape: each looks before it reads.
_RULES: dict[tuple[str, str], Rule] = {
    ("Policy", "applications"): _applications,
    ("Policy", "setupActions"): _setup_actions,
    ("ApplicationPolicy", ""): _application,
    ("ApplicationPolicy", "installPriority"): _install_priority,
    ("SystemUpdate", "startMinutes"): _minutes_of_day,
    ("SystemUpdate", "endMinutes"): _minutes_of_day,
    ("SystemUpdate", "freezePeriods"): _freeze_periods,
    ("UserFacingMessage", ""): _message,
    ("PasswordRequirements", ""): _password,
    ("PersonalUsagePolicies", "maxDaysWithWorkOff"): _work_off_days,
    # Counts and lengths: the document types them int32, but a negative one means nothing.
    **{
        ("PasswordRequirements", count): _not_negative
        for count in (
            "passwordMinimumLength",
            "passwordMinimumLetters",
            "passwordMinimumLowerCase",
            "passwordMinimumNonLetter",
            "passwordMinimumNumeric",
            "passwordMinimumSymbols",
            "passwordMinimumUpperCase",
            "passwordHistoryLength",
            "maximumFailedPasswordsForWipe",
        )
    },
    ("Policy", "maximumTimeToLock"): _not_negative,
}
