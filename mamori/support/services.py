"""Writes about the support option: the operator's notice mail and support inquiries."""

from __future__ import annotations

import dataclasses
import itertools
from typing import cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.models import LANGUAGE_CHOICES, Account
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.links import absolute_url
from mamori.core.text import control_character, line_break
from mamori.directory.models import Organization
from mamori.outbox.services import mail_queue
from mamori.support.audit_actions import SupportAction
from mamori.support.models import Inquiry
from mamori.support.selectors import main_email_of, notice_recipients, require_support_option

SUBJECT_MAX = 200
BODY_MAX = 20_000


def _subject_errors(subject: str) -> list[str]:
    # A subject becomes a mail header. Anything that ends a line there (a line feed, but also
    # U+2028, U+0085, a vertical tab: what str.splitlines splits on) makes the mail library
    # refuse the whole mail: refused here, not silently joined.
    if not subject:
        return [_("Enter a subject.")]
    if line_break(subject):
        return [_("The subject must be one line.")]
    if control_character(subject):
        return [_("Control characters (such as NUL or a tab) are not allowed.")]
    if len(subject) > SUBJECT_MAX:
        return [_("The subject can be at most %(max)d characters.") % {"max": SUBJECT_MAX}]
    return []


def _body_errors(body: str) -> list[str]:
    if not body.strip():
        return [_("Enter a message.")]
    if len(body) > BODY_MAX:
        return [_("The message can be at most %(max)d characters.") % {"max": BODY_MAX}]
    return []


# Notice mail --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NoticeReach:
    """How many notice mails one contract's accounts were sent."""

    contract: Contract
    recipients: int


def _notice_texts(
    subject_ja: str, subject_en: str, body_ja: str, body_en: str
) -> dict[str, tuple[str, str]]:
    """(subject, body) per language; a language not given gets the other one's text."""
    given: dict[str, tuple[str, str]] = {}
    errors: dict[str, list[str]] = {}
    for language, subject, body in (("ja", subject_ja, body_ja), ("en", subject_en, body_en)):
        subject, body = subject.strip(), body.strip("\n").rstrip()
        if not subject and not body:
            continue
        if problems := _subject_errors(subject):
            errors[f"subject_{language}"] = problems
        if problems := _body_errors(body):
            errors[f"body_{language}"] = problems
        given[language] = (subject, body)
    if not given:
        raise ValidationError(
            _("Give the notice in Japanese, in English or in both: a subject and a body for each.")
        )
    if errors:
        raise ValidationError(errors)
    only = next(iter(given.values()))
    return {code: given.get(code, only) for code, _label in LANGUAGE_CHOICES}


def _notice_contract(domain: str | None) -> Contract | None:
    if domain is None:
        return None
    contract = Contract.objects.filter(domain=domain).first()
    if contract is None:
        raise ValidationError(
            {"domain": [_("No contract has the usage domain “%(domain)s”.") % {"domain": domain}]}
        )
    return contract


def notice_send(
    *,
    actor: Actor,
    subject_ja: str,
    subject_en: str,
    body_ja: str,
    body_en: str,
    domain: str | None = None,
    dry_run: bool = False,
) -> list[NoticeReach]:
    """Mail the operator's notice to opted-in support-option accounts, each in its language.

    With ``dry_run`` the notice is checked and its recipients counted, and nothing is sent.
    """
    texts = _notice_texts(subject_ja, subject_en, body_ja, body_en)
    recipients = [
        account
        for account in notice_recipients(_notice_contract(domain))
        # Every user has a main address; one without it cannot be reached, so is not counted.
        if account.user.main_emails  # type: ignore[attr-defined]
    ]
    reached: list[NoticeReach] = []
    with transaction.atomic():
        for _contract_id, group in itertools.groupby(recipients, key=lambda a: a.contract_id):
            accounts = list(group)
            reached.append(NoticeReach(accounts[0].contract, len(accounts)))
            if not dry_run:
                for account in accounts:
                    _notice_mail_queue(account, texts)
                _notice_log(actor, accounts[0].contract, texts, len(accounts))
    return reached


def _notice_mail_queue(account: Account, texts: dict[str, tuple[str, str]]) -> None:
    subject, body = texts.get(account.language, texts["en"])
    with translation.override(account.language):
        text = render_to_string("support/notice_mail.txt", {"account": account, "body": body})
    to = account.user.main_emails[0].address  # type: ignore[attr-defined]
    mail_queue(contract=account.contract, kind="notice", to=to, subject=subject, body=text)


def _notice_log(
    actor: Actor, contract: Contract, texts: dict[str, tuple[str, str]], sent: int
) -> None:
    root = Organization.objects.get(contract=contract, parent=None)
    log_record(
        contract=contract,
        actor=actor,
        organization_id=root.pk,
        action=SupportAction.NOTICE_SENT,
        target=Target("notice", None, texts["ja"][0]),
        # The subjects as each language received them; never the body.
        after={"subject_ja": texts["ja"][0], "subject_en": texts["en"][0], "recipients": sent},
    )


# Support inquiries --------------------------------------------------------------------------


def _sender(actor: Actor) -> Account:
    account = actor.account
    if account is None:  # the operator and tasks have nobody to confirm an inquiry to
        raise PermissionDenied(
            _("Only accounts with the support option can use support inquiries.")
        )
    sender = cast(Account, account)  # the accounts app's accounts are the only principals
    require_support_option(sender)
    return sender


def _inquiry_clean(category: str, subject: str, body: str) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    if category not in Inquiry.Category.values:
        errors["category"] = [_("Choose a category.")]
    subject, body = subject.strip(), body.strip("\n").rstrip()
    if problems := _subject_errors(subject):
        errors["subject"] = problems
    if problems := _body_errors(body):
        errors["body"] = problems
    if errors:
        raise ValidationError(errors)
    return category, subject, body


def inquiry_send(*, actor: Actor, category: str, subject: str, body: str) -> Inquiry:
    """Store a support-option account's inquiry; mail it to the support desk and confirm it."""
    account = _sender(actor)
    category, subject, body = _inquiry_clean(category, subject, body)
    reply_to = main_email_of(account)
    if not reply_to:
        raise ValidationError(
            _(
                "Your user has no main e-mail address for the reply. Ask an administrator to add one."
            )
        )
    with transaction.atomic():
        inquiry = Inquiry.objects.create(
            contract=account.contract,
            account=account,
            sender_name=account.user.name,
            sender_email=reply_to,
            category=category,
            subject=subject,
            body=body,
        )
        log_record(
            contract=account.contract,
            actor=actor,
            organization_id=account.user.organization_id,
            action=SupportAction.INQUIRY_SENT,
            target=Target("inquiry", inquiry.pk, inquiry.reference),
            after={"reference": inquiry.reference, "category": category, "subject": subject},
        )
        _inquiry_mails_queue(inquiry, account)
    return inquiry


def _inquiry_context(inquiry: Inquiry, account: Account) -> dict[str, object]:
    sent_at = timezone.localtime(inquiry.created_at, account.zone)
    return {
        "inquiry": inquiry,
        "account": account,
        "contract": account.contract,
        "category": inquiry.get_category_display(),
        "sent_at": f"{sent_at:%Y-%m-%d %H:%M} {sent_at.tzname()} ({account.timezone})",
        "url": absolute_url(
            "panel:support_inquiry_detail", domain=account.contract.domain, inquiry_id=inquiry.pk
        ),
    }


def _inquiry_mails_queue(inquiry: Inquiry, account: Account) -> None:
    """The full inquiry to the support desk, in the service's language; a copy to the sender."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Mamori] Inquiry %(reference)s from %(domain)s: %(subject)s") % {
            "reference": inquiry.reference,
            "domain": account.contract.domain,
            "subject": inquiry.subject,
        }
        text = render_to_string("support/inquiry_mail.txt", _inquiry_context(inquiry, account))
    mail_queue(
        contract=account.contract,
        kind="inquiry",
        to=settings.MAMORI_SUPPORT_EMAIL,
        subject=subject[:300],  # the outbox's limit; the full subject is in the body
        body=text,
    )
    with translation.override(account.language):
        subject = _("[Mamori] We received your inquiry (%(reference)s)") % {
            "reference": inquiry.reference
        }
        text = render_to_string(
            "support/inquiry_confirmation_mail.txt", _inquiry_context(inquiry, account)
        )
    mail_queue(
        contract=account.contract,
        kind="inquiry_confirmation",
        to=inquiry.sender_email,
        subject=subject,
        body=text,
    )
