from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_choices
from mamori.audit.retention import RETENTION_MAX, RETENTION_MIN
from mamori.audit.selectors import LogFilter, log_organizations_of
from mamori.audit.targets import target_type_label
from mamori.contracts.versions import ORGANIZATIONS, cached
from mamori.core.access import Principal, permission_require
from mamori.core.forms import PanelForm
from mamori.core.timezones import instant_errors
from mamori.core.widgets import FastChoiceField, Options


def action_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The actions grouped by area (what they act on: accounts, users, organizations…), each
    area named as the log names such targets, in registration order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in action_choices():
        groups.setdefault(code.split(".")[0], []).append((code, str(label)))
    return [(target_type_label(area), actions) for area, actions in groups.items()]


def organization_filter(account: Principal) -> tuple[Options, dict[int, str]]:
    """The "Organization" filter's options (``log_organizations_of``, written out) and each
    organization's path by id; ``PermissionDenied`` without ``logs.view``. Made once per version
    of the contract's organizations and scope (``contracts.versions``)."""
    permission_require(account, "logs.view")

    def build() -> tuple[Options, dict[int, str]]:
        rows = log_organizations_of(account)
        return Options.of((pk, name) for pk, name, _path in rows), {
            pk: path for pk, _name, path in rows
        }

    return cached(account.contract_id, ORGANIZATIONS, f"log-filter:{account.scope_paths!r}", build)


class LogFilterForm(PanelForm):
    """The log screen's filters; times are entered in the viewer's timezone."""

    since = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
    )
    until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
    )
    actor = FastChoiceField(label=_("Account"), required=False, coerce=int, empty_value=None)
    action = FastChoiceField(label=_("Action"), required=False)
    organization = FastChoiceField(
        label=_("Organization"), required=False, coerce=int, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        accounts: Iterable[tuple[int, str, str]],
        organizations: tuple[Options, dict[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        options, self.paths = organizations
        self.fields["actor"].choices = [("", _("All accounts"))] + [  # type: ignore[attr-defined]
            (pk, f"{name} ({person})") for pk, name, person in accounts
        ]
        self.fields["action"].choices = [("", _("All actions")), *action_groups()]  # type: ignore[attr-defined]
        self.fields["organization"].choices = options.with_first("", _("All organizations"))  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("since", "until"):
            errors = instant_errors(data[field]) if data.get(field) else []
            if errors:
                self.add_error(field, errors)
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error(
                "until",
                _("“Until” must be later than “From”: no entry can be in that range."),
            )
        return data

    def log_filter(self) -> LogFilter:
        data = self.cleaned_data if self.is_valid() else {}
        organization = data.get("organization")
        return LogFilter(
            since=data.get("since"),
            until=data.get("until"),
            actor_id=data.get("actor"),
            action=data.get("action") or None,
            organization_path=self.paths.get(organization) if organization else None,
        )


class LogSettingsForm(PanelForm):
    """Settings → Operation log: the contract's retention (``retention.log_settings_update``
    validates; the form only reads the values, empty months meaning forever)."""

    retention_months = forms.IntegerField(
        label=_("Retention (months)"),
        required=False,
        widget=forms.NumberInput(
            attrs={"min": RETENTION_MIN, "max": RETENTION_MAX, "placeholder": _("Forever")}
        ),
    )
    archive = forms.BooleanField(label=_("Archive entries before removing them"), required=False)
