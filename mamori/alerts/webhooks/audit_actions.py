"""The operation-log actions of webhooks, and what each may record: the URL, never the secret."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register


class WebhookAction(StrEnum):
    """The webhooks' operation-log actions."""

    CREATED = "webhook.created"
    DELETED = "webhook.deleted"


def audit_actions_register() -> None:
    """Called from ``AlertsConfig.ready()`` (``notify.register``)."""
    action_register(WebhookAction.CREATED, _("Webhook added"), after=("url",))
    action_register(WebhookAction.DELETED, _("Webhook deleted"), before=("url",))
    key_labels_register({"url": _("URL")})
