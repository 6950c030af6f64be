"""The comparison of two versions of a policy: which settings changed, old and new values, as a
person reads them (issue 8, point 3 "Versions")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mamori.android.policy.fields import (
    ABSENT,
    APP_CHOICES,
    APP_LABELS,
    BY_PATH,
    NOT_SET,
    REPORT_LABELS,
    display_value,
)

# Paths the form fills by itself (no field of their own), named for the comparison.
DERIVED_LABELS = {
    "shortSupportMessage.defaultMessage": _("Short support message (other languages)"),
    "longSupportMessage.defaultMessage": _("Long support message (other languages)"),
}
# The form's order (a window's start before its end), then the rest by path.
_ORDER = {path: i for i, path in enumerate(BY_PATH)}


def _order(path: str) -> tuple[int, str]:
    return (_ORDER.get(path, len(_ORDER)), path)


@dataclass(frozen=True)
class Change:
    """One changed setting. ``path`` is the setting's place ("cameraAccess",
    "applications[com.example.app].installType": apps keyed by package name, not index);
    ``label`` its translated name (the form's label, else the path); ``old``/``new`` the values
    displayed (translated choices, はい/いいえ, minutes, days; "Not set" when absent);
    ``old_value``/``new_value`` the JSON values (None when absent)."""

    path: str
    label: str
    old: str
    new: str
    old_value: Any = None
    new_value: Any = None


def policy_diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The settings that differ between ``old`` and ``new`` (two Policy dicts), in the form's
    order (then by path).

    Both are flattened to paths: objects by key, ``applications`` (any list of objects with
    distinct package names) by package name, other lists of objects by index; lists of plain
    values and the form's settings (freeze periods, lock-screen features) are one value each.
    """
    before, after = flatten(old), flatten(new)
    changes = []
    for path in sorted(before.keys() | after.keys(), key=_order):
        a, b = before.get(path, ABSENT), after.get(path, ABSENT)
        if a != b or type(a) is not type(b):
            changes.append(
                Change(
                    path,
                    label_of(path),
                    display_of(path, a),
                    display_of(path, b),
                    None if a is ABSENT else a,
                    None if b is ABSENT else b,
                )
            )
    return changes


def flatten(policy: Any, prefix: str = "") -> dict[str, Any]:
    """``{path: value}`` of every leaf of ``policy`` (see ``policy_diff``)."""
    leaves: dict[str, Any] = {}
    if policy or prefix:  # an empty policy has no settings, not one empty setting at ""
        _flatten(policy, prefix, leaves)
    return leaves


def _flatten(value: Any, path: str, leaves: dict[str, Any]) -> None:
    # A managed configuration is the app's own JSON: one value, shown as JSON.
    if (
        path in BY_PATH
        or path.endswith(".managedConfiguration")
        or not value
        or not isinstance(value, dict | list)
    ):
        leaves[path] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), leaves)
    elif (keys := _package_keys(value)) is not None:
        for key, item in zip(keys, value, strict=True):
            _flatten(item, f"{path}[{key}]", leaves)
    elif all(isinstance(item, dict | list) for item in value):
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{i}]", leaves)
    else:
        leaves[path] = value


def _package_keys(items: list[Any]) -> list[str] | None:
    names = [item.get("packageName") if isinstance(item, dict) else None for item in items]
    strings = [n for n in names if isinstance(n, str) and n]
    return strings if len(set(strings)) == len(names) else None


def label_of(path: str) -> str:
    """The translated name of ``path``: the form's label, an app's column, else the path."""
    if path in BY_PATH:
        return str(BY_PATH[path].label)
    if path in DERIVED_LABELS:
        return str(DERIVED_LABELS[path])
    if path.startswith("statusReportingSettings."):
        key = path.removeprefix("statusReportingSettings.")
        if key in REPORT_LABELS:
            return str(REPORT_LABELS[key])
    app = _app_part(path)
    if app is not None:
        package, key = app
        setting = APP_LABELS.get(key)
        if setting is not None:
            return gettext("App %(package)s: %(setting)s") % {
                "package": package,
                "setting": setting,
            }
        return gettext("App %(package)s: %(setting)s") % {"package": package, "setting": key or "—"}
    return path


def display_of(path: str, value: Any) -> str:
    """``value`` at ``path`` as a person reads it ("Not set" when absent)."""
    if value is ABSENT:
        return str(NOT_SET)
    if path in BY_PATH:
        return BY_PATH[path].display(value)
    app = _app_part(path)
    if app is not None and app[1] in APP_CHOICES and isinstance(value, str):
        return str(dict(APP_CHOICES[app[1]]).get(value, value))
    return display_value(value)


def _app_part(path: str) -> tuple[str, str] | None:
    """("com.example.app", "installType") for "applications[com.example.app].installType"."""
    if not path.startswith("applications["):
        return None
    package, _, rest = path.removeprefix("applications[").partition("]")
    return package, rest.removeprefix(".").split(".")[0]
