"""The registry of device commands: one class per command, registered by the app that owns it.

Zentral's ``register_command`` in spirit (``zentral/contrib/mdm/commands/``): each class declares
everything the rest of Mamori needs to know about a command, so the pages, the API, bulk jobs and
the operation log read it from one place:

- ``code``: Mamori's name in URLs, the API and the log (``"lock"``);
- ``amapi_type``: AMAPI's ``Command.type`` (``"LOCK"``; ANDROID.md 2.2);
- ``label``: what a person reads;
- ``permission``: who may issue it (``"devices.command"`` is the Operator's subset, the rest
  ``"devices.manage"``; the Android app registers those permissions);
- ``parameters``: a pydantic model of its arguments, checked before anything is stored;
- preconditions: ``management_modes``, ``ownerships``, ``min_api_level`` (AMAPI answers
  ``MANAGEMENT_MODE`` / ``API_LEVEL`` otherwise; Mamori refuses before calling);
- ``loggable``: the arguments that may reach the operation log (an allow-list: a new password or a
  lost-mode message the person typed is not on it unless the command says so).

The Android app subclasses ``DeviceCommand`` and decorates each class with ``@register_command``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from pydantic import BaseModel


class NoParameters(BaseModel):
    """The parameters of a command that takes none."""


class CommandTarget(Protocol):
    """A device as command preconditions see it (AMAPI ``Device`` fields, ANDROID.md 2.3)."""

    management_mode: str  # "DEVICE_OWNER" (fully managed) or "PROFILE_OWNER" (work profile)
    ownership: str  # "COMPANY_OWNED" or "PERSONALLY_OWNED"
    api_level: int | None


class DeviceCommand:
    """One kind of device command. Subclasses set the class attributes; see the module docstring."""

    code: ClassVar[str]
    amapi_type: ClassVar[str]
    label: ClassVar[Promise | str]
    permission: ClassVar[str] = "devices.manage"
    parameters: ClassVar[type[BaseModel]] = NoParameters
    management_modes: ClassVar[frozenset[str] | None] = None  # None: any
    ownerships: ClassVar[frozenset[str] | None] = None
    min_api_level: ClassVar[int | None] = None
    loggable: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def unmet(cls, device: CommandTarget) -> list[str]:
        """Why the command cannot run on ``device`` (messages a person reads); empty when it can.
        An unknown API level (no report yet) is not held against the device: AMAPI decides."""
        reasons = []
        if cls.management_modes is not None and device.management_mode not in cls.management_modes:
            # AMAPI's managementMode (ANDROID.md 2.3): DEVICE_OWNER is a fully managed device,
            # PROFILE_OWNER a work profile.
            if cls.management_modes == frozenset({"DEVICE_OWNER"}):
                reasons.append(_("It works only on fully managed devices, not on a work profile."))
            elif cls.management_modes == frozenset({"PROFILE_OWNER"}):
                reasons.append(_("It works only on devices with a work profile."))
            else:
                reasons.append(_("It does not work in this device's management mode."))
        if cls.ownerships is not None and device.ownership not in cls.ownerships:
            reasons.append(_("It works only on company-owned devices."))
        level = device.api_level
        if cls.min_api_level is not None and level is not None and level < cls.min_api_level:
            reasons.append(
                _("It needs Android API level %(required)d or newer; this device has %(level)d.")
                % {"required": cls.min_api_level, "level": level}
            )
        return reasons

    @classmethod
    def log_arguments(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as the operation log may keep them: only the ``loggable`` keys."""
        return {key: value for key, value in arguments.items() if key in cls.loggable}


@dataclasses.dataclass
class CommandRegistry:
    """Command classes by code; filled by the apps' ``AppConfig.ready()``."""

    _commands: dict[str, type[DeviceCommand]] = dataclasses.field(default_factory=dict)

    def register(self, command: type[DeviceCommand]) -> type[DeviceCommand]:
        """Add a command class (usable as a class decorator). Raises ``ImproperlyConfigured`` for
        a code or AMAPI type registered twice, or a loggable name that is not a parameter."""
        for attribute in ("code", "amapi_type", "label"):
            if not hasattr(command, attribute):
                raise ImproperlyConfigured(f"{command.__name__} does not set {attribute}.")
        if command.code in self._commands:
            raise ImproperlyConfigured(f"Device command {command.code!r} is registered twice.")
        if any(c.amapi_type == command.amapi_type for c in self._commands.values()):
            raise ImproperlyConfigured(f"AMAPI type {command.amapi_type} is registered twice.")
        unknown = command.loggable - set(command.parameters.model_fields)
        if unknown:
            raise ImproperlyConfigured(
                f"{command.__name__} logs {sorted(unknown)}, which are not its parameters."
            )
        self._commands[command.code] = command
        return command

    def get(self, code: str) -> type[DeviceCommand]:
        """The command class of ``code``; ``KeyError`` for an unknown one."""
        return self._commands[code]

    def all(self) -> list[type[DeviceCommand]]:
        """Every command, in registration order."""
        return list(self._commands.values())

    def allowed(self, permissions: frozenset[str]) -> list[type[DeviceCommand]]:
        """The commands an account with ``permissions`` may issue."""
        return [c for c in self._commands.values() if c.permission in permissions]


commands = CommandRegistry()
register_command = commands.register
