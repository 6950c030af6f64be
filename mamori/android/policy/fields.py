"""The settings of the profile form, declared once: their policy paths, translated labels, choices,
and how a value goes from the policy to the form and back. The form (``form.py``) builds its fields
from ``SETTINGS``; the comparison of versions (``diff.py``) takes its labels and displays from it.
Types and values: ANDROID.md 2.6 (the 25 settings) and the discovery document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Promise

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
"""What a form value gives for "leave this setting out of the policy", and what a policy value the
form cannot show exactly gives (it then stays in the advanced JSON)."""

GROUPS: dict[str, Promise] = {
    "password": _("Password policy"),
    "restrictions": _("Device restrictions"),
    "security": _("Security"),
    "update": _("System update"),
    "apps": _("Apps"),
    "personal": _("Personal usage (company-owned devices with a work profile)"),
    "messages": _("Support messages"),
    "reports": _("Status reports"),
    "advanced": _("Advanced settings"),
}

NOT_SET = _("Not set")


@dataclass(frozen=True)
class Setting:
    """One field of the form: ``name`` (the form field's), ``path`` (its place in the policy,
    "passwordPolicies[0].passwordQuality"), ``kind`` (how it converts: enum, bool, int, minutes,
    days, time, text, multi, freeze), its translated ``label``, ``help`` and ``choices``
    ((AMAPI value, label) pairs; ``unset`` labels the empty choice)."""

    name: str
    path: str
    kind: str
    label: Promise
    group: str
    choices: tuple[tuple[str, Promise], ...] = ()
    help: Promise | None = None
    unset: Promise = NOT_SET
    maximum: int = 2**31 - 1

    def to_form(self, value: Any) -> Any:
        """The form's initial value for the policy's ``value``, or ABSENT when the form cannot
        show it exactly (a deprecated or unspecified enum, 90 seconds in a minutes field)."""
        return _TO_FORM[self.kind](self, value)

    def to_policy(self, cleaned: Any, present: bool) -> Any:
        """The policy value for the form's cleaned value, or ABSENT to leave it out. ``present``:
        whether the given policy had the setting (an unticked box keeps an explicit false)."""
        if self.kind == "bool":
            return True if cleaned else (False if present else ABSENT)
        if cleaned in (None, "", []):
            return ABSENT
        return _TO_POLICY.get(self.kind, lambda c: c)(cleaned)

    def display(self, value: Any) -> str:
        """``value`` (a policy value of this setting) as a person reads it."""
        shown = self.to_form(value)
        if shown is ABSENT:
            return display_value(value)
        if self.kind == "enum":
            return str(dict(self.choices).get(shown, shown))
        if self.kind == "multi":
            labels = dict(self.choices)
            return ", ".join(str(labels.get(v, v)) for v in shown)
        if self.kind == "minutes":
            return gettext("%(count)s min") % {"count": shown}
        if self.kind == "days":
            return gettext("%(count)s days") % {"count": shown}
        return display_value(shown) if self.kind == "bool" else str(shown)


def display_value(value: Any) -> str:
    """A JSON value as a person reads it: はい/いいえ, lists joined, objects as compact JSON."""
    import json

    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if value is None or value is ABSENT:
        return str(NOT_SET)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _enum_to_form(setting: Setting, value: Any) -> Any:
    return value if value in dict(setting.choices) else ABSENT


def _bool_to_form(setting: Setting, value: Any) -> Any:
    return value if isinstance(value, bool) else ABSENT


def _int_to_form(setting: Setting, value: Any) -> Any:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= setting.maximum
    return value if ok else ABSENT


def _minutes_to_form(setting: Setting, value: Any) -> Any:
    # int64 milliseconds as a JSON string (ANDROID.md 2.6 item 2); only whole minutes are shown.
    if isinstance(value, str) and value.isascii() and value.isdigit() and str(int(value)) == value:
        minutes, rest = divmod(int(value), 60_000)
        return minutes if rest == 0 and minutes <= setting.maximum else ABSENT
    return ABSENT


def _days_to_form(setting: Setting, value: Any) -> Any:
    match = re.fullmatch(r"([1-9][0-9]*|0)s", value) if isinstance(value, str) else None
    if match is None:
        return ABSENT
    days, rest = divmod(int(match.group(1)), 86_400)
    return days if rest == 0 and days <= setting.maximum else ABSENT


def _time_to_form(setting: Setting, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1439:
        return f"{value // 60:02d}:{value % 60:02d}"
    return ABSENT


def _text_to_form(setting: Setting, value: Any) -> Any:
    # Django strips a text field and a browser sends CRLF: only text that survives both is shown.
    ok = isinstance(value, str) and value and value.strip() == value and "\r" not in value
    return value if ok else ABSENT


def _multi_to_form(setting: Setting, value: Any) -> Any:
    known = dict(setting.choices)
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(v, str) and v in known for v in value)
        and len(set(value)) == len(value)
    )
    return list(value) if ok else ABSENT


def _freeze_to_form(setting: Setting, value: Any) -> Any:
    if not isinstance(value, list) or not value:
        return ABSENT
    lines = []
    for period in value:
        dates = [_month_day(period.get(k)) if isinstance(period, dict) else None for k in KEYS]
        if None in dates or not isinstance(period, dict) or set(period) != set(KEYS):
            return ABSENT
        lines.append(f"{dates[0]}-{dates[1]}")
    return "\n".join(lines)


KEYS = ("startDate", "endDate")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(date: Any) -> str | None:
    if not isinstance(date, dict) or set(date) != {"month", "day"}:
        return None
    month, day = date["month"], date["day"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (month, day)):
        return None
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return None
    return f"{month:02d}/{day:02d}"


def parse_time(text: str) -> int | None:
    """ "9:30" / "09:30" (full-width digits too) → minutes after midnight; None if not a time."""
    match = re.fullmatch(
        r"([0-9]{1,2})[:：]([0-9]{2})", unicodedata.normalize("NFKC", text.strip())
    )
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    return hours * 60 + minutes if hours < 24 and minutes < 60 else None


def parse_freeze_periods(text: str) -> list[dict[str, Any]] | None:
    """Lines "MM/DD-MM/DD" (one freeze period each; "12/28 - 01/03", full-width too) → AMAPI
    FreezePeriods; None when a line is not such a pair of real dates."""
    periods = []
    for line in unicodedata.normalize("NFKC", text).splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(
            r"\s*([0-9]{1,2})/([0-9]{1,2})\s*[-~〜ー−]\s*([0-9]{1,2})/([0-9]{1,2})\s*", line
        )
        if match is None:
            return None
        m1, d1, m2, d2 = (int(g) for g in match.groups())
        if not all(1 <= m <= 12 and 1 <= d <= _DAYS[m - 1] for m, d in ((m1, d1), (m2, d2))):
            return None
        periods.append({"startDate": {"month": m1, "day": d1}, "endDate": {"month": m2, "day": d2}})
    return periods


_TO_FORM: dict[str, Callable[[Setting, Any], Any]] = {
    "enum": _enum_to_form,
    "bool": _bool_to_form,
    "int": _int_to_form,
    "minutes": _minutes_to_form,
    "days": _days_to_form,
    "time": _time_to_form,
    "text": _text_to_form,
    "multi": _multi_to_form,
    "freeze": _freeze_to_form,
}

_TO_POLICY: dict[str, Callable[[Any], Any]] = {
    "minutes": lambda minutes: str(minutes * 60_000),
    "days": lambda days: f"{days * 86_400}s",
    "time": lambda minutes: minutes,  # the form field cleans "HH:MM" to minutes
    "multi": list,
}


def _choices(*pairs: tuple[str, Promise]) -> tuple[tuple[str, Promise], ...]:
    return tuple(pairs)


FIRST_RULE = "passwordPolicies[0]"
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "password_quality",
        f"{FIRST_RULE}.passwordQuality",
        "enum",
        _("Password quality"),
        "password",
        _choices(
            ("SOMETHING", _("Any password")),
            ("NUMERIC", _("Numbers")),
            ("NUMERIC_COMPLEX", _("Numbers, no repeats or sequences")),
            ("ALPHABETIC", _("Letters")),
            ("ALPHANUMERIC", _("Letters and numbers")),
            ("COMPLEX", _("Letters, numbers and symbols")),
            ("BIOMETRIC_WEAK", _("Biometrics (weak)")),
            ("COMPLEXITY_LOW", _("Complexity: low")),
            ("COMPLEXITY_MEDIUM", _("Complexity: medium")),
            ("COMPLEXITY_HIGH", _("Complexity: high")),
        ),
        unset=_("No password required"),
    ),
    Setting(
        "password_minimum_length",
        f"{FIRST_RULE}.passwordMinimumLength",
        "int",
        _("Minimum password length"),
        "password",
        help=_("Applies to numbers, letters and the combinations; 0 means no minimum."),
        maximum=64,
    ),
    Setting(
        "password_failed_attempts_wipe",
        f"{FIRST_RULE}.maximumFailedPasswordsForWipe",
        "int",
        _("Failed attempts before the device is wiped"),
        "password",
        help=_("0 means never."),
        maximum=1000,
    ),
    Setting(
        "password_expiry_days",
        f"{FIRST_RULE}.passwordExpirationTimeout",
        "days",
        _("Password expiry (days)"),
        "password",
        help=_("Leave empty for no expiry."),
        maximum=3650,
    ),
    Setting(
        "password_history",
        f"{FIRST_RULE}.passwordHistoryLength",
        "int",
        _("Passwords remembered (history)"),
        "password",
        help=_("A new password may not repeat one of these; 0 means none are remembered."),
        maximum=100,
    ),
    Setting(
        "password_scope",
        f"{FIRST_RULE}.passwordScope",
        "enum",
        _("Password applies to"),
        "password",
        _choices(
            ("SCOPE_DEVICE", _("The device")),
            ("SCOPE_PROFILE", _("The work profile")),
        ),
    ),
    Setting(
        "maximum_time_to_lock",
        "maximumTimeToLock",
        "minutes",
        _("Screen lock after (minutes)"),
        "password",
        help=_("The longest time without use before the screen locks; 0 means no limit."),
        maximum=60 * 24 * 7,
    ),
    Setting(
        "keyguard_disabled_features",
        "keyguardDisabledFeatures",
        "multi",
        _("Disabled on the lock screen"),
        "password",
        _choices(
            ("CAMERA", _("Camera")),
            ("NOTIFICATIONS", _("Notifications")),
            ("UNREDACTED_NOTIFICATIONS", _("Notification contents")),
            ("TRUST_AGENTS", _("Trust agents (Smart Lock)")),
            ("DISABLE_FINGERPRINT", _("Fingerprint")),
            ("FACE", _("Face unlock")),
            ("IRIS", _("Iris")),
            ("BIOMETRICS", _("All biometrics")),
            ("SHORTCUTS", _("Shortcuts")),
            ("DISABLE_REMOTE_INPUT", _("Replies from notifications")),
            ("ALL_FEATURES", _("All features")),
        ),
    ),
    Setting(
        "camera_access",
        "cameraAccess",
        "enum",
        _("Camera"),
        "restrictions",
        _choices(
            ("CAMERA_ACCESS_USER_CHOICE", _("The user chooses")),
            ("CAMERA_ACCESS_DISABLED", _("Disabled")),
            ("CAMERA_ACCESS_ENFORCED", _("Enabled (the user cannot turn it off)")),
        ),
        unset=_("Not set (the user chooses)"),
    ),
    Setting(
        "screen_capture_disabled",
        "screenCaptureDisabled",
        "bool",
        _("Disable screen capture"),
        "restrictions",
        help=_("Also blocks Circle to Search."),
    ),
    Setting(
        "factory_reset_disabled",
        "factoryResetDisabled",
        "bool",
        _("Disable factory reset from Settings"),
        "restrictions",
        help=_("Google may not apply this while the project is under its initial device quota."),
    ),
    Setting(
        "usb_data_access",
        "deviceConnectivityManagement.usbDataAccess",
        "enum",
        _("USB data transfer"),
        "restrictions",
        _choices(
            ("ALLOW_USB_DATA_TRANSFER", _("Allowed")),
            ("DISALLOW_USB_FILE_TRANSFER", _("File transfer blocked")),
            ("DISALLOW_USB_DATA_TRANSFER", _("All data transfer blocked")),
        ),
        help=_("Company-owned devices only. Not set means file transfer is blocked."),
        unset=_("Not set (file transfer blocked)"),
    ),
    Setting(
        "bluetooth_disabled",
        "bluetoothDisabled",
        "bool",
        _("Disable Bluetooth"),
        "restrictions",
    ),
    Setting(
        "location_mode",
        "locationMode",
        "enum",
        _("Location"),
        "restrictions",
        _choices(
            ("LOCATION_USER_CHOICE", _("The user chooses")),
            ("LOCATION_ENFORCED", _("Always on")),
            ("LOCATION_DISABLED", _("Off")),
        ),
        unset=_("Not set (the user chooses)"),
    ),
    Setting(
        "untrusted_apps_policy",
        "advancedSecurityOverrides.untrustedAppsPolicy",
        "enum",
        _("Apps from unknown sources"),
        "security",
        _choices(
            ("DISALLOW_INSTALL", _("Installation not allowed")),
            ("ALLOW_INSTALL_IN_PERSONAL_PROFILE_ONLY", _("Allowed in the personal profile only")),
            ("ALLOW_INSTALL_DEVICE_WIDE", _("Allowed on the whole device")),
        ),
        unset=_("Not set (not allowed)"),
    ),
    Setting(
        "developer_settings",
        "advancedSecurityOverrides.developerSettings",
        "enum",
        _("Developer options"),
        "security",
        _choices(
            ("DEVELOPER_SETTINGS_DISABLED", _("Disabled")),
            ("DEVELOPER_SETTINGS_ALLOWED", _("Allowed")),
        ),
        unset=_("Not set (disabled)"),
    ),
    Setting(
        "system_update_type",
        "systemUpdate.type",
        "enum",
        _("System update"),
        "update",
        _choices(
            ("AUTOMATIC", _("Automatic")),
            ("WINDOWED", _("Within a daily time window")),
            ("POSTPONE", _("Postponed (up to 30 days; security patches are not delayed)")),
        ),
        unset=_("Not set (the device decides)"),
    ),
    Setting(
        "system_update_start",
        "systemUpdate.startMinutes",
        "time",
        _("Window starts at (HH:MM)"),
        "update",
        help=_("Device's local time. A window under 30 minutes is extended to 30."),
    ),
    Setting(
        "system_update_end",
        "systemUpdate.endMinutes",
        "time",
        _("Window ends at (HH:MM)"),
        "update",
    ),
    Setting(
        "system_update_freeze_periods",
        "systemUpdate.freezePeriods",
        "freeze",
        _("Freeze periods"),
        "update",
        help=_(
            "One period a line, MM/DD-MM/DD (for example 12/28-01/03). Each at most 90 days, "
            "at least 60 days apart; no update, not even a security patch, is installed during one."
        ),
    ),
    Setting(
        "play_store_mode",
        "playStoreMode",
        "enum",
        _("Play Store mode"),
        "apps",
        _choices(
            ("WHITELIST", _("Only the apps in the list (others are uninstalled)")),
            ("BLACKLIST", _("All apps, except the ones marked Blocked")),
        ),
        help=_(
            "Google's default is “only the apps in the list”: every app not in the list below is "
            "uninstalled from the devices."
        ),
        unset=_("Not set (only the apps in the list)"),
    ),
    Setting(
        "kiosk_custom_launcher_enabled",
        "kioskCustomLauncherEnabled",
        "bool",
        _("Kiosk launcher"),
        "apps",
        help=_(
            "Replaces the home screen with one showing only the apps installed by this profile."
        ),
    ),
    Setting(
        "personal_camera_disabled",
        "personalUsagePolicies.cameraDisabled",
        "bool",
        _("Disable the camera in the personal profile"),
        "personal",
    ),
    Setting(
        "personal_screen_capture_disabled",
        "personalUsagePolicies.screenCaptureDisabled",
        "bool",
        _("Disable screen capture in the personal profile"),
        "personal",
    ),
    Setting(
        "personal_max_days_work_off",
        "personalUsagePolicies.maxDaysWithWorkOff",
        "int",
        _("Days the work profile may stay off"),
        "personal",
        help=_("At least 3; 0 means no limit. Past it, personal apps are suspended."),
        maximum=3650,
    ),
    Setting(
        "short_support_message_ja",
        "shortSupportMessage.localizedMessages.ja",
        "text",
        _("Short support message (Japanese)"),
        "messages",
        help=_(
            "Shown where a setting is disabled by the administrator; over 200 characters may be cut."
        ),
        maximum=4096,
    ),
    Setting(
        "short_support_message_en",
        "shortSupportMessage.localizedMessages.en",
        "text",
        _("Short support message (English)"),
        "messages",
        maximum=4096,
    ),
    Setting(
        "long_support_message_ja",
        "longSupportMessage.localizedMessages.ja",
        "text",
        _("Long support message (Japanese)"),
        "messages",
        help=_("Shown on the device administrators screen in Settings."),
        maximum=4096,
    ),
    Setting(
        "long_support_message_en",
        "longSupportMessage.localizedMessages.en",
        "text",
        _("Long support message (English)"),
        "messages",
        maximum=4096,
    ),
)

REPORT_LABELS: dict[str, Promise] = {
    "softwareInfoEnabled": _("Software information"),
    "hardwareStatusEnabled": _("Hardware status"),
    "networkInfoEnabled": _("Network information"),
    "memoryInfoEnabled": _("Memory information"),
    "applicationReportsEnabled": _("App reports"),
    "deviceSettingsEnabled": _("Device settings"),
    "powerManagementEventsEnabled": _("Power management events"),
    "displayInfoEnabled": _("Display information"),
    "systemPropertiesEnabled": _("System properties"),
    "commonCriteriaModeEnabled": _("Common Criteria mode"),
    "defaultApplicationInfoReportingEnabled": _("Default apps"),
}


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", key).lower().removesuffix("_enabled")


SETTINGS += tuple(
    Setting(
        f"report_{_snake(key)}",
        f"statusReportingSettings.{key}",
        "bool",
        label,
        "reports",
    )
    for key, label in REPORT_LABELS.items()
)

# The messages whose ja/en texts the form edits: their defaultMessage is the English text, else
# the Japanese (Google requires one when localized messages are given, UserFacingMessage).
MESSAGES = ("shortSupportMessage", "longSupportMessage")

# The columns of an app row: ApplicationPolicy's fields the form shows; the others stay in the
# row's "other settings" JSON.
APP_INSTALL_TYPES = _choices(
    ("AVAILABLE", _("Available (the user installs it)")),
    ("FORCE_INSTALLED", _("Installed automatically, cannot be removed")),
    ("PREINSTALLED", _("Installed automatically, can be removed")),
    ("REQUIRED_FOR_SETUP", _("Required for setup")),
    ("BLOCKED", _("Blocked")),
    ("CUSTOM", _("Custom app (installed through the AMAPI SDK)")),
)
APP_PERMISSION_POLICIES = _choices(
    ("PROMPT", _("Ask the user")),
    ("GRANT", _("Grant")),
    ("DENY", _("Deny")),
)
APP_LABELS: dict[str, Promise] = {
    "packageName": _("Package name"),
    "installType": _("Install type"),
    "defaultPermissionPolicy": _("Permissions"),
    "managedConfiguration": _("Managed configuration (JSON)"),
    "other": _("Other app settings (JSON)"),
}
APP_CHOICES: dict[str, tuple[tuple[str, Promise], ...]] = {
    "installType": APP_INSTALL_TYPES,
    "defaultPermissionPolicy": APP_PERMISSION_POLICIES,
}

BY_PATH = {s.path: s for s in SETTINGS}
BY_NAME = {s.name: s for s in SETTINGS}
