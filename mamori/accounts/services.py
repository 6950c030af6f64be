"""Writes about Mamori accounts: logging in and out, passwords, API tokens."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import secrets
import zoneinfo
from collections.abc import Callable
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    LANGUAGE_CHOICES,
    Account,
    ApiToken,
    LoginFailure,
    PermissionScheme,
)
from mamori.accounts.permissions import ALL_PERMISSIONS
from mamori.accounts.scope import (
    OutOfScope,
    authorize,
    in_scope,
    require_manages_account,
    require_system_admin,
)
from mamori.audit.services import Target, log_record
from mamori.contracts.models import SUPPORT_OPTION_LIMIT, Contract
from mamori.core.actor import Actor, ActorKind
from mamori.directory.models import Organization, User

PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
TOKEN_PREFIX = "mamori_"  # noqa: S105


def password_generate(length: int = 16) -> str:
    """A random password for mail: no look-alike characters, letters and digits mixed."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def account_target(account: Account) -> Target:
    return Target("account", account.pk, account.name)


class LoginOutcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # wrong password, unknown account, another contract's account
    LOCKED = "locked"  # too many failures for this account name
    IP_LIMITED = "ip_limited"  # too many failures from this address
    DISABLED = "disabled"  # right password, but the account is disabled
    SUSPENDED = "suspended"  # right password, but the contract is suspended
    TWO_FACTOR = "two_factor"  # right password; now the authentication code
    INVALID_CODE = "invalid_code"  # wrong, reused or unknown authentication code
    EXPIRED = "expired"  # no password step to finish (or it is too old): start again


@dataclasses.dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    account: Account | None = None


def _name_key(name: str) -> str:
    return name.strip().casefold()[:150]


def _window_start() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.MAMORI_LOGIN_WINDOW_SECONDS)


def _locked(domain: str, name: str) -> bool:
    """Locked when the last N failures fell within the window and the lock has not run out."""
    limit = settings.MAMORI_LOGIN_MAX_FAILURES
    recent = list(
        LoginFailure.objects.filter(domain=domain, account_name=_name_key(name))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return False
    window = datetime.timedelta(seconds=settings.MAMORI_LOGIN_WINDOW_SECONDS)
    lock = datetime.timedelta(seconds=settings.MAMORI_LOGIN_LOCK_SECONDS)
    return recent[0] - recent[-1] <= window and timezone.now() < recent[0] + lock


def _ip_limited(ip: str | None) -> bool:
    if not ip:
        return False
    failures = LoginFailure.objects.filter(ip=ip, created_at__gte=_window_start())
    return failures.count() >= settings.MAMORI_LOGIN_MAX_FAILURES_PER_IP


def login_attempt(
    request: HttpRequest, *, actor: Actor, domain: str, name: str, password: str
) -> LoginResult:
    """Check a login through ``domain``'s URL; log the person in when it is right.

    Throttling is decided before any password is hashed, and an unknown account name (or
    another contract's account) costs one hash too, so neither the answer nor its timing tells
    which names exist.
    """
    contract = Contract.objects.filter(domain=domain).first()
    if _ip_limited(actor.ip):
        _failure_record(contract, actor, domain, name, reason="ip_limited", count=False)
        return LoginResult(LoginOutcome.IP_LIMITED)
    if _locked(domain, name):
        _failure_record(contract, actor, domain, name, reason="locked", count=False)
        return LoginResult(LoginOutcome.LOCKED)
    account = (
        Account.objects.select_related("contract", "user")
        .filter(contract=contract, name=name)
        .first()
        if contract
        else None
    )
    if account is None:
        make_password(password)  # the same work as a real check
        return _failure_record(contract, actor, domain, name, reason="invalid")
    if not account.check_password(password):
        return _failure_record(contract, actor, domain, name, reason="invalid", account=account)
    if not account.is_active:
        return _failure_record(contract, actor, domain, name, reason="disabled", account=account)
    if not account.contract.is_active:
        return _failure_record(contract, actor, domain, name, reason="suspended", account=account)
    if account.two_factor_enabled:
        # Not logged in yet, and earlier failures still count: guessing the code is throttled
        # exactly like guessing the password.
        _two_factor_pending_set(request, account)
        return LoginResult(LoginOutcome.TWO_FACTOR, account)
    with transaction.atomic():
        login_complete(request, actor=actor, account=account)
    return LoginResult(LoginOutcome.OK, account)


TWO_FACTOR_PENDING = "mamori.two_factor_pending"
TWO_FACTOR_PENDING_SECONDS = 5 * 60


def _two_factor_pending_set(request: HttpRequest, account: Account) -> None:
    request.session.cycle_key()  # a planted session id learns nothing of the step in between
    request.session[TWO_FACTOR_PENDING] = {
        "account": account.pk,
        "since": int(timezone.now().timestamp()),
        # A password changed meanwhile ends the step, as it ends sessions.
        "hash": account.get_session_auth_hash(),
    }


def login_complete(
    request: HttpRequest,
    *,
    actor: Actor,
    account: Account,
    after: dict[str, object] | None = None,
) -> None:
    """Log the account in (a new session id) and record it, in the caller's transaction."""
    LoginFailure.objects.filter(
        domain=account.contract.domain, account_name=_name_key(account.name)
    ).delete()
    request.session.pop(TWO_FACTOR_PENDING, None)
    login(request, account)  # rotates the session id
    log_record(
        contract=account.contract,
        actor=dataclasses.replace(actor, account=account, kind=ActorKind.ACCOUNT),
        action=AccountAction.LOGIN,
        target=account_target(account),
        after=after,
        organization_id=account.user.organization_id,
    )


def _failure_record(
    contract: Contract | None,
    actor: Actor,
    domain: str,
    name: str,
    *,
    reason: str,
    account: Account | None = None,
    count: bool = True,
) -> LoginResult:
    outcome = {
        "invalid": LoginOutcome.INVALID,
        "invalid_code": LoginOutcome.INVALID_CODE,
        "locked": LoginOutcome.LOCKED,
        "ip_limited": LoginOutcome.IP_LIMITED,
        "disabled": LoginOutcome.DISABLED,
        "suspended": LoginOutcome.SUSPENDED,
    }[reason]
    with transaction.atomic():
        if count:
            LoginFailure.objects.create(domain=domain, account_name=_name_key(name), ip=actor.ip)
        if contract is None:
            return LoginResult(outcome)  # no contract's log to write to
        target = account_target(account) if account else Target("account", None, name[:150])
        organization_id = account.user.organization_id if account else None
        log_record(
            contract=contract,
            actor=actor,
            action=AccountAction.LOGIN_FAILED,
            target=target,
            after={"reason": reason},
            success=False,
            organization_id=organization_id,
        )
        if count and _locked(domain, name):
            log_record(
                contract=contract,
                actor=actor,
                action=AccountAction.LOCKED_OUT,
                target=target,
                after={"locked_minutes": settings.MAMORI_LOGIN_LOCK_SECONDS // 60},
                success=False,
                organization_id=organization_id,
            )
            outcome = LoginOutcome.LOCKED
    return LoginResult(outcome)


def logout_record(request: HttpRequest, *, actor: Actor) -> None:
    account = actor.account
    if account is not None:
        with transaction.atomic():
            log_record(
                contract=account.contract,
                actor=actor,
                action=AccountAction.LOGOUT,
                target=account_target(account),
                organization_id=account.user.organization_id,
            )
    logout(request)


def password_change(
    *,
    actor: Actor,
    account: Account,
    new_password: str,
    confirmation: str,
    current_password: str | None = None,
) -> None:
    """Set an account's own new password after checking the policy; the session stays valid."""
    errors: dict[str, list[str]] = {}
    if current_password is not None and not account.check_password(current_password):
        errors["current_password"] = [_("The current password is incorrect.")]
    if new_password != confirmation:
        errors["confirmation"] = [_("The two passwords do not match.")]
    try:
        validate_password(new_password, account)
    except ValidationError as exc:
        errors["new_password"] = list(exc.messages)
    if not errors and account.check_password(new_password):
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        account.set_password(new_password)
        account.must_change_password = False
        account.save(update_fields=["password", "must_change_password"])
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.PASSWORD_CHANGED,
            target=account_target(account),
            organization_id=account.user.organization_id,
        )


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


MAX_TOKEN_DAYS = 366


def api_token_create(
    *, actor: Actor, account: Account, name: str, expires_in_days: int
) -> tuple[ApiToken, str]:
    """Make a token for the account; the raw value is returned once and never stored."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name.")]
    elif len(name) > 100:
        errors["name"] = [_("A token name is at most 100 characters.")]
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        errors["expires_in_days"] = [
            _("A token expires after 1 to %(max)d days.") % {"max": MAX_TOKEN_DAYS}
        ]
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            account=account,
            name=name,
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            digest=token_digest(raw),
            expires_at=timezone.now() + datetime.timedelta(days=expires_in_days),
        )
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.API_TOKEN_CREATED,
            target=Target("api_token", token.pk, name),
            after={
                "name": name,
                "prefix": token.prefix,
                "expires_at": token.expires_at.isoformat(),
            },
            organization_id=account.user.organization_id,
        )
    return token, raw


def api_token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        log_record(
            contract=token.account.contract,
            actor=actor,
            action=AccountAction.API_TOKEN_REVOKED,
            target=Target("api_token", token.pk, token.name),
            organization_id=token.account.user.organization_id,
        )


def api_token_authenticate(raw: str) -> Account | None:
    """The account behind a usable token, or None. Marks the token used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("account__contract", "account__user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None:
        return None
    account = token.account
    if not (account.is_active and account.contract.is_active):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return account


# Administering accounts ---------------------------------------------------------------------


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
        "name": account.name,
        "privilege": account.privilege,
        "support_option": account.support_option,
        "receive_notice_mail": account.receive_notice_mail,
        "language": account.language,
        "timezone": account.timezone,
        "scope_all": account.scope_all,
        "scope": sorted(o.name for o in account.scope_organizations.all()),
        "scheme": account.scheme.name if account.scheme else None,
        "enabled": account.is_active,
    }


@functools.cache
def timezone_names() -> frozenset[str]:
    """Every IANA zone name, read once: listing them walks the zone files (~10 ms)."""
    return frozenset(zoneinfo.available_timezones())


def _account_name_in_use(contract_id: int, account: Account | None, name: str) -> bool:
    accounts = Account.objects.filter(contract_id=contract_id, name__iexact=name)
    return accounts.exclude(pk=account.pk if account else 0).exists()


def _account_data_clean(
    actor: Actor,
    data: AccountData,
    *,
    contract_id: int,
    account: Account | None,
    name_taken: Callable[[str], bool] | None = None,
) -> AccountData:
    """Check and normalise an account's data. ``name_taken`` replaces the per-name query when
    the caller (a CSV import) has read every account name of the contract at once."""
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    taken = name_taken or functools.partial(_account_name_in_use, contract_id, account)
    if not name:
        errors["name"] = [_("Enter the account name.")]
    elif len(name) > 150:
        errors["name"] = [_("An account name is at most 150 characters.")]
    elif taken(name):
        errors["name"] = [_("The account name “%(name)s” is already in use.") % {"name": name}]
    if data.privilege not in Account.Privilege.values:
        errors["privilege"] = [_("Choose an admin privilege.")]
    if data.language not in dict(LANGUAGE_CHOICES):
        errors["language"] = [_("Choose Japanese or English.")]
    if data.timezone not in timezone_names():
        errors["timezone"] = [
            _(
                "“%(timezone)s” is not a timezone. Choose one from the list (for example Asia/Tokyo)."
            )
            % {"timezone": data.timezone}
        ]
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
        scope_all=scope_all,
        scope_organizations=organizations,
        scheme=scheme,
        # The support option comes only with the System administrator privilege, and notice
        # mail only with the support option.
        support_option=support,
        receive_notice_mail=data.receive_notice_mail and support,
    )


def _grant_check(actor: Actor, data: AccountData, account: Account | None) -> None:
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
            require_manages_account(actor, account)
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


def _lock_contract(contract_id: int) -> Contract:
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


def _password_errors(password: str, confirmation: str, name: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not password:
        errors["password"] = [_("Enter a password.")]
    elif password != confirmation:
        errors["confirmation"] = [_("The two passwords do not match.")]
    else:
        try:
            validate_password(password, Account(name=name))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    return errors


def _apply(account: Account, data: AccountData) -> None:
    for field in (
        "name",
        "privilege",
        "support_option",
        "receive_notice_mail",
        "language",
        "timezone",
        "scope_all",
        "scheme",
    ):
        setattr(account, field, getattr(data, field))


def _save_account(account: Account) -> None:
    """Save; a name taken by a concurrent save is the same clear error as one taken before."""
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        message = _("The account name “%(name)s” is already in use.") % {"name": account.name}
        raise ValidationError({"name": [message]}) from exc


def account_create(
    *, actor: Actor, user: User, data: AccountData, password: str, confirmation: str
) -> Account:
    """Give a user a Mamori account (one per person)."""
    authorize(actor, "accounts.add", user.organization)
    if Account.objects.filter(user=user).exists():
        raise ValidationError(_("%(name)s already has a Mamori account.") % {"name": user.name})
    data = _account_data_clean(actor, data, contract_id=user.contract_id, account=None)
    _grant_check(actor, data, None)
    errors = _password_errors(password, confirmation, data.name)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        contract = _lock_contract(user.contract_id)
        _support_option_check(contract.pk, None, data.support_option)
        account = Account(contract=contract, user=user)
        _apply(account, data)
        account.set_password(password)
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
    """Change an account; a password given here replaces the current one."""
    authorize(actor, "accounts.change", account.user.organization)
    data = _account_data_clean(actor, data, contract_id=account.contract_id, account=account)
    _grant_check(actor, data, account)
    errors = _password_errors(password, confirmation, data.name) if password or confirmation else {}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_contract(account.contract_id)
        account.refresh_from_db()
        _grant_check(actor, data, account)  # again: it may have changed before the lock
        before = _account_values(account)
        _last_admin_check(account, stays_admin=data.privilege == Account.Privilege.SYSTEM_ADMIN)
        _support_option_check(account.contract_id, account, data.support_option)
        _apply(account, data)
        if password:
            account.set_password(password)
        _save_account(account)
        account.scope_organizations.set(data.scope_organizations)
        account.__dict__.pop("_scope_paths", None)
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


def _not_self_nor_above(actor: Actor, account: Account, own_message: str) -> None:
    """Nobody disables or deletes their own account, nor one they do not manage."""
    if actor.account is not None and actor.account.pk == account.pk:
        raise ValidationError(own_message)
    require_manages_account(actor, account)


def _enabled_set(actor: Actor, account: Account, *, enabled: bool) -> None:
    authorize(actor, "accounts.change", account.user.organization)
    _not_self_nor_above(actor, account, _("You cannot disable your own account."))
    with transaction.atomic():
        _lock_contract(account.contract_id)
        account.refresh_from_db()
        require_manages_account(actor, account)  # again, under the lock
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


def account_disable(*, actor: Actor, account: Account) -> None:
    """Stop an account at once: its sessions and API tokens no longer work; its history stays."""
    _enabled_set(actor, account, enabled=False)


def account_enable(*, actor: Actor, account: Account) -> None:
    _enabled_set(actor, account, enabled=True)


def account_delete(*, actor: Actor, account: Account) -> None:
    """Remove a user's Mamori account (its operation-log entries stay, with its name)."""
    authorize(actor, "accounts.delete", account.user.organization)
    _not_self_nor_above(actor, account, _("You cannot delete your own account."))
    with transaction.atomic():
        _lock_contract(account.contract_id)
        account.refresh_from_db()
        require_manages_account(actor, account)  # again, under the lock
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


# Custom permission schemes ------------------------------------------------------------------


def _scheme_clean(
    contract_id: int, name: str, permissions: list[str], exclude: int | None
) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("Enter the scheme name.")]
    elif (
        PermissionScheme.objects.filter(contract_id=contract_id, name=name)
        .exclude(pk=exclude or 0)
        .exists()
    ):
        errors["name"] = [_("A scheme named “%(name)s” already exists.") % {"name": name}]
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    if unknown:
        errors["permissions"] = [
            _("Unknown permissions: %(codes)s") % {"codes": ", ".join(unknown)}
        ]
    if errors:
        raise ValidationError(errors)
    return name, sorted(set(permissions))


def scheme_create(
    *, actor: Actor, contract: Contract, name: str, permissions: list[str]
) -> PermissionScheme:
    require_system_admin(actor)
    name, permissions = _scheme_clean(contract.pk, name, permissions, None)
    with transaction.atomic():
        scheme = PermissionScheme.objects.create(
            contract=contract, name=name, permissions=permissions
        )
        log_record(
            contract=contract,
            actor=actor,
            action=AccountAction.SCHEME_CREATED,
            target=Target("scheme", scheme.pk, name),
            after={"name": name, "permissions": permissions},
        )
    return scheme


def scheme_update(
    *, actor: Actor, scheme: PermissionScheme, name: str, permissions: list[str]
) -> None:
    require_system_admin(actor)
    name, permissions = _scheme_clean(scheme.contract_id, name, permissions, scheme.pk)
    before = {"name": scheme.name, "permissions": scheme.permissions}
    with transaction.atomic():
        scheme.name, scheme.permissions = name, permissions
        scheme.save(update_fields=["name", "permissions"])
        log_record(
            contract=scheme.contract,
            actor=actor,
            action=AccountAction.SCHEME_UPDATED,
            target=Target("scheme", scheme.pk, name),
            before=before,
            after={"name": name, "permissions": permissions},
        )


def scheme_delete(*, actor: Actor, scheme: PermissionScheme) -> None:
    require_system_admin(actor)
    users = scheme.accounts.count()
    if users:
        raise ValidationError(
            ngettext(
                "%(count)d account uses “%(name)s”. Give it another scheme first.",
                "%(count)d accounts use “%(name)s”. Give them another scheme first.",
                users,
            )
            % {"count": users, "name": scheme.name}
        )
    with transaction.atomic():
        log_record(
            contract=scheme.contract,
            actor=actor,
            action=AccountAction.SCHEME_DELETED,
            target=Target("scheme", scheme.pk, scheme.name),
            before={"name": scheme.name, "permissions": scheme.permissions},
        )
        scheme.delete()
