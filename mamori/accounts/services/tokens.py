"""API tokens: made for an account, shown once, stored as SHA-256, revoked, authenticated."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    Account,
    ApiToken,
)
from mamori.audit.services import Target, log_record
from mamori.core.actor import Actor

TOKEN_PREFIX = "mamori_"  # noqa: S105


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
