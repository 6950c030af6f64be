from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.core.forms import PanelForm
from mamori.support.models import Inquiry
from mamori.support.services import BODY_MAX, SUBJECT_MAX


class InquiryForm(PanelForm):
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "—"), *Inquiry.Category.choices]
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
