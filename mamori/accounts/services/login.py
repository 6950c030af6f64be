"""Logging in and out: throttling before any hash, the two-step pending state, the log entries."""

from __future__ import annotations

import dataclasses
import datetime
from enum import StrEnum
from typing import cast

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    Account,
    LoginFailure,
)
from mamori.accounts.names import account_name_key, account_named
from mamori.accounts.services import account_target
from mamori.accounts.services.passwords import PASSWORD_MAX_LENGTH
from mamori.audit.services import Target, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor, ActorKind


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


def _window_start() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.MAMORI_LOGIN_WINDOW_SECONDS)


def account_name_locked(domain: str, name: str) -> bool:
    """Locked when the last N failures fell within the window and the lock has not run out."""
    limit = settings.MAMORI_LOGIN_MAX_FAILURES
    recent = list(
        LoginFailure.objects.filter(domain=domain, account_name=account_name_key(name))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return False
    window = datetime.timedelta(seconds=settings.MAMORI_LOGIN_WINDOW_SECONDS)
    lock = datetime.timedelta(seconds=settings.MAMORI_LOGIN_LOCK_SECONDS)
    return recent[0] - recent[-1] <= window and timezone.now() < recent[0] + lock


def ip_limited(ip: str | None) -> bool:
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
    which names exist. A password longer than ``PASSWORD_MAX_LENGTH`` is nobody's: it is a
    failure without any hash (Argon2 of a megabyte would be a denial of service).
    """
    contract = Contract.objects.filter(domain=domain).first()
    if ip_limited(actor.ip):
        login_failure_record(contract, actor, domain, name, reason="ip_limited", count=False)
        return LoginResult(LoginOutcome.IP_LIMITED)
    if account_name_locked(domain, name):
        login_failure_record(contract, actor, domain, name, reason="locked", count=False)
        return LoginResult(LoginOutcome.LOCKED)
    if len(password) > PASSWORD_MAX_LENGTH:
        return login_failure_record(contract, actor, domain, name, reason="invalid")
    # Any letter case or width of the name is the account (``accounts.names``).
    account = (
        account_named(Account.objects.select_related("contract", "user"), name)
        .filter(contract=contract)
        .first()
        if contract
        else None
    )
    if account is None:
        make_password(password)  # the same work as a real check
        return login_failure_record(contract, actor, domain, name, reason="invalid")
    if not account.check_password(password):
        return login_failure_record(
            contract, actor, domain, name, reason="invalid", account=account
        )
    if not account.is_active:
        return login_failure_record(
            contract, actor, domain, name, reason="disabled", account=account
        )
    if not account.contract.is_active:
        return login_failure_record(
            contract, actor, domain, name, reason="suspended", account=account
        )
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
        domain=account.contract.domain, account_name=account_name_key(account.name)
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


def login_failure_record(
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
            LoginFailure.objects.create(
                domain=domain, account_name=account_name_key(name), ip=actor.ip
            )
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
        if count and account_name_locked(domain, name):
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
    account = cast(Account | None, actor.account)
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
