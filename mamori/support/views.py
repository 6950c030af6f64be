"""Support inquiries in the panel: only accounts with the support option open these pages."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mamori.accounts.models import Account
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.support.forms import InquiryForm
from mamori.support.selectors import inquiries_visible_to, inquiry_get, require_support_option
from mamori.support.services import inquiry_send

PAGE_SIZE = 50


def _me(request: HttpRequest) -> Account:
    return request.user  # type: ignore[return-value]


@require_safe
@account_required
def inquiries_list(request: HttpRequest) -> HttpResponse:
    """The contract's inquiries, newest first."""
    page = Paginator(inquiries_visible_to(_me(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "support/inquiries.html",
        {"page": page, "zone_name": timezone.get_current_timezone_name()},
    )


@account_required
def inquiry_new(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    require_support_option(me)  # before the form: the service checks it again when it sends
    form = InquiryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            inquiry = inquiry_send(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your inquiry %(reference)s has been sent. A confirmation is on its way to %(email)s."
                )
                % {"reference": inquiry.reference, "email": inquiry.sender_email},
            )
            return HttpResponseRedirect(
                reverse(
                    "panel:support_inquiry_detail",
                    kwargs={"domain": me.contract.domain, "inquiry_id": inquiry.pk},
                )
            )
    return render(request, "support/inquiry_form.html", {"form": form})


@require_safe
@account_required
def inquiry_detail(request: HttpRequest, inquiry_id: int) -> HttpResponse:
    inquiry = inquiry_get(_me(request), inquiry_id)
    return render(
        request,
        "support/inquiry_detail.html",
        {"inquiry": inquiry, "zone_name": timezone.get_current_timezone_name()},
    )
