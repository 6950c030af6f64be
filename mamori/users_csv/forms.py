from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.core.forms import PanelForm
from mamori.users_csv.models import UserImport


class UserImportForm(PanelForm):
    file = forms.FileField(label=_("CSV file"))
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=UserImport.Mode.choices,
        initial=UserImport.Mode.ADD,
        widget=forms.RadioSelect,
    )
