"""Support inquiries in the API: the same selectors and service as the pages."""

from __future__ import annotations

import datetime
import zoneinfo

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from mamori.accounts.models import Account
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of, text_field
from mamori.core.inputs import InputSchema
from mamori.support.models import Inquiry
from mamori.support.selectors import (
    INQUIRY_ORDER,
    inquiries_visible_to,
    inquiry_get,
)
from mamori.support.services import BODY_MAX, inquiry_send

router = Router(tags=["support"])


def _me(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined]


class InquirySummaryOut(Schema):
    id: int
    reference: str
    time: datetime.datetime
    local_time: str
    account_id: int | None
    sender_name: str
    sender_email: str
    category: str
    category_label: str
    subject: str

    @classmethod
    def fields_of(cls, inquiry: Inquiry, zone: zoneinfo.ZoneInfo) -> dict[str, object]:
        return {
            "id": inquiry.pk,
            "reference": inquiry.reference,
            "time": inquiry.created_at,
            "local_time": inquiry.created_at.astimezone(zone).isoformat(timespec="seconds"),
            "account_id": inquiry.account_id,
            "sender_name": inquiry.sender_name,
            "sender_email": inquiry.sender_email,
            "category": inquiry.category,
            "category_label": str(inquiry.get_category_display()),
            "subject": inquiry.subject,
        }

    @classmethod
    def of(cls, inquiry: Inquiry, zone: zoneinfo.ZoneInfo) -> InquirySummaryOut:
        return cls(**cls.fields_of(inquiry, zone))  # type: ignore[arg-type]


class InquiryOut(InquirySummaryOut):
    body: str

    @classmethod
    def of(cls, inquiry: Inquiry, zone: zoneinfo.ZoneInfo) -> InquiryOut:
        return cls(**cls.fields_of(inquiry, zone), body=inquiry.body)  # type: ignore[arg-type]


class InquiryPage(Schema):
    items: list[InquirySummaryOut]
    next_cursor: str | None


class InquiryIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"category": "usage", "subject": "CSV の取り込み", "body": "手順を教えてください。"}
            ]
        }
    )

    category: annotation_of(Inquiry, "category") = Field(  # type: ignore[valid-type]
        description="usage, trouble, contract, request or other"
    )
    subject: str = text_field(Inquiry, "subject")
    body: str = Field(max_length=BODY_MAX)


@router.get("/inquiries", response=InquiryPage, summary="The contract's inquiries, newest first")
def inquiries(
    request: HttpRequest,
    before: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> InquiryPage:
    """Only for accounts with the support option. Page with ``next_cursor`` (as ``before``)."""
    me = _me(request)
    found = inquiries_visible_to(me)
    if before:
        found = INQUIRY_ORDER.after(found, INQUIRY_ORDER.decode(before, field="before"))
    rows = list(found[: limit + 1])
    return InquiryPage(
        items=[InquirySummaryOut.of(i, me.zone) for i in rows[:limit]],
        next_cursor=INQUIRY_ORDER.encode(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.post("/inquiries", response={201: InquiryOut}, summary="Send a support inquiry")
def inquiry_create(request: HttpRequest, payload: InquiryIn) -> Status:
    """Stored, mailed to the support desk, and confirmed to the sender's main e-mail address."""
    me = _me(request)
    inquiry = inquiry_send(
        actor=Actor.from_request(request, kind=ActorKind.API),
        category=payload.category,
        subject=payload.subject,
        body=payload.body,
    )
    return Status(201, InquiryOut.of(inquiry_get(me, inquiry.pk), me.zone))


@router.get("/inquiries/{inquiry_id}", response=InquiryOut, summary="One inquiry")
def inquiry_detail(request: HttpRequest, inquiry_id: int) -> InquiryOut:
    me = _me(request)
    return InquiryOut.of(inquiry_get(me, inquiry_id), me.zone)
