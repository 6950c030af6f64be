"""An account's own preferences: the language and timezone the panel, its mails and exports use."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import LANGUAGE_CHOICES, Account
from mamori.accounts.services import account_target
from mamori.audit.services import log_record
from mamori.core.actor import Actor
from mamori.core.timezones import timezone_parse


def account_preferences_update(
    *, actor: Actor, account: Account, language: str, timezone: str
) -> None:
    """Change an account's own language and timezone (``timezone`` as ``timezone_parse`` reads
    it: ``Asia/Tokyo``, ``JST``, ``UTC+9``…). Every account may, whatever its privilege; only its
    own: ``PermissionDenied`` for another's (administrators use ``account_update``)."""
    if actor.account is not None and actor.account.pk != account.pk:
        raise PermissionDenied(_("You can change only your own language and timezone."))
    errors: dict[str, list[str]] = {}
    if language not in dict(LANGUAGE_CHOICES):
        errors["language"] = [_("Choose Japanese or English.")]
    try:
        timezone = timezone_parse(timezone)
    except ValidationError as exc:
        errors["timezone"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    before = {"language": account.language, "timezone": account.timezone}
    after = {"language": language, "timezone": timezone}
    if before == after:
        return
    changed = [key for key in after if after[key] != before[key]]
    with transaction.atomic():
        account.language, account.timezone = language, timezone
        account.save(update_fields=["language", "timezone"])
        log_record(
            contract=account.contract,
            actor=actor,
            action=AccountAction.PREFERENCES_CHANGED,
            target=account_target(account),
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
            organization_id=account.user.organization_id,
        )
