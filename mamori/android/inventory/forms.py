"""Forms of a device's page: move it, its note, remove it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.core.forms import PanelForm
from mamori.core.widgets import FastChoiceField, Options


class DeviceMoveForm(PanelForm):
    """Another organization (its profile follows) and a user found by employee code or e-mail."""

    organization = FastChoiceField(label=_("Organization"), coerce=int)
    user = forms.CharField(
        label=_("User (optional)"),
        max_length=254,
        required=False,
        help_text=_("The employee code or main e-mail address of the person who uses it."),
    )

    def __init__(self, *args: Any, organizations: Options, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = organizations  # type: ignore[attr-defined]


class DeviceNoteForm(PanelForm):
    """The device's note: one line, at most 200 characters."""

    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class DeviceRemoveForm(PanelForm):
    """The serial number (or device id) typed to confirm a removal."""

    confirm = forms.CharField(label=_("Serial number, to confirm"), max_length=100)
