"""Alerts: the system's findings about a contract's devices (issue 10).

An ``Alert`` is open from ``opened_at`` until ``cleared_at``; at most one is open per device and
kind (per contract and kind for alerts about no device: ``enterprise_unbound``), enforced by
partial unique constraints, so two workers detecting the same thing at once cannot open it
twice. Its level changes in place. Every change worth telling (opened, risen, lowered, cleared) is
an ``AlertEvent`` row written in the same transaction: the mail at once, the daily summary and the
webhooks read events, never the alerts' current columns. Alerts are not operation-log entries.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AlertKind(models.TextChoices):
    """The kinds of alert; the codes are the API's and the settings' (``mail_immediately``)."""

    LEFT_MANAGEMENT = "left_management", _("Left management")
    NON_COMPLIANT = "non_compliant", _("Not compliant")
    NO_REPORT = "no_report", _("No status report")
    COMPROMISED = "compromised", _("Security posture")
    COMMAND_FAILED = "command_failed", _("Command failed or expired")
    ENTERPRISE_UNBOUND = "enterprise_unbound", _("Android Enterprise binding broken")


class AlertLevel(models.IntegerChoices):
    """Levels, stored as ranks so that "important first" is an ORDER BY; the API's codes are
    ``LEVEL_CODES`` (CLOMO's words in Japanese: 重要, 警告, 注意)."""

    CAUTION = 1, _("Caution")
    WARNING = 2, _("Warning")
    IMPORTANT = 3, _("Important")


LEVEL_CODES: dict[int, str] = {
    AlertLevel.CAUTION: "caution",
    AlertLevel.WARNING: "warning",
    AlertLevel.IMPORTANT: "important",
}
LEVEL_BY_CODE: dict[str, int] = {code: level for level, code in LEVEL_CODES.items()}


class Alert(models.Model):
    """One finding about one device (``device`` null only for ``enterprise_unbound``).

    ``organization`` is the device's organization when the alert opened (kept current when the
    device moves), so that lists are scoped like devices without a join. ``details`` is a JSON
    object of the facts the alert's text needs (allow-listed per kind by the detector: non-
    compliance reasons, risk details, the command's id and type, hours without a report); never
    a secret.
    """

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        "android.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "directory.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=AlertKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=AlertLevel.choices)
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(_("since"))
    level_changed_at = models.DateTimeField()
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    # Who closed it by hand (``services.alert_close``), when the condition cannot end by itself.
    closed_by = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=Q(cleared_at__isnull=True, device__isnull=False),
                name="alert_open_once_per_device",
            ),
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=Q(cleared_at__isnull=True, device__isnull=True),
                name="alert_open_once_per_contract",
            ),
        ]
        indexes = [
            # The list: open first (then cleared), important first, newest first.
            models.Index(
                fields=["contract", "-level", "-opened_at", "-id"],
                condition=Q(cleared_at__isnull=True),
                name="alert_open_list",
            ),
            models.Index(fields=["contract", "-opened_at", "-id"], name="alert_list"),
            # The list's keyset order (important first, then newest: ids grow with opened_at).
            models.Index(
                fields=["contract", "-level", "-id"],
                condition=Q(cleared_at__isnull=True),
                name="alert_open_by_level",
            ),
            models.Index(fields=["contract", "-level", "-id"], name="alert_by_level"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {LEVEL_CODES.get(self.level, self.level)} #{self.pk}"

    @property
    def level_code(self) -> str:
        """``important`` | ``warning`` | ``caution``."""
        return LEVEL_CODES[self.level]

    @property
    def closable(self) -> bool:
        """Whether a person may close it (``services.alert_close``): an open alert whose
        condition does not end by itself — a device that left management (it never comes
        back), a failed command (it clears only when a later command succeeds), or any alert of
        a device that is gone. Others clear by themselves, and closing them would only see them
        open again at the next report."""
        if self.cleared_at is not None:
            return False
        if self.kind in (AlertKind.LEFT_MANAGEMENT, AlertKind.COMMAND_FAILED):
            return True
        device = self.device if self.device_id else None
        return device is not None and (
            device.deleted_at is not None or device.applied_state == "DELETED"
        )


class AlertAction(models.TextChoices):
    """What happened to an alert: the events mail, summaries and webhooks tell."""

    OPENED = "opened", _("Opened")
    RISEN = "risen", _("Risen")
    LOWERED = "lowered", _("Lowered")
    # "Cleared" alone is a command's outcome (data cleared): an alert's is another word.
    CLEARED = "cleared", pgettext_lazy("alert", "Cleared")


class AlertEvent(models.Model):
    """One change of an alert, written in the transaction that made it. ``level`` is the level
    after the change (the level it had when ``cleared``), ``previous_level`` before it (null when
    opened)."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=AlertAction.choices)
    level = models.PositiveSmallIntegerField(choices=AlertLevel.choices)
    previous_level = models.PositiveSmallIntegerField(
        choices=AlertLevel.choices, null=True, blank=True
    )
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["contract", "at", "id"], name="alert_event_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.alert_id} at {self.at:%Y-%m-%d %H:%M:%S}"


def mail_immediately_default() -> list[str]:
    """The kinds mailed at once until a System administrator chooses (a new contract's, and a
    contract without a settings row).

    What an IT administrator expects to hear about without waiting for the next morning: a
    device that left management (it may be lost or stolen, or its user removed the work
    profile), a device Google reports compromised or at risk, and the enterprise binding broken
    (no device can be managed until it is fixed), all of which need someone to act; and a device
    not compliant past the grace period (a required password missing, an app not installed),
    which the grace keeps from being a passing state. Silent devices (``no_report``: a phone off
    over a weekend) and failed commands are the daily summary's: mailed at once, they would be
    noise that teaches people to ignore the mail.
    """
    return [
        AlertKind.LEFT_MANAGEMENT.value,
        AlertKind.NON_COMPLIANT.value,
        AlertKind.COMPROMISED.value,
        AlertKind.ENTERPRISE_UNBOUND.value,
    ]


class AlertSettings(models.Model):
    """A contract's alert settings (Settings → Alerts; ``GET/PUT /settings/alerts``); a contract
    without a row has the defaults. ``mail_immediately`` is a list of ``AlertKind`` codes;
    ``summary_hour`` 0–23 in ``summary_timezone`` (an IANA name of ``core.timezones``)."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    mail_immediately = models.JSONField(default=mail_immediately_default, blank=True)
    caution_hours = models.PositiveIntegerField(_("caution after (hours)"), default=24)
    warning_hours = models.PositiveIntegerField(_("warning after (hours)"), default=72)
    non_compliance_grace_minutes = models.PositiveIntegerField(
        _("non-compliance grace (minutes)"), default=60
    )
    summary_hour = models.PositiveSmallIntegerField(_("daily summary at (hour)"), default=10)
    summary_timezone = models.CharField(_("timezone"), max_length=64, default="Asia/Tokyo")

    def __str__(self) -> str:
        return f"alert settings of {self.contract_id}"


# Telling people: the mail at once, the daily summary, the webhooks (issue 10, points 3–4) ─────


class AlertMailChannel(models.TextChoices):
    """How a mail told an event: at once (gathered per recipient and minute) or in the summary."""

    AT_ONCE = "at_once", _("Mail at once")
    SUMMARY = "summary", _("Daily summary")


class AlertMail(models.Model):
    """One event told, or to be told, to one recipient by mail: the alert's page lists them.

    ``events_dispatch`` writes a row per recipient with ``mailed_at`` null; the gathering work
    (``alerts.mail``, due at the end of the minute) takes every such row of its recipient under a
    row lock, queues one outbox mail and sets ``mail`` and ``mailed_at``. A row whose recipient
    could no longer be mailed (disabled, support option removed, no main address) gets
    ``mailed_at`` and no ``mail``. The daily summary writes its rows already mailed. ``to`` is the
    main address it went to, kept when the account is deleted.
    """

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="mails")
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=AlertMailChannel.choices)
    to = models.EmailField(_("to"), blank=True)
    mail = models.ForeignKey(
        "outbox.OutboundMail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["account", "id"],
                condition=Q(mailed_at__isnull=True),
                name="alert_mail_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} of event {self.event_id} to {self.to}"


class AlertSummary(models.Model):
    """The claim of one contract's daily summary for one local ``day``: the unique constraint
    lets one worker win, so there is exactly one per contract and day whatever the number of
    workers. ``due_at`` is ``summary_hour`` of that day in the summary's timezone (UTC);
    the summary tells the events in ``[since, until)``. ``recipients`` is 0 when there was
    nothing to say (no mail)."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    due_at = models.DateTimeField()
    since = models.DateTimeField()
    until = models.DateTimeField()
    late = models.BooleanField(default=False)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "day"], name="alert_summary_once_a_day")
        ]

    def __str__(self) -> str:
        return f"summary of {self.contract_id} for {self.day}"


class Webhook(models.Model):
    """An endpoint of a contract that receives its alert events as signed JSON (Settings →
    Webhooks, ``/webhooks``). ``secret`` signs each call (HMAC-SHA256): Mamori generates it and
    shows it once, when the webhook is added; it is never logged nor listed again."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    url = models.CharField(_("URL"), max_length=2000)
    secret = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "url"], name="webhook_url_once"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event to be POSTed to one webhook, by its ``alerts.webhook`` work. ``body`` is the
    JSON as sent (the facts when the event happened; no secret); ``url`` a copy, kept when the
    webhook is deleted. ``status_code`` and ``last_error`` are the last attempt's."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    url = models.CharField(max_length=2000)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    work = models.OneToOneField(
        "core.Work", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["webhook", "-id"], name="webhook_delivery_list")]

    def __str__(self) -> str:
        return f"event {self.event_id} to {self.url}"


class WebhookAttempt(models.Model):
    """One try of a delivery: the receiver's status code, or why there was none: ``reason`` (a
    ``Failure``, for the page to say in the viewer's language) and ``error`` (the technical
    text, in English, or the refusal in the worker's language). ``reason`` is empty with a
    status code, and on attempts recorded before it existed that migration 0004 could not
    classify."""

    class Failure(models.TextChoices):
        """Why an attempt got no answer (``webhooks.services.failure_of``)."""

        TIMEOUT = "timeout", _("Timed out: the receiver did not answer in time")
        REFUSED = "refused", _("Connection refused: nothing answers at that address and port")
        DNS = "dns", _("DNS failure: the host name cannot be found")
        PRIVATE = (
            "private",
            _("Refused by Mamori: the host is a private, loopback or otherwise non-public address"),
        )
        URL = "url", _("Refused by Mamori: the URL may not be called")
        TLS = (
            "tls",
            _("The secure connection (TLS) failed: e.g. a certificate not valid for the host"),
        )
        RESET = "reset", _("The connection was closed before an answer")
        UNREACHABLE = "unreachable", _("The network or the host is unreachable")
        PROTOCOL = "protocol", _("The answer was not valid HTTP")
        NETWORK = "network", _("Another network error")

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"


# Detection state (issue 10 point 1) ───────────────────────────────────────────────────────────


class ComplianceWatch(models.Model):
    """A device reported not compliant and has not reported compliant since: ``since`` is when
    Mamori first saw it (the server's clock), ``due_at`` when the grace
    (``non_compliance_grace_minutes``) ends and the ``non_compliant`` alert opens; ``alerted``
    once it has. Kept here, not in android's device table (issue 10: the grace is an alerts
    rule). The periodic check finds the rows due by ``alert_watch_due``."""

    device = models.OneToOneField(
        "android.Device", on_delete=models.CASCADE, primary_key=True, related_name="alert_watch"
    )
    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()
    due_at = models.DateTimeField()
    alerted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at", "device"],
                condition=Q(alerted=False),
                name="alert_watch_due",
            ),
            models.Index(fields=["contract", "device"], name="alert_watch_by_contract"),
        ]

    def __str__(self) -> str:
        return f"watch {self.device_id} since {self.since:%Y-%m-%d %H:%M:%S}"


class NoReportCheck(models.Model):
    """How far the periodic check has walked a contract's devices by ``last_status_report_at``
    (index ``device_by_report``): devices whose last report is before ``caution_at`` /
    ``warning_at`` (ties: up to ``…_id``) have been looked at for that threshold, so each run
    reads only the devices that crossed a threshold since the last one. Null: from the start
    (a new contract, or thresholds changed: ``rescan`` also looks again at the open alerts)."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    caution_at = models.DateTimeField(null=True, blank=True)
    caution_id = models.BigIntegerField(default=0)
    warning_at = models.DateTimeField(null=True, blank=True)
    warning_id = models.BigIntegerField(default=0)
    rescan = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"no-report check of {self.contract_id}"
