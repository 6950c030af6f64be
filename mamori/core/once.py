"""One-time form tokens: a form saved twice (a double-clicked Save, a replayed POST) saves once.

A page renders ``once_token()`` in a hidden field; the service that saves the form calls
``once_claim(key)`` in its transaction, with a key naming the form, the account and the token.
A unique constraint on the key decides, even for two requests at the same moment: the second
waits for the first and raises ``AlreadySubmitted`` with what the first made.
"""

from __future__ import annotations

import datetime
import re
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from mamori.core.actor import Actor
from mamori.core.models import Submission, Work

KEEP = datetime.timedelta(days=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class AlreadySubmitted(Exception):
    """The form with this token was saved before; ``object_id`` is what that save made."""

    def __init__(self, object_id: int | None) -> None:
        super().__init__(object_id)
        self.object_id = object_id


def once_token() -> str:
    """A new one-time token for a form (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(16)


def once_token_valid(token: str) -> bool:
    """Whether ``token`` has the form of one ``once_token`` makes (anything else is ignored)."""
    return bool(_TOKEN.match(token))


def once_check(key: str) -> None:
    """``AlreadySubmitted`` if ``key`` was used (before a form's checks: the same form again
    would otherwise be told that what it adds exists already)."""
    earlier = list(Submission.objects.filter(key=key).values_list("object_id", flat=True)[:1])
    if earlier:
        raise AlreadySubmitted(earlier[0])


def once_claim(key: str) -> Submission:
    """Mark ``key`` used, in the caller's transaction (its rollback frees the key again: a form
    refused by its checks can be corrected and saved). ``AlreadySubmitted`` if it was used."""
    try:
        with transaction.atomic():
            return Submission.objects.create(key=key)
    except IntegrityError:
        earlier = Submission.objects.filter(key=key).first()
        raise AlreadySubmitted(earlier.object_id if earlier else None) from None


def once_prune_job(work: Work, actor: Actor) -> str:
    """The periodic job ``core.once.prune``: forget tokens used more than a day ago (a form
    kept open that long and saved twice is the rare case not worth keeping rows for)."""
    deleted, _by_model = Submission.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return f"deleted {deleted}"
