"""Invitations: a mail with a link where a new account sets its first password.

Accounts imported from CSV are made without a password (hashing 100,000 of them would take hours
of CPU); each gets a link that works for ``INVITATION_DAYS`` days and only until a password is set.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import get_template
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import Account
from mamori.accounts.services import account_target
from mamori.accounts.services.passwords import password_errors
from mamori.audit.services import log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor, ActorKind
from mamori.core.links import absolute_url, login_url
from mamori.outbox.services import Mail, mails_queue

INVITATION_DAYS = 7
_SALT = "mamori.accounts.invitation"


class InvitationInvalid(Exception):
    """A link that is forged, expired, already used, or for a disabled account."""


def _fingerprint(account: Account) -> str:
    # Changes as soon as a password is set: that is what makes a link work once.
    digest = salted_hmac(_SALT, f"{account.pk}:{account.password}", algorithm="sha256")
    return digest.hexdigest()[:20]


def invitation_token(account: Account) -> str:
    """The secret part of the link: signed, dated, and bound to the account's current password."""
    return signing.dumps([account.pk, _fingerprint(account)], salt=_SALT)


def invitation_url(contract: Contract, account: Account) -> str:
    return absolute_url(
        "panel:password_set", domain=contract.domain, token=invitation_token(account)
    )


def _token_read(token: str) -> tuple[int, str] | None:
    try:
        pk, fingerprint = signing.loads(
            token, salt=_SALT, max_age=datetime.timedelta(days=INVITATION_DAYS)
        )
        return int(pk), str(fingerprint)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def invitation_account(contract: Contract, token: str) -> Account | None:
    """The account a link is for, if the link is genuine, unexpired, unused and of this contract."""
    read = _token_read(token)
    if read is None:
        return None
    pk, fingerprint = read
    account = (
        Account.objects.select_related("user", "contract")
        .filter(contract=contract, pk=pk, is_active=True)
        .first()
    )
    if account is None or not constant_time_compare(_fingerprint(account), fingerprint):
        return None
    return account


def invitation_accept(
    *, actor: Actor, contract: Contract, token: str, new_password: str, confirmation: str
) -> Account:
    """Set an invited account's first password, with the usual policy; the link stops working."""
    account = invitation_account(contract, token)
    if account is None:
        raise InvitationInvalid
    errors = password_errors(new_password, confirmation, account=account, field="new_password")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Two clicks at once: the second finds the password already set, and is refused.
        locked = Account.objects.select_for_update().select_related("user").get(pk=account.pk)
        if _fingerprint(locked) != _fingerprint(account):
            raise InvitationInvalid
        locked.set_password(new_password)
        locked.must_change_password = False
        locked.save(update_fields=["password", "must_change_password"])
        log_record(
            contract=contract,
            actor=dataclasses.replace(actor, account=locked, kind=ActorKind.ACCOUNT),
            action=AccountAction.PASSWORD_SET,
            target=account_target(locked),
            organization_id=locked.user.organization_id,
        )
    return locked


@dataclasses.dataclass(frozen=True)
class Invitee:
    """A new account, with the name and main address its mail goes to."""

    account: Account
    name: str
    address: str


def invitation_mails_queue(contract: Contract, invitees: Iterable[Invitee]) -> int:
    """Store one invitation mail per account, in its language, in the caller's transaction (bulk:
    a CSV import invites thousands); their delivery is queued once that commits."""
    template = get_template("accounts/invitation_mail.txt")
    contract_login_url = login_url(contract.domain)
    mails = []
    for invitee in invitees:
        with translation.override(invitee.account.language):
            subject = _("[Mamori] Set your password")
            body = template.render(
                {
                    "contract": contract,
                    "account": invitee.account,
                    "name": invitee.name,
                    "url": invitation_url(contract, invitee.account),
                    "login_url": contract_login_url,
                    "days": INVITATION_DAYS,
                }
            )
        mails.append(Mail(kind="invitation", to=invitee.address, subject=subject, body=body))
    return mails_queue(contract=contract, mails=mails)
