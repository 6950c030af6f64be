"""The form of Settings → Webhooks: a URL; the service checks it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mamori.alerts.models import Webhook
from mamori.core.forms import PanelForm


class WebhookForm(PanelForm):
    """The URL of a webhook to add (``services.webhook_create`` checks it)."""

    url = forms.CharField(
        label=_("URL"),
        max_length=Webhook._meta.get_field("url").max_length,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/mamori-alerts"}),
    )
