"""An entry's before/after values as a person reads them: one row per key, with the key's label
and each value written out in the active language (never a Python repr)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from mamori.audit import registry
from mamori.audit.targets import target_type_label


@dataclasses.dataclass(frozen=True)
class ChangeRow:
    key: str
    label: str
    before: str
    after: str
    changed: bool


EMPTY = "—"


def value_text(key: str, value: Any) -> str:
    """A value of ``key`` as text: codes by their labels, yes/no, lists one item after another,
    mappings as "label: value" pairs, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return number_format(value)
    if isinstance(value, str):
        return registry.value_label(key, value) or value
    if isinstance(value, list):
        return _(", ").join(value_text(key, item) for item in value)
    if isinstance(value, dict):
        return _(", ").join(
            f"{registry.key_label(k)}: {value_text(k, v)}" for k, v in value.items()
        )
    return str(value)


def change_rows(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[ChangeRow]:
    """Every key of either side in the order written (before's first), with both values."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    rows = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        rows.append(
            ChangeRow(
                key=key,
                label=registry.key_label(key),
                before=value_text(key, old) if key in before else EMPTY,
                after=value_text(key, new) if key in after else EMPTY,
                changed=key in before and key in after and old != new,
            )
        )
    return rows


def target_text(target_type: str, target_label: str, target_id: str) -> str:
    """The target as "Mamori account: yamada"; its id only when it has no label."""
    kind = target_type_label(target_type)
    name = registry.target_label(target_type, target_label) or target_id
    if not kind:
        return name or EMPTY
    return f"{kind}: {name}" if name else kind
