"""The Settings → Alerts form: the service (``alert_settings_update``) validates; the form only
reads the values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.alerts.models import AlertKind
from mamori.alerts.services import GRACE_MAX, HOURS_MAX
from mamori.core.forms import PanelForm, TimezoneField


class AlertSettingsForm(PanelForm):
    """The contract's alert settings (``AlertSettings``)."""

    mail_immediately = forms.MultipleChoiceField(
        label=_("Kinds mailed at once"),
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    caution_hours = forms.IntegerField(
        label=_("No status report: caution after (hours)"), min_value=1, max_value=HOURS_MAX - 1
    )
    warning_hours = forms.IntegerField(
        label=_("No status report: warning after (hours)"), min_value=1, max_value=HOURS_MAX
    )
    non_compliance_grace_minutes = forms.IntegerField(
        label=_("Not compliant: grace (minutes)"), min_value=0, max_value=GRACE_MAX
    )
    summary_hour = forms.TypedChoiceField(
        label=_("Daily summary at"),
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
    )
    summary_timezone = TimezoneField(label=_("Daily summary timezone"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["summary_timezone"].choices_for(self["summary_timezone"].value() or "")  # type: ignore[attr-defined]
