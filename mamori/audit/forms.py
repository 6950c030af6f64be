from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_choices
from mamori.audit.selectors import LogFilter
from mamori.audit.targets import target_type_label
from mamori.core.forms import PanelForm
from mamori.core.timezones import instant_errors
from mamori.core.widgets import FastChoiceField


def action_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The actions grouped by area (what they act on: accounts, users, organizations…), each
    area named as the log names such targets, in registration order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in action_choices():
        groups.setdefault(code.split(".")[0], []).append((code, str(label)))
    return [(target_type_label(area), actions) for area, actions in groups.items()]


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
        accounts: Any,
        organizations: list[tuple[int, str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.paths = {pk: path for pk, _name, path in organizations}
        self.fields["actor"].choices = [("", _("All accounts"))] + [  # type: ignore[attr-defined]
            (a.pk, f"{a.name} ({a.user.name})") for a in accounts
        ]
        self.fields["action"].choices = [("", _("All actions")), *action_groups()]  # type: ignore[attr-defined]
        self.fields["organization"].choices = [("", _("All organizations"))] + [  # type: ignore[attr-defined]
            (pk, name) for pk, name, _path in organizations
        ]

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
