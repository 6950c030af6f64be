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


class AlertAction(models.TextChoices):
    """What happened to an alert: the events mail, summaries and webhooks tell."""

    OPENED = "opened", pgettext_lazy("alert", "Opened")
    RISEN = "risen", pgettext_lazy("alert", "Risen")
    LOWERED = "lowered", pgettext_lazy("alert", "Lowered")
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


class AlertSettings(models.Model):
    """A contract's alert settings (Settings → Alerts; ``GET/PUT /settings/alerts``); a contract
    without a row has the defaults. ``mail_immediately`` is a list of ``AlertKind`` codes;
    ``summary_hour`` 0–23 in ``summary_timezone`` (an IANA name of ``core.timezones``)."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    mail_immediately = models.JSONField(default=list, blank=True)
    caution_hours = models.PositiveIntegerField(_("caution after (hours)"), default=24)
    warning_hours = models.PositiveIntegerField(_("warning after (hours)"), default=72)
    non_compliance_grace_minutes = models.PositiveIntegerField(
        _("non-compliance grace (minutes)"), default=60
    )
    summary_hour = models.PositiveSmallIntegerField(_("daily summary at (hour)"), default=10)
    summary_timezone = models.CharField(_("timezone"), max_length=64, default="Asia/Tokyo")

    def __str__(self) -> str:
        return f"alert settings of {self.contract_id}"


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
