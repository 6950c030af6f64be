"""Reads of webhooks: the contract's, for those who manage its settings (System administrators)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from mamori.accounts.models import Account
from mamori.alerts.models import Webhook, WebhookAttempt, WebhookDelivery
from mamori.core.access import object_get, restrict

PERMISSION = "settings.change"
DELIVERIES_SHOWN = 50


def webhooks_visible_to(account: Account) -> QuerySet[Webhook]:
    """The contract's webhooks, oldest first; ``PermissionDenied`` without ``settings.change``."""
    return restrict(Webhook.objects.all(), account, PERMISSION, path_field=None).order_by(
        "created_at", "id"
    )


def webhook_get(account: Account, pk: int | str) -> Webhook:
    """One webhook of the account's contract: ``NotFound`` otherwise, then ``PermissionDenied``
    without ``settings.change``."""
    return object_get(
        Webhook.objects.select_related("contract"), account, pk, PERMISSION, path_field=None
    )


def deliveries_of(webhook: Webhook, limit: int = DELIVERIES_SHOWN) -> list[WebhookDelivery]:
    """The webhook's newest deliveries, each with its attempts (``tries``, oldest first) and its
    event's alert: a fixed number of queries whatever the count."""
    attempts = WebhookAttempt.objects.order_by("at", "id")
    return list(
        WebhookDelivery.objects.filter(webhook=webhook)
        .select_related("event__alert")
        .prefetch_related(Prefetch("tries", queryset=attempts))
        .order_by("-id")[:limit]
    )
