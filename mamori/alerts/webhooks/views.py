"""Settings → Webhooks: the contract's endpoints, adding one (its secret shown once), a webhook's
deliveries with their attempts, deleting one. For System administrators (``settings.change``)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.accounts.models import Account
from mamori.alerts.webhooks.forms import WebhookForm
from mamori.alerts.webhooks.selectors import deliveries_of, webhook_get, webhooks_visible_to
from mamori.alerts.webhooks.services import webhook_create, webhook_delete
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors


def _me(request: HttpRequest) -> Account:
    return request.user  # type: ignore[return-value]


@account_required
def webhooks_list(request: HttpRequest) -> HttpResponse:
    """The list and the form to add one; after adding, the same page shows the secret once."""
    me = _me(request)
    webhooks = webhooks_visible_to(me)  # refused before the form without the permission
    form = WebhookForm(request.POST or None)
    added = None
    if request.method == "POST" and form.is_valid():
        try:
            added = webhook_create(
                actor=Actor.from_request(request),
                contract=me.contract,
                url=form.cleaned_data["url"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = WebhookForm()
    return render(
        request,
        "alerts/webhooks.html",
        {
            "webhooks": list(webhooks),
            "form": form,
            "added": added[0] if added else None,
            "secret": added[1] if added else "",
            "allow_private": settings.MAMORI_WEBHOOK_ALLOW_PRIVATE,
            "tab": "settings",
        },
    )


@require_safe
@account_required
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """A webhook and its newest deliveries, each with the status codes of its attempts."""
    webhook = webhook_get(_me(request), webhook_id)
    return render(
        request,
        "alerts/webhook_detail.html",
        {
            "webhook": webhook,
            "deliveries": deliveries_of(webhook),
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "settings",
        },
    )


@require_POST
@account_required
def webhook_remove(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """Delete the webhook (its deliveries not made yet fail), back to the list."""
    me = _me(request)
    webhook = webhook_get(me, webhook_id)
    webhook_delete(actor=Actor.from_request(request), webhook=webhook)
    messages.success(request, _("The webhook %(url)s has been deleted.") % {"url": webhook.url})
    return HttpResponseRedirect(reverse("panel:webhooks", kwargs={"domain": me.contract.domain}))
