"""The form of each command's parameters (the pages; the API takes the same names as JSON)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mamori.android.commands.definitions import (
    MAX_PACKAGES,
    PERSONAL,
    WIPE_REASON_MAX,
    AndroidCommand,
    device_label,
    device_packages,
)
from mamori.android.models import Device
from mamori.core.forms import PanelForm


def _flag(label: Any, help_text: Any = "") -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, help_text=help_text)


class CommandForm(PanelForm):
    """A command's parameters; ``values()`` gives them as the service takes them."""

    def __init__(
        self,
        *args: Any,
        kind: type[AndroidCommand],
        device: Device | None = None,
        company: str = "",
        count: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        builder = getattr(self, f"_fields_{kind.code}", None)
        if builder is not None:
            builder(device, company, count)

    def _fields_reset_password(self, device: Device | None, company: str, count: int) -> None:
        widget = forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False)
        self.fields["new_password"] = forms.CharField(
            label=_("New password"), max_length=128, widget=widget, strip=False
        )
        self.fields["confirmation"] = forms.CharField(
            label=_("New password (again)"), max_length=128, widget=widget, strip=False
        )
        self.fields["require_entry"] = _flag(
            _("Require entry"),
            _("Other device administrators cannot set a password until the user has entered it."),
        )
        self.fields["lock_now"] = _flag(_("Lock the device now"))
        self.fields["do_not_ask_credentials_on_boot"] = _flag(
            _("Do not ask for the password at start-up"),
            _("Fully managed devices only; the device starts without asking for it."),
        )

    def _fields_start_lost_mode(self, device: Device | None, company: str, count: int) -> None:
        self.fields["message"] = forms.CharField(
            label=pgettext_lazy("lost mode", "Message"),
            required=False,
            max_length=1000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )
        self.fields["phone_number"] = forms.CharField(
            label=_("Phone number"), required=False, max_length=40
        )
        self.fields["email"] = forms.CharField(
            label=_("E-mail address"), required=False, max_length=254
        )
        self.fields["street_address"] = forms.CharField(
            label=_("Street address"),
            required=False,
            max_length=500,
            widget=forms.Textarea(attrs={"rows": 2}),
        )
        self.fields["organization"] = forms.CharField(
            label=_("Company name"), required=False, max_length=200, initial=company
        )

    def _fields_clear_app_data(self, device: Device | None, company: str, count: int) -> None:
        if device is not None:
            self.fields["package_names"] = forms.MultipleChoiceField(
                label=_("Apps"),
                choices=[
                    (p, f"{name} ({p})" if name != p else p) for p, name in device_packages(device)
                ],
                widget=forms.CheckboxSelectMultiple,
            )
        else:
            self.fields["package_names"] = forms.CharField(
                label=_("Package names"),
                help_text=_("One a line, e.g. com.example.app (at most %(count)d).")
                % {"count": MAX_PACKAGES},
                widget=forms.Textarea(attrs={"rows": 4}),
                max_length=30000,
            )

    def _fields_wipe(self, device: Device | None, company: str, count: int) -> None:
        if device is None or device.ownership != PERSONAL:
            # A personal device loses only its work profile: no factory-reset flags.
            self.fields["preserve_reset_protection_data"] = _flag(
                _("Keep factory reset protection data"),
                _("After the wipe the device still asks for the Google account it had."),
            )
            self.fields["wipe_external_storage"] = _flag(_("Also wipe external storage (SD card)"))
            self.fields["wipe_esims"] = _flag(_("Also remove eSIMs"))
        self.fields["reason"] = forms.CharField(
            label=_("Reason shown on the device"),
            required=False,
            max_length=WIPE_REASON_MAX,
            help_text=_("At most 200 characters; shown on personal devices only."),
        )
        if device is not None:
            self.fields["confirm_serial"] = forms.CharField(
                label=_("Serial number, to confirm"),
                max_length=100,
                help_text=_("Type %(serial)s.") % {"serial": device_label(device)},
            )
        elif count > 1:
            self.fields["confirm_count"] = forms.IntegerField(
                label=_("Number of devices, to confirm"),
                help_text=_("Type %(count)d.") % {"count": count},
            )

    def values(self) -> dict[str, Any]:
        """The cleaned parameters, as the service takes them (``confirm_count`` left out)."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "confirm_count"}
        names = data.get("package_names")
        if isinstance(names, str):
            data["package_names"] = [line.strip() for line in names.splitlines() if line.strip()]
        elif names is not None:
            data["package_names"] = list(names)
        return data
