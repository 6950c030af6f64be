"""What the accounts app gives the durable-work layer: the actor loader and a periodic job."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mamori.accounts.models import Account, LoginFailure
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import ActorRefused


def actor_load(data: dict[str, Any]) -> Actor:
    """Rebuild the actor of deferred work (``Actor.serialize()``) with its account as it is now.

    Raises ``ActorRefused``, with the reason in the account's language, when the account is
    gone or disabled or its contract is suspended: the work is not done.
    """
    account = (
        Account.objects.select_related("contract", "user__organization", "scheme")
        .filter(pk=data["account"])
        .first()
    )
    language = account.language if account else data.get("language") or settings.LANGUAGE_CODE
    with translation.override(language):
        if account is None or not account.is_active:
            raise ActorRefused(
                _("The account that asked for this is disabled or deleted, so it was not done.")
            )
        if not account.contract.is_active:
            raise ActorRefused(
                _(
                    "The contract of the account that asked for this is suspended, so it was not done."
                )
            )
    return Actor.deserialize(data, account=account)


def login_failures_prune(work: Work, actor: Actor) -> str:
    """The periodic job ``accounts.login_failures.prune``: forget failed logins that can no
    longer count towards a lock (older than the login window plus the lock)."""
    keep = settings.MAMORI_LOGIN_WINDOW_SECONDS + settings.MAMORI_LOGIN_LOCK_SECONDS
    cutoff = timezone.now() - datetime.timedelta(seconds=keep)
    deleted, _by_model = LoginFailure.objects.filter(created_at__lt=cutoff).delete()
    return f"deleted {deleted}"
