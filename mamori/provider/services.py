"""The service provider's writes about contracts: opening, suspending, resuming, and issuing the
contact person's registration mail."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from mamori.accounts.models import LANGUAGE_CHOICES, Account
from mamori.accounts.services import account_target, contract_target
from mamori.accounts.services.passwords import password_generate
from mamori.audit.services import log_record
from mamori.contracts.models import Contract, domain_key, domain_validator, reserved_domains
from mamori.core.actor import Actor
from mamori.core.fields import max_lengths
from mamori.core.links import login_url
from mamori.core.text import invisible_character
from mamori.core.timezones import timezone_parse
from mamori.directory.models import Organization, User, UserEmail, address_key
from mamori.directory.services import (
    email_address_errors,
    normalize_furigana,
    organization_name_check,
)
from mamori.outbox.services import mail_queue
from mamori.provider.audit_actions import ContractAction

INITIAL_ACCOUNT_NAME = "admin"
_TEXT_FIELDS = ("company_name", "contact_name", "contact_furigana", "contact_email")
# C0 and C1 control characters, NUL included: nothing a company's or a person's name holds.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _validated(
    *,
    domain: str,
    company_name: str,
    contact_name: str,
    contact_furigana: str,
    contact_email: str,
    language: str,
    timezone_name: str,
) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    cleaned = {
        "domain": domain_key(domain),
        "company_name": company_name.strip(),
        "contact_name": contact_name.strip(),
        "contact_email": contact_email.strip(),
    }

    def check(field: str, validator: object, value: str) -> None:
        try:
            validator(value)  # type: ignore[operator]
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)

    check("domain", domain_validator, cleaned["domain"])
    if cleaned["domain"] in reserved_domains():
        errors.setdefault("domain", []).append(
            _("“%(domain)s” is reserved and cannot be a usage domain.")
            % {"domain": cleaned["domain"]}
        )
    elif "domain" not in errors and Contract.objects.filter(domain=cleaned["domain"]).exists():
        errors["domain"] = [
            _("The usage domain “%(domain)s” is already in use.") % {"domain": cleaned["domain"]}
        ]
    for field, label in (("company_name", _("company")), ("contact_name", _("contact person"))):
        if not cleaned[field]:
            errors[field] = [_("Enter the %(field)s.") % {"field": label}]
        elif _CONTROL.search(cleaned[field]):
            errors[field] = [_("Control characters (such as NUL or a tab) are not allowed.")]
    try:
        cleaned["contact_furigana"] = normalize_furigana(contact_furigana)
    except ValidationError as exc:
        errors["contact_furigana"] = list(exc.messages)
    for field, limit in max_lengths(Contract, _TEXT_FIELDS).items():
        if len(cleaned.get(field, "")) > limit and field not in errors:
            errors[field] = [_("At most %(limit)d characters.") % {"limit": limit}]
    if "company_name" not in errors:
        # The company's name is the top organization's: the organization rules hold for it.
        check("company_name", organization_name_check, cleaned["company_name"])
    if invisible_character(cleaned["contact_email"], spaces=True):
        errors["contact_email"] = email_address_errors(cleaned["contact_email"])
    else:
        check("contact_email", validate_email, cleaned["contact_email"])
    if language not in dict(LANGUAGE_CHOICES):
        errors["language"] = [_("The language must be “ja” or “en”.")]
    try:
        cleaned["timezone"] = timezone_parse(timezone_name)
    except ValidationError as exc:
        errors["timezone"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def contract_create(
    *,
    actor: Actor,
    domain: str,
    company_name: str,
    contact_name: str,
    contact_furigana: str,
    contact_email: str,
    language: str = "ja",
    timezone_name: str = "Asia/Tokyo",
) -> Contract:
    """Open a contract: its root organization, the contact person and their administrator account.

    The contact person's registration mail (login URL, account, a new password) leaves after
    the transaction commits.
    """
    cleaned = _validated(
        domain=domain,
        company_name=company_name,
        contact_name=contact_name,
        contact_furigana=contact_furigana,
        contact_email=contact_email,
        language=language,
        timezone_name=timezone_name,
    )
    timezone_name = cleaned.pop("timezone")  # the IANA name of what was typed (JST, UTC+9…)
    try:
        with transaction.atomic():
            contract = Contract.objects.create(**cleaned)
            root = Organization.objects.create(contract=contract, name=contract.company_name)
            user = User.objects.create(
                contract=contract,
                organization=root,
                name=contract.contact_name,
                furigana=contract.contact_furigana,
                main_address_key=address_key(contract.contact_email),
            )
            Organization.objects.filter(pk=root.pk).update(user_count=1)
            UserEmail.objects.create(
                user=user, address=contract.contact_email, category=UserEmail.Category.MAIN
            )
            account = Account(
                contract=contract,
                user=user,
                name=INITIAL_ACCOUNT_NAME,
                privilege=Account.Privilege.SYSTEM_ADMIN,
                language=language,
                timezone=timezone_name,
            )
            root.path = f"/{root.pk}/"
            root.save(update_fields=["path"])
            log_record(
                contract=contract,
                actor=actor,
                organization_id=root.pk,
                action=ContractAction.CONTRACT_CREATED,
                target=contract_target(contract),
                after={
                    "domain": contract.domain,
                    "company_name": contract.company_name,
                    "contact_name": contract.contact_name,
                    "contact_email": contract.contact_email,
                    "account": account.name,
                    "language": language,
                    "timezone": timezone_name,
                },
            )
            _registration_mail_issue(actor=actor, contract=contract, account=account)
    except IntegrityError as exc:  # a concurrent create took the domain between check and insert
        raise ValidationError(
            {"domain": [_("The usage domain “%(domain)s” is already in use.") % {"domain": domain}]}
        ) from exc
    return contract


def _registration_mail_issue(*, actor: Actor, contract: Contract, account: Account) -> None:
    """Give the account a new password that must be changed, and mail it to the contact person."""
    password = password_generate()
    account.set_password(password)
    account.must_change_password = True
    account.save()
    with translation.override(account.language):
        subject = _("[Mamori] Registration complete")
        body = render_to_string(
            "provider/registration_mail.txt",
            {
                "contract": contract,
                "account": account,
                "password": password,
                "login_url": login_url(contract.domain),
            },
        )
    mail = mail_queue(
        contract=contract,
        kind="registration",
        to=contract.contact_email,
        subject=subject,
        body=body,
    )
    log_record(
        contract=contract,
        actor=actor,
        organization_id=account.user.organization_id,
        action=ContractAction.REGISTRATION_MAIL_ISSUED,
        target=account_target(account),
        after={"to": mail.to, "mail_id": mail.pk},
    )


def registration_account(contract: Contract) -> Account | None:
    """The account the registration mail is about: the contact person's first System
    administrator account (whatever it is named now), or ``None`` when there is none."""
    return (
        Account.objects.select_related("user")
        .filter(
            contract=contract,
            user__emails__address=contract.contact_email,
            privilege=Account.Privilege.SYSTEM_ADMIN,
        )
        .order_by("pk")
        .first()
    )


def registration_resend(*, actor: Actor, contract: Contract) -> None:
    """Issue the contact person's account a new password and mail it again."""
    account = registration_account(contract)
    if account is None:
        raise ValidationError(
            _("The contact person of “%(domain)s” has no System administrator account.")
            % {"domain": contract.domain}
        )
    with transaction.atomic():
        _registration_mail_issue(actor=actor, contract=contract, account=account)


def _status_set(*, actor: Actor, contract: Contract, status: str, action: str) -> None:
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if locked.status == status:
            return
        before = locked.status
        locked.status = status
        locked.save(update_fields=["status"])
        log_record(
            contract=locked,
            actor=actor,
            action=action,
            target=contract_target(locked),
            before={"status": before},
            after={"status": status},
        )
    contract.status = status


def contract_suspend(*, actor: Actor, contract: Contract) -> None:
    """Stop every account of the contract from logging in (open sessions end at their next request)."""
    _status_set(
        actor=actor,
        contract=contract,
        status=Contract.Status.SUSPENDED,
        action=ContractAction.CONTRACT_SUSPENDED,
    )


def contract_resume(*, actor: Actor, contract: Contract) -> None:
    _status_set(
        actor=actor,
        contract=contract,
        status=Contract.Status.ACTIVE,
        action=ContractAction.CONTRACT_RESUMED,
    )
