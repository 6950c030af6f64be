"""The initial settings profile's policy (初期設定プロファイル), and the warnings a policy deserves
before it is saved (issue 8, point 3; ANDROID.md 2.6)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# statusReportingSettings switches the Devices tab reads (issue 8 point 3): the initial profile
# turns them on, and the form warns before one is turned off.
DEVICES_TAB_REPORTS = (
    "softwareInfoEnabled",
    "hardwareStatusEnabled",
    "networkInfoEnabled",
    "memoryInfoEnabled",
    "applicationReportsEnabled",
    "deviceSettingsEnabled",
    "powerManagementEventsEnabled",
)


def initial_policy() -> dict[str, Any]:
    """The initial settings profile's policy: a new dict each call, valid for ``policy_errors``.

    Safe defaults that lock nobody out of a device they are setting up: every status report of
    ``DEVICES_TAB_REPORTS`` on; Google's defaults elsewhere made explicit where the default is
    surprising (``playStoreMode`` BLACKLIST, so enrolling a device does not uninstall its apps;
    developer settings off and apps from unknown sources refused, ANDROID.md 2.6 item 22);
    automatic system updates. No password requirement and no camera restriction: those are the
    administrator's choice.
    """
    return {
        "statusReportingSettings": {key: True for key in DEVICES_TAB_REPORTS},
        "playStoreMode": "BLACKLIST",
        "advancedSecurityOverrides": {
            "untrustedAppsPolicy": "DISALLOW_INSTALL",
            "developerSettings": "DEVELOPER_SETTINGS_DISABLED",
        },
        "systemUpdate": {"type": "AUTOMATIC"},
    }


def policy_warnings(policy: dict[str, Any]) -> list[str]:
    """What a person should know before saving ``policy`` (a valid Policy dict), in the active
    language: a status report the Devices tab needs turned off, ``playStoreMode``'s default
    (unlisted apps are uninstalled), ``factoryResetDisabled`` (Google may not apply it to a
    project under its initial device quota, ANDROID.md 4), a kiosk launcher with no app to show.
    """
    warnings = []
    reports = policy.get("statusReportingSettings")
    reports = reports if isinstance(reports, dict) else {}
    off = [key for key in DEVICES_TAB_REPORTS if reports.get(key) is not True]
    if off:
        warnings.append(
            _(
                "Status reports turned off: %(reports)s. The Devices tab will not show what they report."
            )
            % {"reports": ", ".join(report_label(key) for key in off)}
        )
    if policy.get("playStoreMode") in (None, "WHITELIST", "PLAY_STORE_MODE_UNSPECIFIED"):
        warnings.append(
            _(
                "Play Store mode is “only apps in the list”: every app not listed is uninstalled "
                "from the devices."
            )
        )
    if policy.get("factoryResetDisabled") is True:
        warnings.append(
            _(
                "Disabling factory reset may not be applied by Google while the project is under "
                "its initial device quota."
            )
        )
    apps = policy.get("applications")
    if policy.get("kioskCustomLauncherEnabled") is True and not any(
        isinstance(a, dict) and a.get("installType") in ("FORCE_INSTALLED", "PREINSTALLED")
        for a in (apps if isinstance(apps, list) else [])
    ):
        warnings.append(
            _("The kiosk launcher is on but no app is installed automatically: it will be empty.")
        )
    return warnings


def report_label(key: str) -> str:
    """The translated name of a statusReportingSettings switch."""
    from mamori.android.policy.fields import REPORT_LABELS

    return str(REPORT_LABELS.get(key, key))
