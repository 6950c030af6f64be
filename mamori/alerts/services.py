"""Writes to the alerts: the contract's alert settings (Settings → Alerts, ``PUT
/settings/alerts``) and a person closing an alert that cannot end by itself. Alerts are
otherwise written only by the detector (``detect.py``)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.alerts.audit_actions import SETTING_KEYS, AlertsAction
from mamori.alerts.checks import thresholds_changed
from mamori.alerts.dispatch import events_dispatch
from mamori.alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertKind,
    AlertSettings,
    ComplianceWatch,
)
from mamori.alerts.permissions import ALERTS_CLOSE, ALERTS_SETTINGS
from mamori.audit.services import Target, TargetType, log_record
from mamori.contracts.models import Contract
from mamori.core.access import authorize
from mamori.core.actor import Actor
from mamori.core.timezones import timezone_parse

HOURS_MAX = 8760  # a year
GRACE_MAX = 10080  # a week, in minutes


def settings_values(settings: AlertSettings) -> dict[str, Any]:
    """The settings as the log, the API and the form give them (``SETTING_KEYS``)."""
    return {key: getattr(settings, key) for key in SETTING_KEYS}


def alert_settings_of(contract: Contract) -> AlertSettings:
    """The contract's settings row, or an unsaved one with the defaults."""
    return AlertSettings.objects.filter(contract=contract).first() or AlertSettings(
        contract=contract
    )


def _int_error(value: Any, low: int, high: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
    return ""


def settings_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each field's problem (``{field: [message]}``, in the active language); empty when valid."""
    errors: dict[str, list[str]] = {}
    kinds = values.get("mail_immediately")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        errors["mail_immediately"] = [_("Give a list of alert kind codes.")]
    elif unknown := sorted(set(kinds) - set(AlertKind.values)):
        errors["mail_immediately"] = [
            _("Unknown alert kinds: %(codes)s. Known: %(known)s.")
            % {"codes": ", ".join(unknown)[:200], "known": ", ".join(AlertKind.values)}
        ]
    for key, low, high in (
        ("caution_hours", 1, HOURS_MAX - 1),  # the warning comes after it
        ("warning_hours", 1, HOURS_MAX),
        ("non_compliance_grace_minutes", 0, GRACE_MAX),
        ("summary_hour", 0, 23),
    ):
        if message := _int_error(values.get(key), low, high):
            errors[key] = [message]
    if (
        "caution_hours" not in errors
        and "warning_hours" not in errors
        and values["warning_hours"] <= values["caution_hours"]
    ):
        errors["warning_hours"] = [
            ngettext(
                "The warning must come after the caution: enter more than %(hours)d hour.",
                "The warning must come after the caution: enter more than %(hours)d hours.",
                values["caution_hours"],
            )
            % {"hours": values["caution_hours"]}
        ]
    try:
        _zone(values)
    except ValidationError as exc:
        errors["summary_timezone"] = list(exc.messages)
    return errors


def _zone(values: Mapping[str, Any]) -> str:
    """The IANA name of ``summary_timezone`` as ``timezone_parse`` reads it (the one rule of the
    panel's picker, the API and every other timezone: ``JST``, ``UTC+9``, ``asia/tokyo``…);
    ``ValidationError`` saying which values are taken."""
    zone = values.get("summary_timezone")
    return timezone_parse(zone if isinstance(zone, str) else "")


def alert_settings_update(
    *, actor: Actor, contract: Contract, values: Mapping[str, Any]
) -> AlertSettings:
    """Replace the contract's alert settings with ``values`` (every key of ``SETTING_KEYS``;
    ``mail_immediately`` a list of ``AlertKind`` codes, ``summary_timezone`` anything
    ``timezone_parse`` reads, stored as its IANA name). System administrators only
    (``alerts.settings``). ``ValidationError`` naming each bad field. One operation-log entry
    with the values before and after, none when nothing changed. Changed thresholds make the
    periodic check look at every device again; a changed grace moves the pending ones."""
    authorize(actor, ALERTS_SETTINGS)
    errors = settings_errors(values)
    if errors:
        raise ValidationError(errors)
    clean = {key: values[key] for key in SETTING_KEYS}
    clean["summary_timezone"] = _zone(values)
    clean["mail_immediately"] = [
        k for k in AlertKind.values if k in set(values["mail_immediately"])
    ]
    with transaction.atomic():
        Contract.objects.select_for_update().filter(pk=contract.pk).first()
        settings = alert_settings_of(contract)
        before = settings_values(settings)
        if before == clean:
            return settings
        for key, value in clean.items():
            setattr(settings, key, value)
        settings.save()
        if (before["caution_hours"], before["warning_hours"]) != (
            clean["caution_hours"],
            clean["warning_hours"],
        ):
            thresholds_changed(contract.pk)
        if before["non_compliance_grace_minutes"] != clean["non_compliance_grace_minutes"]:
            grace = datetime.timedelta(minutes=clean["non_compliance_grace_minutes"])
            ComplianceWatch.objects.filter(contract=contract, alerted=False).update(
                due_at=ExpressionWrapper(F("since") + Value(grace), output_field=DateTimeField())
            )
        changed = [key for key in SETTING_KEYS if before[key] != clean[key]]
        log_record(
            contract=contract,
            actor=actor,
            action=AlertsAction.SETTINGS_CHANGED,
            target=Target(TargetType.CONTRACT, contract.pk, contract.domain),
            before={key: before[key] for key in changed},
            after={key: clean[key] for key in changed},
        )
    return settings


def alert_close(*, actor: Actor, alert: Alert) -> Alert:
    """Close an open alert by hand: one whose condition cannot end by itself
    (``Alert.closable``: a device that left management, a failed command, any alert of a device
    that is gone). ``alerts.close`` in the alert's organization (administrators; an alert
    without a device needs the whole contract). ``ValidationError`` for an alert that is
    cleared already or clears by itself (it would open again at the next report). The alert is
    cleared as the detector clears one (a ``cleared`` event: the daily summary and the webhooks
    tell it), with who closed it; one operation-log entry."""
    places = [alert.organization] if alert.organization is not None else []
    authorize(actor, ALERTS_CLOSE, *places)
    with transaction.atomic():
        locked = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("device")
            .filter(pk=alert.pk)
            .first()
        )
        if locked is None or not locked.closable:
            raise ValidationError(
                _("This alert is cleared already.")
                if locked is None or locked.cleared_at is not None
                else _(
                    "This alert clears by itself when its condition ends; closing it would only "
                    "see it open again at the device's next report."
                )
            )
        now = timezone.now()
        locked.cleared_at = now
        locked.closed_by = actor.account  # type: ignore[assignment]  # an Account or None
        locked.save(update_fields=["cleared_at", "closed_by"])
        event = AlertEvent.objects.create(
            contract_id=locked.contract_id,
            alert=locked,
            action=AlertAction.CLEARED,
            level=locked.level,
            previous_level=locked.level,
            at=now,
        )
        events_dispatch([event])
        log_record(
            contract=locked.contract,
            actor=actor,
            action=AlertsAction.CLOSED,
            # Codes, read in the reader's language (``audit_actions.alert_target_label``).
            target=Target(
                TargetType.ALERT,
                locked.pk,
                f"{locked.kind} {locked.device}" if locked.device_id else locked.kind,
            ),
            before={"alert_state": "open"},
            after={"alert_state": "closed"},
            organization_id=locked.organization_id,
        )
    return locked
