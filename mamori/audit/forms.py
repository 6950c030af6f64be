from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_choices
from mamori.audit.selectors import LogFilter


class LogFilterForm(forms.Form):
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
    actor = forms.TypedChoiceField(label=_("Account"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args: object, accounts: list[Any], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["actor"].choices = [("", _("All accounts"))] + [  # type: ignore[attr-defined]
            (a.pk, f"{a.name} ({a.user.name})") for a in accounts
        ]
        self.fields["action"].choices = [("", _("All actions")), *action_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", _("“Until” must be later than “From”."))
        return data

    def log_filter(self) -> LogFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return LogFilter(
            since=data.get("since"),
            until=data.get("until"),
            actor_id=data.get("actor"),
            action=data.get("action") or None,
        )
