"""The Mamori account form (administrators) and the custom permission scheme form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.accounts.models import LANGUAGE_CHOICES, Account, PermissionScheme
from mamori.core.access import catalogue
from mamori.core.timezones import timezone_list
from mamori.directory.forms import organization_choices
from mamori.directory.selectors import OrgNode


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Account name"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirmation = forms.CharField(
        label=_("Confirm password"),
        required=False,
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    privilege = forms.ChoiceField(label=_("Admin privilege"), choices=Account.Privilege.choices)
    support_option = forms.BooleanField(label=_("Support option"), required=False)
    receive_notice_mail = forms.BooleanField(label=_("Receive notice mail"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    timezone = forms.CharField(
        label=_("Timezone"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    scope_all = forms.BooleanField(label=_("All organizations"), required=False)
    scope_organizations = forms.TypedMultipleChoiceField(
        label=_("Organizations it manages"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    scheme = forms.TypedChoiceField(
        label=_("Permission scheme"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        organizations: list[OrgNode],
        schemes: list[PermissionScheme],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope_organizations"].choices = organization_choices(organizations)  # type: ignore[attr-defined]
        self.fields["scheme"].choices = [("", "—")] + [(s.pk, s.name) for s in schemes]  # type: ignore[attr-defined]

    @staticmethod
    def timezones() -> list[str]:
        return list(timezone_list())


class SchemeForm(forms.Form):
    name = forms.CharField(label=_("Scheme name"), max_length=100)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = catalogue.choices()  # type: ignore[attr-defined]
