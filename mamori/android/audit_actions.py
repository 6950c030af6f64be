"""The operation-log actions of Android Enterprise, and what each may record.

An enrollment token's value is a secret a device enrolls with: it is never on an allow-list;
entries carry its last four characters (``value_tail``) only.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.android.models import DeviceKind, DeviceState, PersonalUsage
from mamori.audit.registry import action_register, key_labels_register, value_labels_register


class AndroidAction(StrEnum):
    SIGNUP_STARTED = "android.signup_started"
    BOUND = "android.bound"
    UNBOUND = "android.unbound"
    PROFILE_CREATED = "profile.created"
    PROFILE_SAVED = "profile.saved"
    PROFILE_COPIED = "profile.copied"
    PROFILE_RENAMED = "profile.renamed"
    PROFILE_DELETED = "profile.deleted"
    PROFILE_RESTORED = "profile.restored"
    PROFILE_PUBLISHED = "profile.published"
    # Google's answer to a publication, recorded by the system when the worker gets it.
    PROFILE_PUBLISH_ACCEPTED = "profile.publish_accepted"
    PROFILE_PUBLISH_FAILED = "profile.publish_failed"
    PROFILE_ASSIGNED = "profile.assigned"
    TOKEN_CREATED = "enrollment_token.created"  # noqa: S105 (an action code)
    TOKEN_REVOKED = "enrollment_token.revoked"  # noqa: S105 (an action code)
    # Device notifications, recorded by the system (mamori/android/notifications).
    DEVICE_ENROLLED = "device.enrolled"
    DEVICE_DELETED = "device.deleted"
    # The device inventory (Android Enterprise 2 of 3): what a person does to a device.
    DEVICE_MOVED = "device.moved"
    DEVICE_NOTE_SET = "device.note_set"
    DEVICE_REMOVED = "device.removed"


TOKEN_VALUES = (
    "value_tail",
    "organization",
    "user",
    "profile",
    "one_time",
    "allow_personal_usage",
    "device_kind",
    "expires_at",
    "note",
)


def audit_actions_register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    A = AndroidAction
    action_register(A.SIGNUP_STARTED, _("Android Enterprise signup started"))
    action_register(A.BOUND, _("Android Enterprise bound"), after=("enterprise", "display_name"))
    action_register(
        A.UNBOUND,
        _("Android Enterprise unbound"),
        before=("enterprise", "display_name"),
        after=("google_answer", "tokens_deleted", "devices_deleted"),
    )
    action_register(A.PROFILE_CREATED, _("Profile created"), after=("name", "version", "note"))
    action_register(
        A.PROFILE_SAVED,
        _("Profile saved"),
        before=("version", "name"),
        after=("version", "note", "name"),
    )
    action_register(A.PROFILE_COPIED, _("Profile copied"), after=("name", "source"))
    action_register(A.PROFILE_RENAMED, _("Profile renamed"), before=("name",), after=("name",))
    action_register(A.PROFILE_DELETED, _("Profile deleted"), before=("name",))
    action_register(
        A.PROFILE_RESTORED, _("Profile version restored"), before=("version",), after=("version",)
    )
    action_register(A.PROFILE_PUBLISHED, _("Profile published"), after=("version",))
    action_register(
        A.PROFILE_PUBLISH_ACCEPTED,
        _("Profile accepted by Google"),
        after=("version", "google_version"),
    )
    action_register(
        A.PROFILE_PUBLISH_FAILED,
        _("Profile publishing failed"),
        after=("version", "google_answer"),
    )
    action_register(
        A.PROFILE_ASSIGNED,
        _("Profile assigned"),
        before=("profile",),
        after=("profile", "published"),
    )
    action_register(A.TOKEN_CREATED, _("Enrollment token created"), after=TOKEN_VALUES)
    action_register(
        A.TOKEN_REVOKED, _("Enrollment token revoked"), before=("value_tail", "organization")
    )
    notifications_actions_register()
    action_register(
        A.DEVICE_MOVED,
        _("Device moved"),
        before=("organization", "user"),
        after=("organization", "user"),
    )
    action_register(A.DEVICE_NOTE_SET, _("Device note changed"), before=("note",), after=("note",))
    action_register(
        A.DEVICE_REMOVED,
        _("Device removed"),
        before=("device_name", "serial_number", "state", "organization", "user"),
    )
    key_labels_register(
        {
            "enterprise": _("Enterprise"),
            "display_name": _("Display name"),
            "google_answer": _("Google's answer"),
            "tokens_deleted": _("Enrollment tokens deleted at Google"),
            "devices_deleted": _("Devices deleted (wiped) at Google"),
            "version": _("Version"),
            "google_version": _("Google's policy version"),
            "note": _("Note"),
            "source": _("Copied from"),
            "profile": _("Profile"),
            "published": _("Published with the assignment"),
            "value_tail": _("Token (last four characters)"),
            "user": _("User"),
            "one_time": _("One-time"),
            "allow_personal_usage": _("Personal usage (AMAPI)"),
            "device_kind": _("Device kind"),
            "expires_at": _("Expires"),
            "device_name": _("Device name"),
            "serial_number": _("Serial number"),
            "state": _("State"),
        }
    )
    value_labels_register("allow_personal_usage", dict(PersonalUsage.choices))
    value_labels_register("device_kind", dict(DeviceKind.choices))
    value_labels_register("state", dict(DeviceState.choices))


def notifications_actions_register() -> None:
    """The device notifications' actions: a device enrolled (its ENROLLMENT, or the first
    report of a device Mamori lacked) and a device gone (DELETED reported, or missing from a
    complete ``devices.list``), each by the system."""
    A = AndroidAction
    action_register(
        A.DEVICE_ENROLLED,
        _("Device enrolled"),
        after=(
            "device_name",
            "organization",
            "value_tail",
            "device_kind",
            "model",
            "serial_number",
        ),
    )
    action_register(A.DEVICE_DELETED, _("Device deleted at Google"), after=("how",))
    key_labels_register({"model": _("Model"), "how": _("How Mamori learned it")})
    value_labels_register(
        "how",
        {
            "reported": _("The device's final report (deleted)"),
            "not_listed": _("No longer listed by Google"),
        },
    )
