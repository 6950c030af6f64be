"""The operation log's action catalogue, filled by each app in its ``AppConfig.ready()``.

An app declares the actions it writes in its own ``audit_actions.py``: a ``StrEnum`` of its codes
and a function that registers each with its label and its allow-lists::

    class DeviceAction(StrEnum):
        LOCKED = "device.locked"

    def audit_actions_register() -> None:
        action_register(DeviceAction.LOCKED, _("Device locked"), after=("message", "command.id"))

The allow-lists say which keys of an entry's before and after values are recorded; the writer
(``mamori.audit.services``) drops every other key. Paths:

- ``"name"`` keeps the top-level key ``name``. A scalar, or a list of scalars, is kept whole.
- A mapping is never kept whole: ``"command.id"`` keeps ``id`` inside the mapping under
  ``command``; its other keys are dropped (listing ``"command"`` alone records ``{}``). A list of
  mappings is filtered element by element with the same dotted paths.

Nothing is guessed from a key's name. As a guard against a slip, ``action_register`` refuses a
path that names a secret (``password``, ``token``, ``secret``, ``otp``, a PIN, backup codes…):
a secret may not even be passed to the log to be dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# A path segment that names a secret: the whole segment, or its last "_" part ("api_token").
SECRET_SEGMENT = re.compile(
    r"(?:^|_)(?:password|passphrase|passcode|secret|token|tokens|otp|totp|pin"
    r"|backup_codes?|private_key|api_key|key_material)$"
)
PATH = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class UnknownAction(LookupError):
    """An action code no app registered: the entry is refused rather than logged unlabelled."""


@dataclasses.dataclass(frozen=True)
class AuditAction:
    """One action an entry can record: its code, its label, and what its values may contain.

    ``before`` and ``after`` are the allow-lists (dotted paths, see the module's docstring).
    ``label`` is a lazy translation, translated where it is shown.
    """

    code: str
    label: Any  # a lazy string: Django's Promise
    before: frozenset[str] = frozenset()
    after: frozenset[str] = frozenset()


_actions: dict[str, AuditAction] = {}


def _paths(paths: Iterable[str], code: str) -> frozenset[str]:
    if isinstance(paths, str):
        raise ImproperlyConfigured(f"{code}: allow-lists are tuples of paths, not one string")
    checked = frozenset(paths)
    for path in checked:
        if not PATH.match(path):
            raise ImproperlyConfigured(f"{code}: {path!r} is not a path like 'name' or 'a.b'")
        if any(SECRET_SEGMENT.search(segment) for segment in path.split(".")):
            raise ImproperlyConfigured(f"{code}: {path!r} names a secret; it is never logged")
    return checked


def action_register(
    code: str, label: Any, *, before: Iterable[str] = (), after: Iterable[str] = ()
) -> AuditAction:
    """Add an action to the catalogue; return it.

    ``code`` is ``"<noun>.<past participle>"`` (stored in ``LogEntry.action``, at most 64
    characters, never renamed: old entries keep it). Registering the same code again with the
    same definition is harmless; with another, ``ImproperlyConfigured`` (two apps cannot own one
    code). A path naming a secret is ``ImproperlyConfigured`` too.
    """
    code = str(code)
    if not 0 < len(code) <= 64:
        raise ImproperlyConfigured(f"An action code is 1 to 64 characters: {code!r}")
    action = AuditAction(code, label, _paths(before, code), _paths(after, code))
    existing = _actions.setdefault(code, action)
    if existing is not action and existing != action:
        raise ImproperlyConfigured(f"The action {code!r} is already registered differently")
    return existing


def action_get(code: str) -> AuditAction:
    """The registered action; ``UnknownAction`` for a code no app registered."""
    try:
        return _actions[code]
    except KeyError:
        raise UnknownAction(f"No app registered the operation-log action {code!r}") from None


def action_exists(code: str) -> bool:
    return code in _actions


def action_label(code: str) -> str:
    """The action's label in the active language; the code itself for an unknown one (an entry
    written by a version that had it)."""
    action = _actions.get(code)
    return str(action.label) if action else code


def action_choices() -> list[tuple[str, Any]]:
    """``(code, lazy label)`` for every action, in registration order (apps in INSTALLED_APPS
    order, each in its declaration order): the log screen's action filter."""
    return [(a.code, a.label) for a in _actions.values()]


# How a person reads an entry's before/after values: a label per key, and for keys whose values
# are codes, a label per code. Each app registers those of its actions' keys next to them
# (``audit_actions.py``); a key without a label shows as itself.
_key_labels: dict[str, Any] = {}
_value_labels: dict[str, list[Any]] = {}


def key_labels_register(labels: dict[str, Any]) -> None:
    """Labels (lazy translations) of before/after keys, e.g. ``{"name": _("Name")}``. The same
    key registered again with another label is ``ImproperlyConfigured``: a key means one thing."""
    for key, label in labels.items():
        if _key_labels.setdefault(key, label) != label:
            raise ImproperlyConfigured(f"The log key {key!r} already has another label")


def value_labels_register(key: str, labels: dict[str, Any] | Callable[[str], Any]) -> None:
    """Labels of the codes a key's values take, e.g. ``("privilege", {"operator": _("Operator")})``,
    or a function from a value to its label (``None`` for a value it does not know)."""
    _value_labels.setdefault(key, []).append(labels)


def key_label(key: str) -> str:
    label = _key_labels.get(key)
    return str(label) if label is not None else key


def value_label(key: str, value: str) -> str | None:
    """The label of a code ``value`` of ``key``, or ``None`` when the key has no such code."""
    for labels in _value_labels.get(key, ()):
        label = labels(value) if callable(labels) else labels.get(value)
        if label is not None:
            return str(label)
    return None


# How a person reads a target's stored label: an app whose labels hold codes (a device command's
# type, stored as AMAPI's ``LOCK`` rather than in the writer's language) registers a function
# that writes the label out in the active language. Labels it does not know (older entries,
# stored already in words) are shown as they are.
_target_label_renderers: dict[str, Callable[[str], str | None]] = {}


def target_label_register(target_type: str, render: Callable[[str], str | None]) -> None:
    """``render(stored label)`` → the label in the active language, or ``None`` to show the
    stored one. ``ImproperlyConfigured`` for a second renderer of the same type."""
    if _target_label_renderers.setdefault(target_type, render) is not render:
        raise ImproperlyConfigured(f"The target type {target_type!r} already has a renderer")


def target_label(target_type: str, label: str) -> str:
    """An entry's stored target label as the active language reads it (see
    ``target_label_register``); the stored label itself otherwise."""
    render = _target_label_renderers.get(target_type)
    return (render(label) if render and label else None) or label
