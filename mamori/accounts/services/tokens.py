"""API tokens: made for an account, shown once, stored as SHA-256, revoked, authenticated."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    Account,
    ApiToken,
)
from mamori.audit.services import Target, log_record
from mamori.core.access import authorize, require_manages
from mamori.core.actor import Actor
from mamori.core.fields import length_errors

TOKEN_PREFIX = "mamori_"  # noqa: S105


def token_digest(raw: str) -> str:
    """The stored form of a token: the hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenRefused(Exception):
    """A genuine, unexpired token that may not be used now; ``code`` says why (a stable word for
    API clients) and ``message`` what its owner must do, in the owner's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RevokeReason(StrEnum):
    """Why tokens were revoked by something other than a person revoking one: the log records it."""

    PASSWORD_RESET = "password_reset"  # noqa: S105 (a code)
    ACCOUNT_DISABLED = "account_disabled"


MAX_TOKEN_DAYS = 366


def api_token_create(
    *, actor: Actor, account: Account, name: str, expires_in_days: int
) -> tuple[ApiToken, str]:
    """Make a token for the account; the raw value is returned once and never stored."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name.")]
    else:
        errors.update(length_errors(ApiToken, {"name": name}))
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
    """Stop a token for good. Its own account may revoke it; another account only with
    ``accounts.change`` over the owner's organization and when it manages the owner (a System
    administrator anyone's, the others Operators'). Revoking a revoked token does nothing."""
    owner = token.account
    if actor.account is not None and actor.account.pk != owner.pk:
        authorize(actor, "accounts.change", owner.user.organization)
        require_manages(actor, owner)
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _revoked_record(actor, token, None)


def _revoked_record(actor: Actor, token: ApiToken, reason: RevokeReason | None) -> None:
    log_record(
        contract=token.account.contract,
        actor=actor,
        action=AccountAction.API_TOKEN_REVOKED,
        target=Target("api_token", token.pk, token.name),
        after={"prefix": token.prefix, **({"reason": reason.value} if reason else {})},
        organization_id=token.account.user.organization_id,
    )


def api_tokens_revoke_all(*, actor: Actor, account: Account, reason: RevokeReason) -> int:
    """Revoke every token of ``account`` not yet revoked (expired ones too: nothing brings them
    back), one log entry each naming ``reason``; returns how many. Called by the administration
    services inside their transaction, after their own checks."""
    now = timezone.now()
    revoked = 0
    for token in account.api_tokens.select_for_update().filter(revoked_at__isnull=True):
        token.account = account
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        _revoked_record(actor, token, reason)
        revoked += 1
    return revoked


def api_token_authenticate(raw: str) -> Account | None:
    """The account behind a usable token, or None. Marks the token used (at most once a minute).

    Raises ``TokenRefused`` (code ``two_factor_required``) for a good token of an account that
    must set up two-step verification first (its contract requires it): the token works again
    once it is set up.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
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
    if account.two_factor_setup_due:
        with translation.override(account.language):
            raise TokenRefused(
                "two_factor_required",
                _(
                    "Your contract requires two-step verification. Turn it on for your account "
                    "in the panel (My account); your API tokens work again once it is on."
                ),
            )
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return account
