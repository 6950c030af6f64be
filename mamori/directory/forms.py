from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.contracts.versions import ORGANIZATIONS, cached
from mamori.core.access import Principal, permission_code, permission_require
from mamori.core.forms import PanelForm
from mamori.core.widgets import FastChoiceField, Options
from mamori.directory.models import UserEmail
from mamori.directory.selectors import OrgNode, organization_tree


def organization_choices(nodes: list[OrgNode]) -> list[tuple[int, str]]:
    """Organizations indented by depth, in tree order, for a select."""
    return [(n.id, "\u3000" * n.depth + n.name) for n in nodes]


def organization_options(account: Principal, action: str) -> Options:
    """``organization_choices`` of the account's tree for ``action`` (``organizations.<action>``
    or a full code; ``PermissionDenied`` without it), written out once per version of the
    contract's organizations and scope (``contracts.versions``): the Add User page's select."""
    permission_require(account, permission_code("organizations", action))
    return cached(
        account.contract_id,
        ORGANIZATIONS,
        f"options:{account.scope_paths!r}",
        lambda: Options.of(organization_choices(organization_tree(account, action))),
    )


class UserForm(PanelForm):
    # The one-time token of the Add User form (``core.once``): saved twice, it adds one user.
    form_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    furigana = forms.CharField(
        label=_("Furigana"),
        max_length=200,
        required=False,
        help_text=_("Katakana. Hiragana and half-width katakana are converted."),
    )
    employee_code = forms.CharField(label=_("Employee code"), max_length=64, required=False)
    organization = FastChoiceField(label=_("Organization"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone number"), max_length=40, required=False)
    mobile_phone = forms.CharField(label=_("Mobile phone number"), max_length=40, required=False)

    def __init__(self, *args: Any, organizations: Options, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = organizations  # type: ignore[attr-defined]


class EmailRowForm(PanelForm):
    """One e-mail row. A row starts empty and unmarked: no category is chosen for it (the page
    gives a new user's first row “Main”), so adding a row never makes a second main address,
    and an empty row is left out. The service says what a filled row lacks."""

    address = forms.CharField(label=_("E-mail address"), max_length=254, required=False)
    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("Choose a category")), *UserEmail.Category.choices],
        required=False,
    )


EMAIL_ROWS_MAX = 20  # e-mail addresses of one user
EmailFormSet = forms.formset_factory(
    EmailRowForm, extra=0, min_num=1, max_num=EMAIL_ROWS_MAX, validate_max=True
)


class OrganizationNameForm(PanelForm):
    name = forms.CharField(label=_("Organization name"), max_length=200)


class OrganizationMoveForm(PanelForm):
    parent = FastChoiceField(label=_("New parent organization"), coerce=int)

    def __init__(self, *args: Any, organizations: list[OrgNode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = organization_choices(organizations)  # type: ignore[attr-defined]


def node_by_pk(nodes: list[OrgNode], pk: int | None) -> OrgNode | None:
    return next((n for n in nodes if n.id == pk), None)
