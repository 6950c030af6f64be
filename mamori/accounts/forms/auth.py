from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.accounts.models import LANGUAGE_CHOICES
from mamori.accounts.services.passwords import PASSWORD_MAX_LENGTH
from mamori.core.forms import PanelForm, TimezoneField


class LoginForm(PanelForm):
    domain = forms.CharField(label=_("Usage domain"), max_length=63)
    account = forms.CharField(label=_("Account"), max_length=150)
    # Not stripped: a password is compared exactly as it was chosen.
    password = forms.CharField(
        label=_("Password"), max_length=PASSWORD_MAX_LENGTH, strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: object, fixed_domain: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if fixed_domain is not None:
            del self.fields["domain"]
        first = "domain" if "domain" in self.fields else "account"
        self.fields[first].widget.attrs["autofocus"] = True
        self.fields["account"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordSetForm(PanelForm):
    new_password = forms.CharField(
        label=_("New password"),
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    confirmation = forms.CharField(
        label=_("Confirm password"),
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )


class PasswordChangeForm(PasswordSetForm):
    current_password = forms.CharField(
        label=_("Current password"),
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )
    field_order = ["current_password", "new_password", "confirmation"]


class ApiTokenForm(PanelForm):
    name = forms.CharField(label=_("Token name"), max_length=100)
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"),
        coerce=int,
        initial=90,
        choices=[
            (7, _("7 days")),
            (30, _("30 days")),
            (90, _("90 days")),
            (180, _("180 days")),
            (366, _("1 year")),
        ],
    )


class PreferencesForm(PanelForm):
    """An account's own language and timezone."""

    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    timezone = TimezoneField(label=_("Timezone"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices_for(self["timezone"].value() or "")  # type: ignore[attr-defined]
