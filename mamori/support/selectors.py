"""Reads about the support option: who holds it, the contract's inquiries, notice recipients."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from mamori.accounts.models import Account
from mamori.audit.selectors import Cursor
from mamori.contracts.models import Contract
from mamori.core.access import NotFound
from mamori.directory.models import UserEmail
from mamori.support.models import Inquiry


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
    return Inquiry.objects.filter(contract_id=account.contract_id).order_by("-created_at", "-id")


def inquiry_get(account: Account, pk: int | str) -> Inquiry:
    """One inquiry of the account's contract: ``NotFound`` otherwise, then ``PermissionDenied``
    without the support option."""
    try:
        inquiry = Inquiry.objects.filter(contract_id=account.contract_id).get(pk=pk)
    except (Inquiry.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    require_support_option(account)
    return inquiry


def inquiry_cursor_encode(inquiry: Inquiry) -> str:
    """The position after ``inquiry`` in newest-first order, for the API's ``before``."""
    return Cursor(inquiry.created_at, inquiry.pk).encode()


def inquiries_before(inquiries: QuerySet[Inquiry], cursor: str) -> QuerySet[Inquiry]:
    """The inquiries older than a cursor; a malformed one is a ValidationError."""
    position = Cursor.decode(cursor)
    if position is None:
        raise ValidationError({"before": [_("This cursor is not valid.")]})
    # "created_at <= t" bounds the range; the OR only drops ties already shown.
    return inquiries.filter(
        Q(created_at__lte=position.created_at)
        & (Q(created_at__lt=position.created_at) | Q(id__lt=position.id))
    )


def main_email_of(account: Account) -> str:
    """The main e-mail address of the account's user ('' if it has none)."""
    email = account.user.emails.filter(category=UserEmail.Category.MAIN).first()
    return email.address if email else ""


def notice_recipients(contract: Contract | None = None) -> QuerySet[Account]:
    """Enabled support-option accounts of active contracts that opted in to notice mail."""
    accounts = Account.objects.filter(
        is_active=True,
        support_option=True,
        receive_notice_mail=True,
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
