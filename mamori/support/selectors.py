"""Reads about the support option: who holds it, the contract's inquiries, notice recipients."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from mamori.accounts.models import Account
from mamori.contracts.models import Contract
from mamori.core.access import NotFound
from mamori.core.keyset import Keyset
from mamori.directory.models import UserEmail
from mamori.support.models import Inquiry

# Newest first, the id breaking ties.
INQUIRY_ORDER = Keyset("created_at", descending=True, datetimes=True)


def has_support_option(account: Account) -> bool:
    # The account services grant it only to System administrators; checking both keeps a
    # demoted account out even if a row was edited by hand.
    return account.support_option and account.privilege == Account.Privilege.SYSTEM_ADMIN


def require_support_option(account: Account) -> None:
    """For every page and endpoint of support inquiries: a 403 for accounts without it."""
    if not has_support_option(account):
        raise PermissionDenied(
            _("Only accounts with the support option can use support inquiries.")
        )


def inquiries_visible_to(account: Account) -> QuerySet[Inquiry]:
    """The inquiries of the account's contract, newest first; ``PermissionDenied`` without the
    support option."""
    require_support_option(account)
    return INQUIRY_ORDER.order(Inquiry.objects.filter(contract_id=account.contract_id))


def inquiry_get(account: Account, pk: int | str) -> Inquiry:
    """One inquiry of the account's contract: ``NotFound`` otherwise, then ``PermissionDenied``
    without the support option."""
    try:
        inquiry = Inquiry.objects.filter(contract_id=account.contract_id).get(pk=pk)
    except (Inquiry.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    require_support_option(account)
    return inquiry


def main_email_of(account: Account) -> str:
    """The main e-mail address of the account's user ('' if it has none)."""
    email = account.user.emails.filter(category=UserEmail.Category.MAIN).first()
    return email.address if email else ""


def support_option_holders(contract: Contract | None = None) -> QuerySet[Account]:
    """Enabled support-option System administrators of active contracts (of ``contract`` when
    given), their users' main addresses prefetched as ``user.main_emails`` (a list, empty for a
    user without one); by contract domain, then account name. Who the support option's mail
    (notices, alert mail: SPEC.md section 4) may reach."""
    accounts = Account.objects.filter(
        is_active=True,
        support_option=True,
        privilege=Account.Privilege.SYSTEM_ADMIN,
        contract__status=Contract.Status.ACTIVE,
    )
    if contract is not None:
        accounts = accounts.filter(contract=contract)
    main = UserEmail.objects.filter(category=UserEmail.Category.MAIN)
    return (
        accounts.select_related("contract", "user")
        .prefetch_related(Prefetch("user__emails", queryset=main, to_attr="main_emails"))
        .order_by("contract__domain", "name")
    )


def notice_recipients(contract: Contract | None = None) -> QuerySet[Account]:
    """Enabled support-option accounts of active contracts that opted in to notice mail."""
    return support_option_holders(contract).filter(receive_notice_mail=True)
