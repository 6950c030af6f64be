"""Forms of the Android Enterprise pages (the profile's own form is the policy module's
``ProfileForm``; these are the rest)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.android.models import DeviceKind, Profile, ProfileVersion
from mamori.core.forms import PanelForm
from mamori.core.widgets import FastChoiceField
from mamori.directory.forms import organization_choices
from mamori.directory.selectors import OrgNode

NO_EXPIRY = "none"
# (seconds, label): 1 hour … 90 days, 7 days by default (services.TOKEN_DURATION_*).
DURATIONS = [
    ("3600", _("1 hour")),
    ("86400", _("1 day")),
    ("604800", _("7 days")),
    ("2592000", _("30 days")),
    ("7776000", _("90 days")),
    (NO_EXPIRY, _("No expiry (reusable tokens only)")),
]


class UnbindForm(PanelForm):
    confirm = forms.CharField(label=_("Usage domain, to confirm"), max_length=100)
    delete_devices = forms.BooleanField(
        label=_("Delete the devices Mamori knows first"), required=False
    )


class ProfileNameForm(PanelForm):
    name = forms.CharField(
        label=_("Profile name"), max_length=Profile._meta.get_field("name").max_length
    )


class NoteForm(PanelForm):
    note = forms.CharField(
        label=_("Note on this version"),
        max_length=ProfileVersion._meta.get_field("note").max_length,
        required=False,
    )


class AssignForm(PanelForm):
    profile = forms.TypedChoiceField(
        label=_("Profile"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, profiles: list[Profile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [  # type: ignore[attr-defined]
            ("", _("Inherit from the parent organization")),
            *((p.pk, p.name) for p in profiles),
        ]


class TokenForm(PanelForm):
    organization = FastChoiceField(label=_("Organization"), coerce=int)
    user = forms.CharField(
        label=_("User (optional)"),
        max_length=254,
        required=False,
        help_text=_("The employee code or main e-mail address of the person who will use it."),
    )
    device_kind = forms.ChoiceField(
        label=_("Device kind"),
        choices=DeviceKind.choices,
        initial=DeviceKind.FULLY_MANAGED,
        widget=forms.RadioSelect,
    )
    one_time = forms.TypedChoiceField(
        label=_("Use"),
        choices=[("1", _("One device (one-time)")), ("0", _("Any number of devices (reusable)"))],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    duration = forms.ChoiceField(label=_("Valid for"), choices=DURATIONS, initial="604800")
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, organizations: list[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = organization_choices(organizations)  # type: ignore[attr-defined]

    def duration_seconds(self) -> int | None:
        value = self.cleaned_data["duration"]
        return None if value == NO_EXPIRY else int(value)
