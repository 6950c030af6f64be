"""Android Enterprise in Mamori's own tables: the binding, profiles and their versions, which
organization has which profile, and the enrollment tokens Mamori made (AMAPI's own list of tokens
is partial: it has neither the organization nor the user a device will belong to)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Enterprise(models.Model):
    """A contract's Android Enterprise (AMAPI ``enterprises/{id}``): at most one per contract."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, related_name="android_enterprise"
    )
    name = models.CharField(_("enterprise name"), max_length=200, unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    bound_at = models.DateTimeField(_("bound at"), auto_now_add=True)
    bound_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("Android Enterprise")

    def __str__(self) -> str:
        return self.name


class SignupAttempt(models.Model):
    """One press of Start signup: the server half of the signed ``state`` the callback brings
    back. The state names this row's nonce; a used or expired row refuses the callback, so a
    state works once, for its contract, account and session only."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    # sha256 of the session key: the state is good only in the browser that asked for it.
    session_hash = models.CharField(max_length=64)
    # AMAPI's signupUrls/{id}: enterprises.create needs it with the enterprise token.
    signup_url_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signup {self.pk}"


class PublishState(models.TextChoices):
    UNPUBLISHED = "unpublished", _("Not published")
    PENDING = "pending", _("Publishing")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Publishing failed")


class Profile(models.Model):
    """A profile: one AMAPI policy (``{enterprise}/policies/{id}``), versioned by Mamori."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("profile name"), max_length=100)
    # The initial settings profile made at signup (it cannot be deleted while assigned, like any).
    is_initial = models.BooleanField(default=False, editable=False)
    # The version being edited and published: the newest saved, or one restored.
    current = models.ForeignKey(
        "ProfileVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    publish_state = models.CharField(
        _("state"), max_length=16, choices=PublishState.choices, default=PublishState.UNPUBLISHED
    )
    # Mamori's version number last published, and AMAPI's Policy.version (an int64, kept as
    # text) that devices report as appliedPolicyVersion.
    published_number = models.PositiveIntegerField(null=True, blank=True)
    published_version = models.CharField(max_length=24, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_error = models.TextField(blank=True)
    # [[field path, message], …] from Google's fieldViolations at publish.
    publish_violations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("profile")
        constraints = [
            models.UniqueConstraint(fields=["contract", "name"], name="profile_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def policy_name(self, enterprise: Enterprise) -> str:
        """AMAPI's name of this profile's policy in ``enterprise``."""
        return f"{enterprise.name}/policies/mamori-{self.pk}"


class ProfileVersion(models.Model):
    """One saved state of a profile: the whole AMAPI Policy JSON, who saved it, when, why."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    policy = models.JSONField(default=dict)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "number"], name="profile_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} v{self.number}"


class OrganizationProfile(models.Model):
    """An organization's own profile; its sub-organizations inherit it unless they have one."""

    organization = models.OneToOneField(
        "directory.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="android_profile",
    )
    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization_id} → {self.profile_id}"


class DeviceKind(models.TextChoices):
    """What the person is enrolling, and the AMAPI ``allowPersonalUsage`` it takes
    (ANDROID.md 2.4): on a company-owned device ALLOWED gives a work profile and DISALLOWED a
    fully managed device; a personal device always gets a work profile (personal usage cannot
    be disabled there: the difference is the device, not the token)."""

    FULLY_MANAGED = "fully_managed", _("Company-owned, fully managed")
    COMPANY_WORK_PROFILE = "company_work_profile", _("Company-owned with a work profile")
    PERSONAL_WORK_PROFILE = "personal_work_profile", _("Personal device with a work profile")
    DEDICATED = "dedicated", _("Dedicated device (kiosk, no user)")


class PersonalUsage(models.TextChoices):
    """AMAPI's ``allowPersonalUsage`` as a token stores it, labelled with the device kinds the
    token form offers (the two work-profile kinds share ALLOWED)."""

    ALLOWED = "PERSONAL_USAGE_ALLOWED", _("With a work profile (company-owned or personal)")
    DISALLOWED = "PERSONAL_USAGE_DISALLOWED", _("Company-owned, fully managed")
    DISALLOWED_USERLESS = (
        "PERSONAL_USAGE_DISALLOWED_USERLESS",
        _("Dedicated device (kiosk, no user)"),
    )


PERSONAL_USAGE_OF_KIND = {
    DeviceKind.FULLY_MANAGED: PersonalUsage.DISALLOWED,
    DeviceKind.COMPANY_WORK_PROFILE: PersonalUsage.ALLOWED,
    DeviceKind.PERSONAL_WORK_PROFILE: PersonalUsage.ALLOWED,
    DeviceKind.DEDICATED: PersonalUsage.DISALLOWED_USERLESS,
}

# What a person (or an API client) chooses for a new token: the page's initial values, the
# log's values and the API's schema come from this list.
TOKEN_FIELDS = ("one_time", "allow_personal_usage", "note")


class EnrollmentToken(models.Model):
    """An enrollment token Mamori made: the device it enrolls joins ``organization`` (and
    ``user``). ``public_id`` goes to AMAPI in ``additionalData`` (``{"mamori": public_id}``) and
    comes back with the device as ``enrollmentTokenData``. ``value`` is the secret a device
    enrolls with: shown on its page, never logged (its last four characters only)."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="tokens")
    public_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=300)  # enterprises/{e}/enrollmentTokens/{id}
    value = models.CharField(max_length=200)
    qr_code = models.TextField()  # AMAPI's JSON string, put in the QR as it is
    policy_name = models.CharField(max_length=300, blank=True)
    organization = models.ForeignKey(
        "directory.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        "directory.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allow_personal_usage = models.CharField(
        _("device kind"), max_length=40, choices=PersonalUsage.choices
    )
    # The kind the person chose (the two work-profile kinds share one allowPersonalUsage);
    # empty for a token an API client made with allowPersonalUsage alone.
    kind = models.CharField(_("device kind"), max_length=40, choices=DeviceKind.choices, blank=True)
    one_time = models.BooleanField(_("one-time"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A one-time token that enrolled a device (its ENROLLMENT notification): no longer valid.
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["contract", "-created_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_valid_by_contract",
            )
        ]

    def __str__(self) -> str:
        return f"…{self.value_tail}"

    @property
    def value_tail(self) -> str:
        """The last four characters of the value: all that is ever logged or listed."""
        return self.value[-4:]


# --- Devices, their commands and the notifications about them (Android Enterprise 2 of 3) ---


class DeviceState(models.TextChoices):
    """AMAPI ``DeviceState`` as ``Device.appliedState`` reports it (ANDROID.md 2.3). DELETED is
    final for a device name: a device enrolled again gets a new name."""

    ACTIVE = "ACTIVE", _("Active")
    DISABLED = "DISABLED", _("Disabled")
    LOST = "LOST", _("Lost")
    PROVISIONING = "PROVISIONING", _("Provisioning")
    DELETED = "DELETED", _("Deleted")
    PREPARING_FOR_MIGRATION = "PREPARING_FOR_MIGRATION", _("Preparing for migration")
    DEACTIVATED_BY_DEVICE_FINANCE = "DEACTIVATED_BY_DEVICE_FINANCE", _("Deactivated (financing)")


class SecurityPosture(models.TextChoices):
    """``Device.securityPosture.devicePosture`` (ANDROID.md 2.3); empty until reported."""

    SECURE = "SECURE", _("Secure")
    AT_RISK = "AT_RISK", _("At risk")
    POTENTIALLY_COMPROMISED = "POTENTIALLY_COMPROMISED", _("Potentially compromised")


class Device(models.Model):
    """A device enrolled in a contract's enterprise (AMAPI ``enterprises/{e}/devices/{d}``).

    The organization and user are Mamori's own (from the enrollment token; AMAPI's ``userName``
    is an opaque id). The columns the list filters and sorts on are copied out of the newest
    ``Device`` resource applied; ``report`` keeps that resource (minus IMEI, MEID and phone
    numbers of personally owned devices) for the device's page. ``report_clock`` is the clock
    of the newest notification applied (``lastStatusReportTime``, ``enrollmentTime`` for
    ENROLLMENT, ``publishTime`` as a fallback): an older one never overwrites a newer one.
    A report that repeats the stored one but for its times (most reports) rewrites only the
    times' columns: ``report``'s own ``lastStatusReportTime`` may then be older than
    ``last_status_report_at``, which is the one to read.
    """

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("device name"), max_length=300, unique=True)
    organization = models.ForeignKey(
        "directory.Organization", on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        "directory.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token = models.ForeignKey(
        EnrollmentToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    kind = models.CharField(_("device kind"), max_length=40, choices=DeviceKind.choices)
    management_mode = models.CharField(max_length=20, blank=True)  # DEVICE_OWNER | PROFILE_OWNER
    ownership = models.CharField(max_length=20, blank=True)  # COMPANY_OWNED | PERSONALLY_OWNED
    applied_state = models.CharField(
        _("state"), max_length=40, choices=DeviceState.choices, default=DeviceState.PROVISIONING
    )
    # The policy Mamori wants on the device (its organization's profile) and what it applied.
    policy_name = models.CharField(max_length=300, blank=True)
    applied_policy_name = models.CharField(max_length=300, blank=True)
    applied_policy_version = models.BigIntegerField(null=True, blank=True)
    policy_compliant = models.BooleanField(_("policy compliant"), null=True, blank=True)
    security_posture = models.CharField(
        _("security posture"), max_length=40, choices=SecurityPosture.choices, blank=True
    )
    brand = models.CharField(max_length=100, blank=True)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    android_version = models.CharField(_("Android version"), max_length=20, blank=True)
    security_patch_level = models.CharField(_("security patch level"), max_length=20, blank=True)
    api_level = models.PositiveSmallIntegerField(null=True, blank=True)
    battery_level = models.PositiveSmallIntegerField(_("battery"), null=True, blank=True)  # percent
    enrolled_at = models.DateTimeField(_("enrolled at"), null=True, blank=True)
    last_status_report_at = models.DateTimeField(_("last status report"), null=True, blank=True)
    last_policy_sync_at = models.DateTimeField(null=True, blank=True)
    report_clock = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    # A digest of ``report`` without its times (``notifications.devices.report_digest``): a
    # report that differs only in its times rewrites the times' columns, not the report.
    report_digest = models.CharField(max_length=32, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)  # DELETED reported, or removed
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("device")
        indexes = [
            models.Index(fields=["contract", "id"], name="device_by_contract"),
            models.Index(fields=["contract", "organization", "id"], name="device_by_org"),
            models.Index(fields=["contract", "user"], name="device_by_user"),
            models.Index(fields=["contract", "serial_number"], name="device_by_serial"),
            models.Index(
                fields=["contract", "last_status_report_at", "id"], name="device_by_report"
            ),
            models.Index(fields=["contract", "applied_state", "id"], name="device_by_state"),
            # The list's compliance counts and filter (Android Enterprise 2 of 3, part C).
            models.Index(
                fields=["contract", "policy_compliant", "id"], name="device_by_compliance"
            ),
        ]

    def __str__(self) -> str:
        return self.serial_number or self.name.rsplit("/", 1)[-1]


class UsageLogEvent(models.Model):
    """One event of a USAGE_LOGS notification (AMAPI ``UsageLogEvent``), kept for the retention
    setting (default 30 days). ``data`` is the event's own object (e.g. ``lostModeLocationEvent``)."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="usage_events")
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=60)
    event_time = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    security = models.BooleanField(default=False)  # highlighted on the device page

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="usage_event_unique"),
        ]
        indexes = [
            models.Index(fields=["device", "-event_time"], name="usage_event_by_device"),
            models.Index(fields=["event_time"], name="usage_event_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class CommandType(models.TextChoices):
    """The AMAPI ``Command.type`` values Mamori issues (ANDROID.md 2.2)."""

    LOCK = "LOCK", _("Lock")
    RESET_PASSWORD = "RESET_PASSWORD", _("Reset password")
    REBOOT = "REBOOT", _("Reboot")
    START_LOST_MODE = "START_LOST_MODE", _("Start lost mode")
    STOP_LOST_MODE = "STOP_LOST_MODE", _("Stop lost mode")
    CLEAR_APP_DATA = "CLEAR_APP_DATA", _("Clear app data")
    RELINQUISH_OWNERSHIP = "RELINQUISH_OWNERSHIP", _("Relinquish ownership")
    WIPE = "WIPE", _("Wipe")


class CommandStatus(models.TextChoices):
    """A command's lifecycle: registered → sent → succeeded / failed / expired / cancelled."""

    REGISTERED = "registered", _("Registered")
    SENT = "sent", _("Sent")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


COMMAND_DONE = (
    CommandStatus.SUCCEEDED,
    CommandStatus.FAILED,
    CommandStatus.EXPIRED,
    CommandStatus.CANCELLED,
)


class CommandJob(models.Model):
    """A bulk command: the same command for many devices, sent paced by the limiter. Its
    progress is counted from its commands; ``cancelled_at`` stops what is not sent yet."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(_("command"), max_length=40, choices=CommandType.choices)
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Devices chosen that did not get the command: [{"device_id", "label", "reason"}], the
    # reason in the issuer's language (a precondition not met).
    skipped = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"job {self.pk} {self.type}"


class Command(models.Model):
    """A command to one device (AMAPI ``devices.issueCommand`` → an ``Operation``).

    ``params`` are the command's parameters as AMAPI takes them (``startLostModeParams``,
    ``clearAppsDataParams``, ``wipeParams``, ``resetPasswordFlags``…) **without** a password:
    a new password is never stored or logged. ``result`` keeps the command-specific status
    (``startLostModeStatus``, ``clearAppsDataStatus``…) of the finished operation."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    job = models.ForeignKey(
        CommandJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands"
    )
    type = models.CharField(_("command"), max_length=40, choices=CommandType.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CommandStatus.choices, default=CommandStatus.REGISTERED
    )
    operation_name = models.CharField(max_length=400, blank=True)  # …/operations/{id}
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    issued_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Who is sending it (the id of the work that claimed it) and since when: one sender at a
    # time, and a sender run again after a crash reconciles from ``claimed_at`` (commands).
    send_claim = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["device", "-created_at"], name="command_by_device"),
            models.Index(fields=["job", "status", "id"], name="command_by_job"),
            models.Index(fields=["job", "id"], name="command_by_job_id"),
            models.Index(fields=["contract", "-created_at"], name="command_by_contract"),
            models.Index(
                fields=["operation_name"],
                condition=~Q(operation_name=""),
                name="command_by_operation",
            ),
            models.Index(
                fields=["status", "sent_at"],
                condition=Q(status__in=["registered", "sent"]),
                name="command_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.pk}"


# The notifications' inbox and the reconciliations' state (mamori/android/notifications).
from mamori.android.notifications.models import (  # noqa: E402, F401
    CommandCheck,
    DeviceSeen,
    DeviceWalk,
    InboxMessage,
    InboxNudge,
    InboxRejected,
)
