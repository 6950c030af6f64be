"""The device commands Mamori issues, one class each (``mamori.core.commands``, Zentral's
``register_command`` in spirit), and what each knows of AMAPI (ANDROID.md 2.2).

Each class declares its code, AMAPI type, label, permission (``commands.<action>``,
``mamori.android.permissions``), parameters (a pydantic model), preconditions (management mode,
ownership, API level: refused before anything is sent), what may reach the operation log
(``loggable``) and what is never stored anywhere (``secret``), and turns its parameters into
AMAPI's ``Command`` body (``amapi_command``) and a finished ``Operation`` into its outcome
(``failure``: a command-specific status other than SUCCESS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from mamori.android.commands.passwords import password_policy_errors
from mamori.core.commands import CommandTarget, DeviceCommand, NoParameters, commands
from mamori.core.text import control_character, line_break

if TYPE_CHECKING:
    from mamori.android.models import Device

# AMAPI's packageName: Java package rules (letters, digits, _ in dot-separated parts).
PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
MAX_PACKAGES = 100
WIPE_REASON_MAX = 200  # wipeParams.wipeReason: "≤ 200 characters" (ANDROID.md 2.2)
COMPANY = frozenset({"COMPANY_OWNED"})
PERSONAL = "PERSONALLY_OWNED"
LOST = "LOST"  # Device.appliedState of a device in lost mode
FULLY_MANAGED = frozenset({"DEVICE_OWNER"})
WORK_PROFILE = frozenset({"PROFILE_OWNER"})


class Strict(BaseModel):
    """Parameters: unknown keys refused, text kept as typed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class AndroidCommand(DeviceCommand):
    """A Mamori device command: ``DeviceCommand`` plus what the Android app needs.

    ``bulk``: may be issued to many devices at once. ``inline``: sent while the person waits,
    never through stored work (a new password). ``secret``: parameters never stored or logged.
    ``stored``: the parameters kept in ``Command.params`` (AMAPI's names where they exist).
    """

    parameters: ClassVar[type[BaseModel]] = NoParameters
    bulk: ClassVar[bool] = True
    inline: ClassVar[bool] = False
    secret: ClassVar[frozenset[str]] = frozenset()
    help: ClassVar[Any] = ""

    @classmethod
    def check(cls, params: Any, device: Device | None) -> dict[str, list[str]]:
        """Errors per parameter beyond their types (``device`` is None in a bulk job)."""
        return {}

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        """AMAPI's ``Command`` body, without ``duration`` (added when it is sent)."""
        return {"type": cls.amapi_type}

    @classmethod
    def stored(cls, params: Any) -> dict[str, Any]:
        """The parameters as ``Command.params`` keeps them: never a secret one."""
        return params.model_dump(exclude=set(cls.secret)) if params is not None else {}

    @classmethod
    def stored_for(cls, stored: dict[str, Any], device: Device) -> dict[str, Any]:
        """A bulk job's stored parameters as ``device`` takes them (the same, unless a command
        says otherwise: a personal device's wipe drops the factory-reset flags)."""
        return stored

    @classmethod
    def failure(cls, metadata: Mapping[str, Any]) -> str:
        """The failing command-specific status of a finished operation's ``metadata`` (the
        Command), or ``""``. Read first, before ``errorCode`` (ANDROID.md 2.2)."""
        return ""

    @classmethod
    def result_of(cls, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """What ``Command.result`` keeps of the metadata: its command-specific status only."""
        return {}


def _text_errors(values: Mapping[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if value and control_character(value.replace("\n", "").replace("\r", "")):
            errors[name] = [_("Remove the control characters from this text.")]
    return errors


def _message(text: str) -> dict[str, Any]:
    """A ``UserFacingMessage``: the text as typed, shown in any language (``defaultMessage``)."""
    return {"defaultMessage": text}


# ── The commands ────────────────────────────────────────────────────────────────────────────


class Lock(AndroidCommand):
    """LOCK: "as if the lock screen timeout had expired"; a work profile with a separate
    lock locks only the work profile."""

    code = "lock"
    amapi_type = "LOCK"
    label = gettext_lazy("Lock")
    permission = "commands.lock"
    help = gettext_lazy(
        "Locks the screen. On a work profile with its own lock, only the work profile is locked."
    )


class ResetPasswordParameters(Strict):
    new_password: str = Field(max_length=128)
    confirmation: str = Field(max_length=128)
    require_entry: bool = False
    lock_now: bool = False
    do_not_ask_credentials_on_boot: bool = False


RESET_FLAGS = {
    "require_entry": "REQUIRE_ENTRY",
    "do_not_ask_credentials_on_boot": "DO_NOT_ASK_CREDENTIALS_ON_BOOT",
    "lock_now": "LOCK_NOW",
}


class ResetPassword(AndroidCommand):
    """RESET_PASSWORD with ``newPassword`` and ``resetPasswordFlags``.

    The password is checked against the device's password policies and Android's rules
    (``passwords``), sent inline while the person waits, and never stored or logged: it is
    ``secret``, so ``Command.params`` keeps the flags only.
    """

    code = "reset_password"
    amapi_type = "RESET_PASSWORD"
    label = gettext_lazy("Reset password")
    permission = "commands.reset_password"
    parameters = ResetPasswordParameters
    bulk = False
    inline = True
    secret = frozenset({"new_password", "confirmation"})
    loggable = frozenset({"require_entry", "lock_now", "do_not_ask_credentials_on_boot"})
    help = gettext_lazy(
        "Sets a new screen-lock password. It is sent to Google at once and never kept by Mamori."
    )

    @classmethod
    def check(cls, params: Any, device: Device | None) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if params.new_password != params.confirmation:
            errors["confirmation"] = [_("The two passwords do not match.")]
        problems = password_policy_errors(params.new_password, device)
        if problems:
            errors["new_password"] = problems
        return errors

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        flags = [flag for name, flag in RESET_FLAGS.items() if getattr(params, name)]
        body: dict[str, Any] = {"type": cls.amapi_type, "newPassword": params.new_password}
        if flags:
            body["resetPasswordFlags"] = flags
        return body


class Reboot(AndroidCommand):
    """REBOOT: fully managed devices on Android 7.0 (API 24) or newer only."""

    code = "reboot"
    amapi_type = "REBOOT"
    label = gettext_lazy("Reboot")
    permission = "commands.reboot"
    management_modes = FULLY_MANAGED
    min_api_level = 24
    help = gettext_lazy("Restarts the device (fully managed devices, Android 7.0 or newer).")


class StartLostModeParameters(Strict):
    message: str = Field("", max_length=1000)
    phone_number: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    street_address: str = Field("", max_length=500)
    organization: str = Field("", max_length=200)


PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]*$")


class StartLostMode(AndroidCommand):
    """START_LOST_MODE with ``startLostModeParams``: company-owned devices only (fully managed,
    or a work profile on a company-owned device). At least one field besides the organization.
    The outcome is ``startLostModeStatus.status``: anything but SUCCESS is a failure."""

    code = "start_lost_mode"
    amapi_type = "START_LOST_MODE"
    label = gettext_lazy("Start lost mode")
    permission = "commands.lost_mode"
    parameters = StartLostModeParameters
    ownerships = COMPANY
    loggable = frozenset({"message", "phone_number", "email", "street_address", "organization"})
    help = gettext_lazy(
        "Locks the device and shows your message and contact details on its screen, so that "
        "whoever finds it can return it. Company-owned devices only. Fill in at least one of "
        "the message, phone number, e-mail address or street address (the company name "
        "alone is not enough)."
    )

    @classmethod
    def unmet(cls, device: CommandTarget) -> list[str]:
        """Beyond ownership: a device already reported in lost mode (``appliedState`` LOST) is
        refused, as AMAPI would answer ``ALREADY_IN_LOST_MODE``."""
        reasons = super().unmet(device)
        if getattr(device, "applied_state", "") == LOST:
            reasons.append(_("The device is already in lost mode."))
        return reasons

    @classmethod
    def check(cls, params: Any, device: Device | None) -> dict[str, list[str]]:
        errors = _text_errors(params.model_dump())
        for name in ("phone_number", "email", "organization"):
            if line_break(getattr(params, name)):
                errors.setdefault(name, []).append(_("Enter this on one line."))
        if params.phone_number and not PHONE.match(params.phone_number.strip()):
            errors.setdefault("phone_number", []).append(
                _("Enter a phone number: digits, spaces, hyphens, brackets and a leading +.")
            )
        if params.email:
            try:
                validate_email(params.email.strip())
            except Exception:  # noqa: BLE001 - Django's ValidationError: any failure is the same answer
                errors.setdefault("email", []).append(_("Enter a valid e-mail address."))
        if not any(
            getattr(params, n).strip()
            for n in ("message", "phone_number", "email", "street_address")
        ):
            errors.setdefault("message", []).append(
                _(
                    "Enter a message, a phone number, an e-mail address or a street address: "
                    "the company name alone is not enough."
                )
            )
        return errors

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        lost: dict[str, Any] = {}
        for name, key in (
            ("message", "lostMessage"),
            ("phone_number", "lostPhoneNumber"),
            ("street_address", "lostStreetAddress"),
            ("organization", "lostOrganization"),
        ):
            if getattr(params, name).strip():
                lost[key] = _message(getattr(params, name).strip())
        if params.email.strip():
            lost["lostEmailAddress"] = params.email.strip()
        return {"type": cls.amapi_type, "startLostModeParams": lost}

    @classmethod
    def failure(cls, metadata: Mapping[str, Any]) -> str:
        status = str((metadata.get("startLostModeStatus") or {}).get("status") or "")
        return "" if status in ("", "SUCCESS", "STATUS_UNSPECIFIED") else status

    @classmethod
    def result_of(cls, metadata: Mapping[str, Any]) -> dict[str, Any]:
        status = metadata.get("startLostModeStatus")
        return {"startLostModeStatus": status} if isinstance(status, dict) else {}


class StopLostMode(AndroidCommand):
    """STOP_LOST_MODE; the outcome is ``stopLostModeStatus.status`` (NOT_IN_LOST_MODE fails)."""

    code = "stop_lost_mode"
    amapi_type = "STOP_LOST_MODE"
    label = gettext_lazy("Stop lost mode")
    permission = "commands.lost_mode"
    ownerships = COMPANY
    help = gettext_lazy("Ends lost mode: the device can be used again.")

    @classmethod
    def unmet(cls, device: CommandTarget) -> list[str]:
        """Beyond ownership: only a device reported in lost mode (``appliedState`` LOST); AMAPI
        would answer ``NOT_IN_LOST_MODE``."""
        reasons = super().unmet(device)
        if getattr(device, "applied_state", LOST) != LOST:
            reasons.append(_("The device is not in lost mode."))
        return reasons

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        return {"type": cls.amapi_type, "stopLostModeParams": {}}

    @classmethod
    def failure(cls, metadata: Mapping[str, Any]) -> str:
        status = str((metadata.get("stopLostModeStatus") or {}).get("status") or "")
        return "" if status in ("", "SUCCESS", "STATUS_UNSPECIFIED") else status

    @classmethod
    def result_of(cls, metadata: Mapping[str, Any]) -> dict[str, Any]:
        status = metadata.get("stopLostModeStatus")
        return {"stopLostModeStatus": status} if isinstance(status, dict) else {}


class ClearAppDataParameters(Strict):
    package_names: list[str] = Field(min_length=1, max_length=MAX_PACKAGES)


def device_packages(device: Device | None) -> list[tuple[str, str]]:
    """``[(package, display name)]`` from the device's ``applicationReports`` (installed ones)."""
    if device is None:
        return []
    reports = (device.report or {}).get("applicationReports") or []
    found = {}
    for app in reports if isinstance(reports, list) else []:
        if (
            isinstance(app, dict)
            and isinstance(app.get("packageName"), str)
            and app.get("state", "INSTALLED") != "REMOVED"
        ):
            found[app["packageName"]] = str(app.get("displayName") or app["packageName"])
    return sorted(found.items(), key=lambda item: item[1].lower())


class ClearAppData(AndroidCommand):
    """CLEAR_APP_DATA (Android 9, API 28, or newer) with ``clearAppsDataParams.packageNames``;
    per-package results in ``clearAppsDataStatus.results``: anything but SUCCESS fails."""

    code = "clear_app_data"
    amapi_type = "CLEAR_APP_DATA"
    label = gettext_lazy("Clear app data")
    permission = "commands.clear_app_data"
    parameters = ClearAppDataParameters
    min_api_level = 28
    loggable = frozenset({"package_names"})
    help = gettext_lazy("Deletes the data of the chosen apps on the device (Android 9 or newer).")

    @classmethod
    def check(cls, params: Any, device: Device | None) -> dict[str, list[str]]:
        bad = [p for p in params.package_names if not PACKAGE.match(p) or len(p) > 255]
        if bad:
            return {
                "package_names": [
                    _("Not a package name: %(names)s") % {"names": ", ".join(bad[:5])}
                ]
            }
        if device is not None:
            known = {package for package, _name in device_packages(device)}
            unknown = [p for p in params.package_names if p not in known]
            if unknown:
                return {
                    "package_names": [
                        _("The device does not report these apps: %(names)s")
                        % {"names": ", ".join(unknown[:5])}
                    ]
                }
        return {}

    @classmethod
    def stored(cls, params: Any) -> dict[str, Any]:
        return {"package_names": sorted(set(params.package_names))}

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        return {
            "type": cls.amapi_type,
            "clearAppsDataParams": {"packageNames": sorted(set(params.package_names))},
        }

    @classmethod
    def failure(cls, metadata: Mapping[str, Any]) -> str:
        results = (metadata.get("clearAppsDataStatus") or {}).get("results") or {}
        failed = [
            r.get("clearingResult")
            for r in results.values()
            if isinstance(r, dict) and r.get("clearingResult") not in (None, "SUCCESS")
        ]
        return "CLEAR_APP_DATA_INCOMPLETE" if failed else ""

    @classmethod
    def result_of(cls, metadata: Mapping[str, Any]) -> dict[str, Any]:
        status = metadata.get("clearAppsDataStatus")
        return {"clearAppsDataStatus": status} if isinstance(status, dict) else {}


class RelinquishOwnership(AndroidCommand):
    """RELINQUISH_OWNERSHIP: a company-owned device with a work profile (Android 8.0, API 26,
    or newer) loses its work profile and leaves management; AMAPI then deletes the device."""

    code = "relinquish_ownership"
    amapi_type = "RELINQUISH_OWNERSHIP"
    label = gettext_lazy("Relinquish ownership")
    permission = "commands.relinquish_ownership"
    management_modes = WORK_PROFILE
    ownerships = COMPANY
    min_api_level = 26
    help = gettext_lazy(
        "Removes the work profile and every policy; the device becomes personal and leaves "
        "management (this is not an alert)."
    )


class WipeParameters(Strict):
    confirm_serial: str = Field("", max_length=100)
    preserve_reset_protection_data: bool = False
    wipe_external_storage: bool = False
    wipe_esims: bool = False
    reason: str = Field("", max_length=WIPE_REASON_MAX)


WIPE_FLAGS = {
    "preserve_reset_protection_data": "PRESERVE_RESET_PROTECTION_DATA",
    "wipe_external_storage": "WIPE_EXTERNAL_STORAGE",
    "wipe_esims": "WIPE_ESIMS",
}


def device_label(device: Device) -> str:
    """What a person types to confirm a wipe: the serial number, else the device's id."""
    return device.serial_number or device.name.rsplit("/", 1)[-1]


class Wipe(AndroidCommand):
    """WIPE with ``wipeParams`` (``wipeDataFlags``, ``wipeReason`` ≤ 200 characters): a factory
    reset of a company-owned device; a personal device loses only its work profile (so the
    flags, about a factory reset, are refused for one). A single
    device's wipe needs its serial number typed; a bulk wipe of several, their count."""

    code = "wipe"
    amapi_type = "WIPE"
    label = gettext_lazy("Wipe")
    permission = "commands.wipe"
    parameters = WipeParameters
    secret = frozenset({"confirm_serial"})
    loggable = frozenset(
        {"preserve_reset_protection_data", "wipe_external_storage", "wipe_esims", "reason"}
    )
    help = gettext_lazy(
        "Erases the device (a factory reset). On a personal device only the work profile and "
        "its data are removed; the owner's own data stay."
    )

    @classmethod
    def check(cls, params: Any, device: Device | None) -> dict[str, list[str]]:
        errors = _text_errors({"reason": params.reason})
        if params.reason and line_break(params.reason):
            errors.setdefault("reason", []).append(_("Enter this on one line."))
        if device is not None and device.ownership == PERSONAL:
            # A personal device loses only its work profile: the factory-reset flags do not
            # apply to it (WipeDataFlags, ANDROID.md 2.2).
            for name in WIPE_FLAGS:
                if getattr(params, name):
                    errors[name] = [_("A personal device loses only its work profile.")]
        if (
            device is not None
            and params.confirm_serial.strip().upper() != device_label(device).upper()
        ):
            errors["confirm_serial"] = [
                _("Type the device's serial number %(serial)s to confirm.")
                % {"serial": device_label(device)}
            ]
        return errors

    @classmethod
    def stored_for(cls, stored: dict[str, Any], device: Device) -> dict[str, Any]:
        if device.ownership != PERSONAL:
            return stored
        return {key: value for key, value in stored.items() if key not in WIPE_FLAGS}

    @classmethod
    def amapi_command(cls, params: Any) -> dict[str, Any]:
        wipe: dict[str, Any] = {}
        flags = [flag for name, flag in WIPE_FLAGS.items() if getattr(params, name)]
        if flags:
            wipe["wipeDataFlags"] = flags
        if params.reason.strip():
            wipe["wipeReason"] = _message(params.reason.strip())
        return {"type": cls.amapi_type, "wipeParams": wipe}


ALL: tuple[type[AndroidCommand], ...] = (
    Lock,
    ResetPassword,
    Reboot,
    StartLostMode,
    StopLostMode,
    ClearAppData,
    RelinquishOwnership,
    Wipe,
)


def register() -> None:
    """Called from ``AndroidConfig.ready()``: every command into ``core.commands``."""
    for command in ALL:
        if command.code not in {c.code for c in commands.all()}:
            commands.register(command)


def command_of(code: str) -> type[AndroidCommand]:
    """The command class of ``code`` (Mamori's code, e.g. ``"lock"``); ``KeyError`` if unknown."""
    found = commands.get(code)
    assert issubclass(found, AndroidCommand)
    return found


def command_of_type(amapi_type: str) -> type[AndroidCommand]:
    """The command class of an AMAPI type (``"LOCK"``); ``KeyError`` if unknown."""
    for command in ALL:
        if command.amapi_type == amapi_type:
            return command
    raise KeyError(amapi_type)
