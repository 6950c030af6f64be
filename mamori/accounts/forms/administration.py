"""The Mamori account form (administrators) and the custom permission scheme form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.accounts.models import LANGUAGE_CHOICES, Account, PermissionScheme
from mamori.accounts.services.passwords import PASSWORD_MAX_LENGTH
from mamori.core.access import catalogue
from mamori.core.forms import PanelForm, TimezoneField
from mamori.directory.forms import organization_choices
from mamori.directory.selectors import OrgNode


class AccountForm(PanelForm):
    name = forms.CharField(label=_("Account name"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirmation = forms.CharField(
        label=_("Confirm password"),
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    # No privilege is preselected for a new account: the highest one must never be a default.
    privilege = forms.ChoiceField(
        label=_("Admin privilege"),
        choices=[("", _("Choose a privilege")), *Account.Privilege.choices],
    )
    support_option = forms.BooleanField(label=_("Support option"), required=False)
    receive_notice_mail = forms.BooleanField(label=_("Receive notice mail"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    timezone = TimezoneField(label=_("Timezone"))
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
        self.fields["timezone"].choices_for(self["timezone"].value() or "")  # type: ignore[attr-defined]


class SchemeForm(PanelForm):
    name = forms.CharField(label=_("Scheme name"), max_length=100)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = catalogue.choices()  # type: ignore[attr-defined]

    def grid(self) -> tuple[list[str], list[tuple[str, list[tuple[str, str, bool] | None]]]]:
        """The permissions as a screen × action grid (``catalogue.screens()``): the columns'
        labels, and per screen its label and one cell per column, ``(code, label, checked)``
        or ``None`` where the screen has no such action (or it is not grantable)."""
        chosen = set(self["permissions"].value() or ())
        screens = catalogue.screens()
        columns: dict[str, str] = {}
        for screen in screens:
            for p in screen.permissions:
                if not p.system_only:
                    columns.setdefault(p.action, str(p.label))
        rows = []
        for screen in screens:
            by_action = {p.action: p for p in screen.permissions if not p.system_only}
            cells: list[tuple[str, str, bool] | None] = []
            for action in columns:
                found = by_action.get(action)
                cells.append(
                    (found.code, f"{screen.label} / {found.label}", found.code in chosen)
                    if found
                    else None
                )
            if by_action:
                rows.append((str(screen.label), cells))
        return list(columns.values()), rows
