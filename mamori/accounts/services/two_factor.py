"""Two-step verification: TOTP (authenticator apps) with one-time backup codes.

The secret is stored only once the person has proved, with a code, that their app has it; until
then it lives in their session. Backup codes are shown once and stored as SHA-256 digests. Neither
is ever passed to the operation log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from typing import cast

import pyotp
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import Account, BackupCode, LoginFailure
from mamori.accounts.names import account_name_key
from mamori.accounts.services import account_target, contract_target
from mamori.accounts.services.login import (
    TWO_FACTOR_PENDING,
    TWO_FACTOR_PENDING_SECONDS,
    LoginOutcome,
    LoginResult,
    account_name_locked,
    ip_limited,
    login_complete,
    login_failure_record,
)
from mamori.audit.services import log_record
from mamori.contracts.models import Contract
from mamori.core.access import OutOfScope, authorize
from mamori.core.actor import Actor, ActorKind

ISSUER = "Mamori"
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 10
# No 0/o, 1/l/i: a code read off paper is typed right. 31 symbols, 10 of them: about 50 bits.
BACKUP_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
TOTP = "totp"
BACKUP_CODE = "backup_code"


@dataclasses.dataclass(frozen=True)
class TwoFactorSetup:
    """A new secret to show as a QR code, not stored until a code confirms it."""

    secret: str
    uri: str


def provisioning_uri(account: Account, secret: str) -> str:
    """The otpauth:// URI apps scan: issuer Mamori, account "<domain>:<account name>"."""
    label = f"{account.contract.domain}:{account.name}"
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)


def two_factor_begin(*, account: Account) -> TwoFactorSetup:
    """A fresh secret for the account's setup page; nothing is written."""
    if account.two_factor_enabled:
        raise ValidationError(_("Two-step verification is already on."))
    secret = pyotp.random_base32()
    return TwoFactorSetup(secret, provisioning_uri(account, secret))


def _own(actor: Actor, account: Account) -> None:
    # Turning it on or off, and the backup codes, belong to the person; an administrator resets.
    if actor.account is not None and actor.account.pk != account.pk:
        raise PermissionDenied(_("Only the account itself can do this."))


def _digits(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _totp_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is."""
    totp = pyotp.TOTP(secret)
    now = int(timezone.now().timestamp()) // totp.interval
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def backup_code_digest(code: str) -> str:
    return hashlib.sha256(_digits(code).encode()).hexdigest()


def _backup_codes_replace(account: Account) -> list[str]:
    """New codes for the account (the old ones stop working); returned once, stored hashed."""
    codes = [
        "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
        for _ in range(BACKUP_CODE_COUNT)
    ]
    BackupCode.objects.filter(account=account).delete()
    BackupCode.objects.bulk_create(
        BackupCode(account=account, digest=backup_code_digest(code)) for code in codes
    )
    half = BACKUP_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def backup_codes_remaining(account: Account) -> int:
    return BackupCode.objects.filter(account=account, used_at__isnull=True).count()


def two_factor_code_use(account: Account, code: str) -> str | None:
    """Spend a code: ``"totp"`` or ``"backup_code"`` when it is good, None otherwise.

    Each update is conditional, so two requests racing with the same code cannot both win.
    """
    code = _digits(code)
    if len(code) == 6 and code.isdigit():
        step = _totp_step(account.totp_secret, code)
        if step is None:
            return None
        newer = Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)
        if not Account.objects.filter(newer, pk=account.pk).update(totp_last_step=step):
            return None  # this code, or a later one, was already used
        account.totp_last_step = step
        return TOTP
    if len(code) == BACKUP_CODE_LENGTH and set(code) <= set(BACKUP_CODE_ALPHABET):
        unused = BackupCode.objects.filter(
            account=account, digest=backup_code_digest(code), used_at__isnull=True
        )
        if unused.update(used_at=timezone.now()):
            return BACKUP_CODE
    return None


def _code_required(actor: Actor, account: Account, code: str) -> str:
    """Spend a code for a change to two-step verification itself, throttled like a login.

    Called outside the change's transaction, so that a wrong code's failure is kept.
    """
    domain = account.contract.domain
    if account_name_locked(domain, account.name):
        raise ValidationError({"code": [_("Too many wrong codes. Try again in a few minutes.")]})
    method = two_factor_code_use(account, code)
    if method is None:
        # A stolen session must not be able to guess its way to turning the check off.
        LoginFailure.objects.create(
            domain=domain, account_name=account_name_key(account.name), ip=actor.ip
        )
        raise ValidationError({"code": [_("The authentication code is incorrect.")]})
    return method


def two_factor_confirm(*, actor: Actor, account: Account, secret: str, code: str) -> list[str]:
    """Turn two-step verification on once a code proves the app has the secret.

    Returns the 10 backup codes, to be shown once.
    """
    _own(actor, account)
    step = _totp_step(secret, _digits(code)) if secret else None
    if step is None:
        raise ValidationError(
            {
                "code": [
                    _(
                        "That code does not match. Check that the app has the key and the "
                        "device's clock is right, then enter the code it shows now."
                    )
                ]
            }
        )
    with transaction.atomic():
        account = (
            Account.objects.select_for_update(of=("self",))
            .select_related("contract", "user")
            .get(pk=account.pk)
        )
        if account.two_factor_enabled:
            raise ValidationError(_("Two-step verification is already on."))
        account.totp_secret = secret
        account.totp_confirmed_at = timezone.now()
        account.totp_last_step = step  # the code just typed does not log anyone in
        account.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        codes = _backup_codes_replace(account)
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.TWO_FACTOR_ENABLED,
            target=account_target(account),
            before={"two_factor": False},
            after={"two_factor": True},
            organization_id=account.user.organization_id,
        )
    return codes


def _two_factor_clear(account: Account) -> None:
    account.totp_secret = ""
    account.totp_confirmed_at = None
    account.totp_last_step = None
    account.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    BackupCode.objects.filter(account=account).delete()


def _enabled_required(account: Account) -> None:
    if not account.two_factor_enabled:
        raise ValidationError(_("Two-step verification is not on."))


def two_factor_disable(*, actor: Actor, account: Account, code: str) -> None:
    """Turn the account's own two-step verification off, with a current code."""
    _own(actor, account)
    _enabled_required(account)
    method = _code_required(actor, account, code)
    with transaction.atomic():
        _two_factor_clear(account)
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.TWO_FACTOR_DISABLED,
            target=account_target(account),
            before={"two_factor": True},
            after={"two_factor": False, "verified_with": method},
            organization_id=account.user.organization_id,
        )


def backup_codes_regenerate(*, actor: Actor, account: Account, code: str) -> list[str]:
    """Replace the account's backup codes (all the old ones stop working), with a current code."""
    _own(actor, account)
    _enabled_required(account)
    method = _code_required(actor, account, code)
    with transaction.atomic():
        codes = _backup_codes_replace(account)
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.BACKUP_CODES_REGENERATED,
            target=account_target(account),
            after={"count": len(codes), "verified_with": method},
            organization_id=account.user.organization_id,
        )
    return codes


def two_factor_reset(*, actor: Actor, account: Account) -> None:
    """A System administrator clears another account's two-step verification (a lost phone)."""
    authorize(actor, "accounts.reset_two_factor", account.user.organization)
    me = actor.account
    if me is not None and me.pk == account.pk:
        raise ValidationError(
            _("To turn off your own two-step verification, use your account page.")
        )
    _enabled_required(account)
    with transaction.atomic():
        _two_factor_clear(account)
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.TWO_FACTOR_RESET,
            target=account_target(account),
            before={"two_factor": True},
            after={"two_factor": False},
            organization_id=account.user.organization_id,
        )


def contract_security_update(*, actor: Actor, contract: Contract, require_two_factor: bool) -> None:
    """Require two-step verification for every account of the contract, or stop requiring it."""
    me = actor.account
    if me is not None and me.contract_id != contract.pk:
        raise OutOfScope
    authorize(actor, "settings.change")
    if require_two_factor and me is not None and not cast(Account, me).two_factor_enabled:
        raise ValidationError(
            {
                "require_two_factor": [
                    _(
                        "Turn on two-step verification for your own account first, so that you "
                        "are not locked out of this page."
                    )
                ]
            }
        )
    if contract.require_two_factor == require_two_factor:
        return
    with transaction.atomic():
        before = {"require_two_factor": contract.require_two_factor}
        contract.require_two_factor = require_two_factor
        contract.save(update_fields=["require_two_factor"])
        log_record(
            contract=contract,
            actor=actor,
            action=AccountAction.CONTRACT_SETTINGS_UPDATED,
            target=contract_target(contract),
            before=before,
            after={"require_two_factor": require_two_factor},
        )


# The second step of logging in ---------------------------------------------------------------


def login_pending_account(request: HttpRequest, contract: Contract) -> Account | None:
    """The account whose password was right a moment ago in this session, through this contract."""
    pending = request.session.get(TWO_FACTOR_PENDING)
    if not isinstance(pending, dict):
        return None
    age = int(timezone.now().timestamp()) - int(pending.get("since", 0))
    if not 0 <= age <= TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(TWO_FACTOR_PENDING, None)
        return None
    account = (
        Account.objects.select_related("contract", "user")
        .filter(pk=int(pending.get("account", 0)), contract=contract)
        .first()
    )
    if account is None or not hmac.compare_digest(
        str(pending.get("hash", "")), account.get_session_auth_hash()
    ):
        return None
    return account


def login_verify(
    request: HttpRequest, *, actor: Actor, contract: Contract, code: str
) -> LoginResult:
    """Finish a login with a TOTP or backup code; a wrong code is a failed login like a password."""
    account = login_pending_account(request, contract)
    if account is None or not account.two_factor_enabled:
        request.session.pop(TWO_FACTOR_PENDING, None)
        return LoginResult(LoginOutcome.EXPIRED)
    domain, name = contract.domain, account.name
    if ip_limited(actor.ip):
        request.session.pop(TWO_FACTOR_PENDING, None)
        return login_failure_record(contract, actor, domain, name, reason="ip_limited", count=False)
    if account_name_locked(domain, name):
        request.session.pop(TWO_FACTOR_PENDING, None)
        return login_failure_record(contract, actor, domain, name, reason="locked", count=False)
    if not (account.is_active and contract.is_active):
        request.session.pop(TWO_FACTOR_PENDING, None)
        reason = "disabled" if not account.is_active else "suspended"
        return login_failure_record(contract, actor, domain, name, reason=reason, account=account)
    with transaction.atomic():
        method = two_factor_code_use(account, code)
        if method is not None:
            login_complete(request, actor=actor, account=account, after={"two_factor": method})
            if method == BACKUP_CODE:
                _backup_code_used_record(actor, account)
    if method is None:
        result = login_failure_record(
            contract, actor, domain, name, reason="invalid_code", account=account
        )
        if result.outcome == LoginOutcome.LOCKED:
            request.session.pop(TWO_FACTOR_PENDING, None)
        return result
    return LoginResult(LoginOutcome.OK, account)


def _backup_code_used_record(actor: Actor, account: Account) -> None:
    # Its own entry, besides the login's: "Backup code used" is what an administrator filters
    # the log by to find people who may have lost their authenticator.
    log_record(
        contract=account.contract,
        actor=dataclasses.replace(actor, account=account, kind=ActorKind.ACCOUNT),
        action=AccountAction.BACKUP_CODE_USED,
        target=account_target(account),
        after={"remaining": backup_codes_remaining(account)},
        organization_id=account.user.organization_id,
    )
