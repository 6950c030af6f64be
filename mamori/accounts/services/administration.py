"""Administering Mamori accounts: create, change, disable, enable, delete, with the rules on who may grant what."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    ACCOUNT_FIELDS,
    LANGUAGE_CHOICES,
    Account,
    PermissionScheme,
)
from mamori.accounts.names import account_name_errors, account_name_normalize, account_named
from mamori.accounts.services import account_target
from mamori.accounts.services.passwords import password_errors
from mamori.accounts.services.tokens import RevokeReason, api_tokens_revoke_all
from mamori.audit.services import log_record
from mamori.contracts.models import SUPPORT_OPTION_LIMIT, Contract
from mamori.core.access import OutOfScope, authorize, in_scope, require_manages
from mamori.core.actor import Actor
from mamori.core.fields import values_of
from mamori.core.timezones import timezone_parse
from mamori.directory.models import Organization, User


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountData:
    """What the account form (and the API) sets on a Mamori account."""

    name: str
    privilege: str
    support_option: bool = False
    receive_notice_mail: bool = False
    language: str = "ja"
    timezone: str = "Asia/Tokyo"
    scope_all: bool = False
    scope_organizations: tuple[Organization, ...] = ()
    scheme: PermissionScheme | None = None


def _account_values(account: Account) -> dict[str, object]:
    return {
        **values_of(account, ACCOUNT_FIELDS),
        "scope": sorted(o.name for o in account.scope_organizations.all()),
        "scheme": account.scheme.name if account.scheme else None,
        "enabled": account.is_active,
    }


def _account_name_in_use(contract_id: int, account: Account | None, name: str) -> bool:
    # As the unique index compares: the database's lower-case of both.
    accounts = account_named(Account.objects.filter(contract_id=contract_id), name)
    return accounts.exclude(pk=account.pk if account else 0).exists()


def account_data_clean(
    actor: Actor,
    data: AccountData,
    *,
    contract_id: int,
    account: Account | None,
    name_taken: Callable[[str], bool] | None = None,
) -> AccountData:
    """Check and normalise an account's data. ``name_taken`` replaces the per-name query when
    the caller (a CSV import) has read every account name of the contract at once.

    The name follows ``accounts.names`` (NFKC, a safe set of characters, one in any letter
    case); an account keeping the name it has is not held to the character rule."""
    errors: dict[str, list[str]] = {}
    name = account_name_normalize(data.name)
    taken = name_taken or functools.partial(_account_name_in_use, contract_id, account)
    unchanged = account is not None and name == account.name
    if not name:
        errors["name"] = [_("Enter the account name.")]
    elif not unchanged and (problems := account_name_errors(name)):
        errors["name"] = problems
    elif taken(name):
        errors["name"] = [_("The account name “%(name)s” is already in use.") % {"name": name}]
    if data.privilege not in Account.Privilege.values:
        errors["privilege"] = [_("Choose an admin privilege.")]
    if data.language not in dict(LANGUAGE_CHOICES):
        errors["language"] = [_("Choose Japanese or English.")]
    timezone = data.timezone
    try:
        timezone = timezone_parse(data.timezone)
    except ValidationError as exc:
        errors["timezone"] = list(exc.messages)
    scoped = data.privilege in (Account.Privilege.DEPARTMENT_ADMIN, Account.Privilege.CUSTOM_ADMIN)
    scope_all = data.privilege == Account.Privilege.CUSTOM_ADMIN and data.scope_all
    organizations = data.scope_organizations if scoped and not scope_all else ()
    if any(o.contract_id != contract_id for o in organizations):
        raise OutOfScope
    if scoped and not scope_all and not organizations:
        errors["scope_organizations"] = [
            _("Choose at least one organization this account manages.")
        ]
    scheme = data.scheme if data.privilege == Account.Privilege.CUSTOM_ADMIN else None
    if data.privilege == Account.Privilege.CUSTOM_ADMIN and scheme is None:
        errors["scheme"] = [_("Choose a permission scheme for a custom administrator.")]
    if scheme is not None and scheme.contract_id != contract_id:
        raise OutOfScope
    if errors:
        raise ValidationError(errors)
    support = data.support_option and data.privilege == Account.Privilege.SYSTEM_ADMIN
    return dataclasses.replace(
        data,
        name=name,
        timezone=timezone,
        scope_all=scope_all,
        scope_organizations=organizations,
        scheme=scheme,
        # The support option comes only with the System administrator privilege, and notice
        # mail only with the support option.
        support_option=support,
        receive_notice_mail=data.receive_notice_mail and support,
    )


def grant_check(actor: Actor, data: AccountData, account: Account | None) -> None:
    """What the actor may give: only a System administrator grants more than Operator, and the
    support option; nobody changes their own privilege, scope or scheme."""
    me = actor.account
    if me is None:
        return
    for organization in data.scope_organizations:
        if not in_scope(me, organization):
            raise OutOfScope
    if me.privilege != Account.Privilege.SYSTEM_ADMIN:
        if account is not None and account.pk != me.pk:
            require_manages(actor, account)
        if data.privilege != Account.Privilege.OPERATOR and (
            account is None or account.pk != me.pk
        ):
            raise ValidationError({"privilege": [_("You can give only the Operator privilege.")]})
        if data.support_option and not (account and account.support_option):
            raise ValidationError(
                {"support_option": [_("Only a System administrator can grant the support option.")]}
            )
    if account is not None and account.pk == me.pk:
        own = (
            account.privilege,
            account.scope_all,
            {o.pk for o in account.scope_organizations.all()},
            account.scheme_id,
        )
        wanted = (
            data.privilege,
            data.scope_all,
            {o.pk for o in data.scope_organizations},
            data.scheme.pk if data.scheme else None,
        )
        if own != wanted:
            raise ValidationError(
                {
                    "privilege": [
                        _(
                            "You cannot change your own privilege or scope. Ask another System administrator."
                        )
                    ]
                }
            )


def contract_lock(contract_id: int) -> Contract:
    # Every rule that counts accounts (the support option limit, the last System administrator)
    # is checked under this lock, so two administrators saving at once cannot both pass it.
    return Contract.objects.select_for_update().get(pk=contract_id)


def _support_option_check(contract_id: int, account: Account | None, wanted: bool) -> None:
    if not wanted or (account is not None and account.support_option):
        return
    holders = Account.objects.filter(contract_id=contract_id, support_option=True)
    if account is not None:
        holders = holders.exclude(pk=account.pk)
    if holders.count() >= SUPPORT_OPTION_LIMIT:
        raise ValidationError(
            {
                "support_option": [
                    _(
                        "At most %(limit)d accounts per contract can have the support option, and %(limit)d already do."
                    )
                    % {"limit": SUPPORT_OPTION_LIMIT}
                ]
            }
        )


def _last_admin_check(account: Account, *, stays_admin: bool) -> None:
    if stays_admin or not (
        account.is_active and account.privilege == Account.Privilege.SYSTEM_ADMIN
    ):
        return
    others = Account.objects.filter(
        contract_id=account.contract_id, privilege=Account.Privilege.SYSTEM_ADMIN, is_active=True
    ).exclude(pk=account.pk)
    if not others.exists():
        raise ValidationError(
            _(
                "%(name)s is the contract's last enabled System administrator. Make another System administrator first."
            )
            % {"name": account.name}
        )


def _apply(account: Account, data: AccountData) -> None:
    for field in (*ACCOUNT_FIELDS, "scheme"):
        setattr(account, field, getattr(data, field))


def _save_account(account: Account) -> None:
    """Save; a name taken by a concurrent save is the same clear error as one taken before."""
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        message = _("The account name “%(name)s” is already in use.") % {"name": account.name}
        raise ValidationError({"name": [message]}) from exc


def _chosen_for(actor: Actor, account: Account) -> bool:
    """Whether a password set on ``account`` was chosen by someone else (an administrator, the
    operator): then its owner must replace it at the next login, as with a mailed password."""
    return actor.account is None or actor.account.pk != account.pk


def account_create(
    *, actor: Actor, user: User, data: AccountData, password: str, confirmation: str
) -> Account:
    """Give a user a Mamori account (one per person). The password is the administrator's
    choice: the account must change it at its first login."""
    authorize(actor, "accounts.add", user.organization)
    if Account.objects.filter(user=user).exists():
        raise ValidationError(_("%(name)s already has a Mamori account.") % {"name": user.name})
    data = account_data_clean(actor, data, contract_id=user.contract_id, account=None)
    grant_check(actor, data, None)
    errors = password_errors(password, confirmation, account=Account(name=data.name))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        contract = contract_lock(user.contract_id)
        _support_option_check(contract.pk, None, data.support_option)
        account = Account(contract=contract, user=user)
        _apply(account, data)
        account.set_password(password)
        account.must_change_password = True
        _save_account(account)
        account.scope_organizations.set(data.scope_organizations)
        log_record(
            contract=contract,
            actor=actor,
            action=AccountAction.ACCOUNT_CREATED,
            target=account_target(account),
            after=_account_values(account),
            organization_id=user.organization_id,
        )
    return account


def account_update(
    *, actor: Actor, account: Account, data: AccountData, password: str = "", confirmation: str = ""
) -> None:
    """Change an account; a password given here replaces the current one. Set on another
    account, it is a reset: that account must change it at its next login, and its API tokens
    are revoked for good (each revocation logged)."""
    authorize(actor, "accounts.change", account.user.organization)
    data = account_data_clean(actor, data, contract_id=account.contract_id, account=account)
    grant_check(actor, data, account)
    errors = (
        password_errors(password, confirmation, account=Account(name=data.name))
        if password or confirmation
        else {}
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        contract_lock(account.contract_id)
        account.refresh_from_db()
        grant_check(actor, data, account)  # again: it may have changed before the lock
        before = _account_values(account)
        _last_admin_check(account, stays_admin=data.privilege == Account.Privilege.SYSTEM_ADMIN)
        _support_option_check(account.contract_id, account, data.support_option)
        _apply(account, data)
        reset = bool(password) and _chosen_for(actor, account)
        if password:
            account.set_password(password)
            account.must_change_password = reset
        _save_account(account)
        account.scope_organizations.set(data.scope_organizations)
        account.scope_forget()
        after = _account_values(account)
        changed = [k for k in after if after[k] != before[k]]
        if changed or password:
            log_record(
                contract=account.contract,
                actor=actor,
                action=AccountAction.ACCOUNT_UPDATED,
                target=account_target(account),
                before={k: before[k] for k in changed},
                after={
                    **{k: after[k] for k in changed},
                    **({"password_changed": True} if password else {}),
                },
                organization_id=account.user.organization_id,
            )
        if reset:
            api_tokens_revoke_all(actor=actor, account=account, reason=RevokeReason.PASSWORD_RESET)


def _not_self_nor_above(actor: Actor, account: Account, own_message: str) -> None:
    """Nobody disables or deletes their own account, nor one they do not manage."""
    if actor.account is not None and actor.account.pk == account.pk:
        raise ValidationError(own_message)
    require_manages(actor, account)


def _enabled_set(actor: Actor, account: Account, *, enabled: bool) -> None:
    authorize(actor, "accounts.change", account.user.organization)
    _not_self_nor_above(actor, account, _("You cannot disable your own account."))
    with transaction.atomic():
        contract_lock(account.contract_id)
        account.refresh_from_db()
        require_manages(actor, account)  # again, under the lock
        if account.is_active == enabled:
            return
        if not enabled:
            _last_admin_check(account, stays_admin=False)
        account.is_active = enabled
        account.save(update_fields=["is_active"])
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.ACCOUNT_ENABLED if enabled else AccountAction.ACCOUNT_DISABLED,
            target=account_target(account),
            before={"enabled": not enabled},
            after={"enabled": enabled},
            organization_id=account.user.organization_id,
        )
        if not enabled:
            api_tokens_revoke_all(
                actor=actor, account=account, reason=RevokeReason.ACCOUNT_DISABLED
            )


def account_disable(*, actor: Actor, account: Account) -> None:
    """Stop an account at once: its sessions no longer work and its API tokens are revoked for
    good (enabling it again does not bring them back); its history stays."""
    _enabled_set(actor, account, enabled=False)


def account_enable(*, actor: Actor, account: Account) -> None:
    """Let a disabled account log in again (with its password; its old API tokens stay revoked)."""
    _enabled_set(actor, account, enabled=True)


def account_delete(*, actor: Actor, account: Account) -> None:
    """Remove a user's Mamori account (its operation-log entries stay, with its name)."""
    authorize(actor, "accounts.delete", account.user.organization)
    _not_self_nor_above(actor, account, _("You cannot delete your own account."))
    with transaction.atomic():
        contract_lock(account.contract_id)
        account.refresh_from_db()
        require_manages(actor, account)  # again, under the lock
        _last_admin_check(account, stays_admin=False)
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.ACCOUNT_DELETED,
            target=account_target(account),
            before=_account_values(account),
            organization_id=account.user.organization_id,
        )
        account.delete()
