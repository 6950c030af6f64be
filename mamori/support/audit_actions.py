"""The operation-log actions the support app writes, and what each may record."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from mamori.audit.registry import action_register, key_labels_register, value_labels_register
from mamori.support.models import Inquiry


class SupportAction(StrEnum):
    INQUIRY_SENT = "inquiry.sent"
    NOTICE_SENT = "notice.sent"


def audit_actions_register() -> None:
    """Called from ``SupportConfig.ready()``. Never a message's body: only what identifies it."""
    A = SupportAction
    action_register(
        A.INQUIRY_SENT, _("Support inquiry sent"), after=("reference", "category", "subject")
    )
    action_register(
        A.NOTICE_SENT, _("Notice mail sent"), after=("subject_ja", "subject_en", "recipients")
    )
    key_labels_register(
        {
            "reference": _("Reference"),
            "category": _("Category"),
            "subject": _("Subject"),
            "subject_ja": _("Subject (Japanese)"),
            "subject_en": _("Subject (English)"),
            "recipients": _("Recipients"),
        }
    )
    value_labels_register("category", dict(Inquiry.Category.choices))
