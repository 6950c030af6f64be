"""Webhooks in the API (``GET/POST/DELETE /webhooks``): the same selectors and services as
Settings → Webhooks; for System administrators."""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from mamori.accounts.models import Account
from mamori.alerts.models import Webhook, WebhookDelivery
from mamori.alerts.webhooks.selectors import deliveries_of, webhook_get, webhooks_visible_to
from mamori.alerts.webhooks.services import webhook_create, webhook_delete
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import text_field
from mamori.core.inputs import InputSchema

router = Router(tags=["Webhooks"])


def _me(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


class WebhookOut(Schema):
    id: int
    url: str
    created_at: datetime.datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(id=webhook.pk, url=webhook.url, created_at=webhook.created_at)


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="signs every call (Mamori-Signature); shown in this answer only, never again"
    )


class AttemptOut(Schema):
    at: datetime.datetime
    status_code: int | None = Field(description="the receiver's answer; null: none (see error)")
    error: str


class DeliveryOut(Schema):
    id: int
    event_id: int
    event: str = Field(description="opened, risen, lowered or cleared")
    alert_id: int
    status: str = Field(description="pending, delivered or failed")
    last_error: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=delivery.pk,
            event_id=delivery.event_id,
            event=delivery.event.action,
            alert_id=delivery.event.alert_id,
            status=delivery.status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            finished_at=delivery.finished_at,
            attempts=[
                AttemptOut(at=t.at, status_code=t.status_code, error=t.error)
                for t in delivery.tries.all()
            ],
        )


class WebhookDetailOut(WebhookOut):
    deliveries: list[DeliveryOut] = Field(description="the newest 50, newest first")


class WebhookIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://example.com/mamori-alerts"}]}
    )

    url: str = text_field(Webhook, "url")


@router.get("/webhooks", response=list[WebhookOut], summary="The contract's webhooks")
def webhooks(request: HttpRequest) -> list[WebhookOut]:
    """Oldest first. Their secrets are never listed."""
    return [WebhookOut.of(w) for w in webhooks_visible_to(_me(request))]


@router.post("/webhooks", response={201: WebhookCreatedOut}, summary="Add a webhook")
def webhook_add(request: HttpRequest, payload: WebhookIn) -> Status:
    """An http(s) URL whose host resolves to public addresses only (unless the deployment allows
    private ones). The answer holds the secret that signs the calls: the only time it is shown."""
    me = _me(request)
    webhooks_visible_to(me)  # refused before anything is resolved without the permission
    webhook, secret = webhook_create(actor=_actor(request), contract=me.contract, url=payload.url)
    return Status(201, WebhookCreatedOut(**WebhookOut.of(webhook).model_dump(), secret=secret))


@router.get("/webhooks/{webhook_id}", response=WebhookDetailOut, summary="A webhook's deliveries")
def webhook_detail(request: HttpRequest, webhook_id: int) -> WebhookDetailOut:
    """The webhook and its newest deliveries, each with its attempts' status codes."""
    webhook = webhook_get(_me(request), webhook_id)
    return WebhookDetailOut(
        **WebhookOut.of(webhook).model_dump(),
        deliveries=[DeliveryOut.of(d) for d in deliveries_of(webhook)],
    )


@router.delete("/webhooks/{webhook_id}", response={204: None}, summary="Delete a webhook")
def webhook_remove(request: HttpRequest, webhook_id: int) -> Status:
    """Its deliveries not made yet fail; those made stay listed on their alerts."""
    webhook = webhook_get(_me(request), webhook_id)
    webhook_delete(actor=_actor(request), webhook=webhook)
    return Status(204, None)
