"""Writes about Mamori accounts: logging in and out, passwords, API tokens."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import secrets
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.accounts.models import Account, ApiToken, LoginFailure
from mamori.audit.actions import Action
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor

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
    with transaction.atomic():
        LoginFailure.objects.filter(domain=domain, account_name=_name_key(name)).delete()
        login(request, account)  # rotates the session id
        log_record(
            contract=account.contract,
            actor=dataclasses.replace(actor, account=account, kind="account"),
            action=Action.LOGIN,
            target=account_target(account),
            organization_id=account.user.organization_id,
        )
    return LoginResult(LoginOutcome.OK, account)


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
            action=Action.LOGIN_FAILED,
            target=target,
            after={"reason": reason},
            success=False,
            organization_id=organization_id,
        )
        if count and _locked(domain, name):
            log_record(
                contract=contract,
                actor=actor,
                action=Action.LOCKED_OUT,
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
                action=Action.LOGOUT,
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
            action=Action.PASSWORD_CHANGED,
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
            action=Action.API_TOKEN_CREATED,
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
            action=Action.API_TOKEN_REVOKED,
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
