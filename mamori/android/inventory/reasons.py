"""AMAPI's codes about a device, in plain words in the person's language (ANDROID.md 2.3).

Every value of ``NonComplianceDetail.nonComplianceReason``, ``specificNonComplianceReason`` and
``installationFailureReason`` has a sentence here, and so have the security posture's risks,
application states, usage-log event types and a command's ``errorCode``. The values are those of
the discovery document shipped in google-api-python-client (``androidmanagement.v1.json``,
``schemas.NonComplianceDetail`` …); a test reads the document and fails when a value lacks one.
A code this table does not know (a newer API) is shown as it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The enum each table translates: (schema, property) of the discovery document.
SOURCES: dict[str, tuple[str, str]] = {
    "non_compliance": ("NonComplianceDetail", "nonComplianceReason"),
    "specific": ("NonComplianceDetail", "specificNonComplianceReason"),
    "installation": ("NonComplianceDetail", "installationFailureReason"),
    "risk": ("PostureDetail", "securityRisk"),
    "app_state": ("ApplicationReport", "state"),
    "usage_event": ("UsageLogEvent", "eventType"),
    "command_error": ("Command", "errorCode"),
    "update_status": ("SystemUpdateInfo", "updateStatus"),
}

NON_COMPLIANCE: dict[str, Promise] = {
    "NON_COMPLIANCE_REASON_UNSPECIFIED": _("The reason was not given."),
    "API_LEVEL": _("The setting is not supported by the Android version of the device."),
    "MANAGEMENT_MODE": _(
        "The setting is not supported in this management mode (fully managed or work profile)."
    ),
    "USER_ACTION": _("The user has to do something on the device (for example set a password)."),
    "INVALID_VALUE": _("The setting has a value the device cannot use."),
    "APP_NOT_INSTALLED": _("An app the setting needs is not installed."),
    "UNSUPPORTED": _("The device does not support the setting."),
    "APP_INSTALLED": _("A blocked app is installed."),
    "PENDING": _("The setting has not been applied yet."),
    "APP_INCOMPATIBLE": _("The app is not compatible with the setting."),
    "APP_NOT_UPDATED": _("The app is installed but not updated to the version required."),
    "OS_NOT_PERMITTED": _("The Android version of the device is older than the profile allows."),
    "DEVICE_INCOMPATIBLE": _("The device is not compatible with the setting."),
    "APP_SIGNING_CERT_MISMATCH": _(
        "The app's signing certificate does not match the one the profile names."
    ),
    "PROJECT_NOT_PERMITTED": _(
        "The setting is not permitted for this Google Cloud project (permissible usage)."
    ),
}

SPECIFIC: dict[str, Promise] = {
    "SPECIFIC_NON_COMPLIANCE_REASON_UNSPECIFIED": _("No further detail was given."),
    "PASSWORD_POLICIES_USER_CREDENTIALS_CONFIRMATION_REQUIRED": _(
        "The user has to confirm the screen lock by entering it."
    ),
    "PASSWORD_POLICIES_PASSWORD_EXPIRED": _("The password of the device or profile has expired."),
    "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT": _(
        "The password does not meet the profile's password requirements."
    ),
    "ONC_WIFI_INVALID_VALUE": _("A Wi-Fi setting has an incorrect value."),
    "ONC_WIFI_API_LEVEL": _("A Wi-Fi setting is not supported by this Android version."),
    "ONC_WIFI_INVALID_ENTERPRISE_CONFIG": _(
        "The enterprise Wi-Fi network lacks its root certificate or domain name."
    ),
    "ONC_WIFI_USER_SHOULD_REMOVE_NETWORK": _(
        "The user has to remove the configured Wi-Fi network by hand."
    ),
    "ONC_WIFI_KEY_PAIR_ALIAS_NOT_CORRESPONDING_TO_EXISTING_KEY": _(
        "The Wi-Fi setting names a client certificate key that is not on the device."
    ),
    "PERMISSIBLE_USAGE_RESTRICTION": _(
        "The setting is restricted for this Google Cloud project (permissible usage)."
    ),
    "REQUIRED_ACCOUNT_NOT_IN_ENTERPRISE": _(
        "The required work account is no longer part of the enterprise."
    ),
    "NEW_ACCOUNT_NOT_IN_ENTERPRISE": _(
        "A work account the user added is not part of the enterprise."
    ),
    "DEFAULT_APPLICATION_SETTING_UNSUPPORTED_SCOPES": _(
        "The default app setting names scopes this management mode does not support."
    ),
    "DEFAULT_APPLICATION_SETTING_FAILED_FOR_SCOPE": _(
        "The default app setting could not be applied for a scope."
    ),
    "PRIVATE_DNS_HOST_NOT_SERVING": _("The private DNS host is not a private DNS server."),
    "USER_NOT_UNLOCKED": _(
        "The device has not been unlocked since it started, so the profile cannot be applied."
    ),
}

INSTALLATION: dict[str, Promise] = {
    "INSTALLATION_FAILURE_REASON_UNSPECIFIED": _("The reason was not given."),
    "INSTALLATION_FAILURE_REASON_UNKNOWN": _("The installation failed for an unknown reason."),
    "IN_PROGRESS": _("The installation is still in progress."),
    "NOT_FOUND": _("The app was not found in Google Play."),
    "NOT_COMPATIBLE_WITH_DEVICE": _("The app is not compatible with the device."),
    "NOT_APPROVED": _("The app has not been approved by the administrator."),
    "PERMISSIONS_NOT_ACCEPTED": _(
        "The app has new permissions the administrator has not accepted."
    ),
    "NOT_AVAILABLE_IN_COUNTRY": _("The app is not available in the user's country."),
    "NO_LICENSES_REMAINING": _("No licenses of the app are left to assign."),
    "NOT_ENROLLED": _("The enterprise is no longer enrolled with managed Google Play."),
    "USER_INVALID": _("The user is no longer valid."),
    "NETWORK_ERROR_UNRELIABLE_CONNECTION": _(
        "A network error on the device: its connection is unreliable."
    ),
    "INSUFFICIENT_STORAGE": _("The device does not have enough storage for the app."),
}

RISK: dict[str, Promise] = {
    "SECURITY_RISK_UNSPECIFIED": _("Unspecified risk."),
    "UNKNOWN_OS": _(
        "Play Integrity cannot verify the device: the operating system may be modified or "
        "the device may be an emulator."
    ),
    "COMPROMISED_OS": _("The operating system appears to be compromised (rooted or modified)."),
    "HARDWARE_BACKED_EVALUATION_FAILED": _(
        "The device failed the hardware-backed integrity check."
    ),
}

APP_STATE: dict[str, Promise] = {
    "APPLICATION_STATE_UNSPECIFIED": _("Unknown"),
    "REMOVED": _("Removed"),
    "INSTALLED": _("Installed"),
}

USAGE_EVENT: dict[str, Promise] = {
    "EVENT_TYPE_UNSPECIFIED": _("Unspecified event"),
    "ADB_SHELL_COMMAND": _("ADB shell command"),
    "ADB_SHELL_INTERACTIVE": _("Interactive ADB shell"),
    "APP_PROCESS_START": _("App process started"),
    "KEYGUARD_DISMISSED": _("Screen unlocked"),
    "KEYGUARD_DISMISS_AUTH_ATTEMPT": _("Unlock attempt"),
    "KEYGUARD_SECURED": _("Screen locked"),
    "FILE_PULLED": _("File pulled over ADB"),
    "FILE_PUSHED": _("File pushed over ADB"),
    "CERT_AUTHORITY_INSTALLED": _("CA certificate installed"),
    "CERT_AUTHORITY_REMOVED": _("CA certificate removed"),
    "CERT_VALIDATION_FAILURE": _("Certificate validation failed"),
    "CRYPTO_SELF_TEST_COMPLETED": _("Cryptographic self-test completed"),
    "KEY_DESTRUCTION": _("Key destroyed"),
    "KEY_GENERATED": _("Key generated"),
    "KEY_IMPORT": _("Key imported"),
    "KEY_INTEGRITY_VIOLATION": _("Key integrity violation"),
    "LOGGING_STARTED": _("Logging started"),
    "LOGGING_STOPPED": _("Logging stopped"),
    "LOG_BUFFER_SIZE_CRITICAL": _("Log buffer nearly full"),
    "MEDIA_MOUNT": _("Removable media mounted"),
    "MEDIA_UNMOUNT": _("Removable media unmounted"),
    "OS_SHUTDOWN": _("Shut down"),
    "OS_STARTUP": _("Started"),
    "REMOTE_LOCK": _("Locked remotely"),
    "WIPE_FAILURE": _("Wipe failed"),
    "CONNECT": _("Network connection"),
    "DNS": _("DNS lookup"),
    "STOP_LOST_MODE_USER_ATTEMPT": _("The user tried to leave lost mode"),
    "LOST_MODE_OUTGOING_PHONE_CALL": _("Phone call in lost mode"),
    "LOST_MODE_LOCATION": _("Location in lost mode"),
    "ENROLLMENT_COMPLETE": _("Enrollment completed"),
    "BACKUP_SERVICE_TOGGLED": _("Backup service turned on or off"),
}

COMMAND_ERROR: dict[str, Promise] = {
    "COMMAND_ERROR_CODE_UNSPECIFIED": _("The error was not given."),
    "UNKNOWN": _("An unknown error occurred on the device."),
    "API_LEVEL": _("The Android version of the device does not support this command."),
    "MANAGEMENT_MODE": _("The management mode of the device does not allow this command."),
    "INVALID_VALUE": _("The command has an invalid parameter."),
    "UNSUPPORTED": _("The device does not support this command."),
}

UPDATE_STATUS: dict[str, Promise] = {
    "UPDATE_STATUS_UNKNOWN": _("Unknown"),
    "UP_TO_DATE": _("Up to date"),
    "UNKNOWN_UPDATE_AVAILABLE": _("An update is available"),
    "SECURITY_UPDATE_AVAILABLE": _("A security update is available"),
    "OS_UPDATE_AVAILABLE": _("An Android update is available"),
}

TABLES: dict[str, Mapping[str, Promise]] = {
    "non_compliance": NON_COMPLIANCE,
    "specific": SPECIFIC,
    "installation": INSTALLATION,
    "risk": RISK,
    "app_state": APP_STATE,
    "usage_event": USAGE_EVENT,
    "command_error": COMMAND_ERROR,
    "update_status": UPDATE_STATUS,
}


def reason_text(table: str, code: str | None) -> str:
    """The sentence of ``code`` in ``table`` (a key of ``TABLES``) in the active language; the
    code itself when the table lacks it; ``""`` for no code."""
    if not code:
        return ""
    text = TABLES[table].get(code)
    return str(text) if text is not None else code
