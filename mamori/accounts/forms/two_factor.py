from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.core.forms import PanelForm


class TwoFactorCodeForm(PanelForm):
    """One authentication code: from the app, or (where allowed) a backup code."""

    code = forms.CharField(label=_("Authentication code"), max_length=32)

    def __init__(self, *args: object, app_only: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        attrs = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        if app_only:  # six digits: a phone shows its number pad
            attrs.update({"inputmode": "numeric", "pattern": "[0-9 ]*"})
        self.fields["code"].widget.attrs.update(attrs)


class ContractSecurityForm(PanelForm):
    require_two_factor = forms.BooleanField(
        label=_("Require two-step verification for all accounts"), required=False
    )
