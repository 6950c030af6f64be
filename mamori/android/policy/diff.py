"""The comparison of two versions of a policy: which settings changed, old and new values, as a
person reads them (issue 8, point 3 "Versions")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    """The settings that differ between ``old`` and ``new`` (two Policy dicts), in path order."""
    raise NotImplementedError
