"""Passwords: the one password rule, generated passwords, and an account changing its own."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import (
    Account,
)
from mamori.accounts.services import account_target
from mamori.audit.services import log_record
from mamori.core.actor import Actor

PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
# The longest password anyone may choose or type (the forms' max_length too): hashing is costly
# by design, so longer input is refused before any hash, at login as well.
PASSWORD_MAX_LENGTH = 4096


def password_generate(length: int = 16) -> str:
    """A random password for mail: no look-alike characters, letters and digits mixed."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def password_errors(
    password: str, confirmation: str, *, account: Account, field: str = "password"
) -> dict[str, list[str]]:
    """The one password rule, for every place a password is chosen: given, not only spaces, no NUL
    character, at most ``PASSWORD_MAX_LENGTH`` characters, typed twice alike, and passing
    ``AUTH_PASSWORD_VALIDATORS`` (length, not the account name, not a common password).

    Returns the messages by field (``field`` and ``"confirmation"``); empty when it is good.
    """
    if not password:
        return {field: [_("Enter a password.")]}
    if password.isspace():
        return {field: [_("A password cannot be only spaces.")]}
    if "\x00" in password:
        return {field: [_("A password cannot contain a NUL character.")]}
    if len(password) > PASSWORD_MAX_LENGTH:
        return {
            field: [
                _("A password is at most %(limit)d characters.") % {"limit": PASSWORD_MAX_LENGTH}
            ]
        }
    errors: dict[str, list[str]] = {}
    if password != confirmation:
        errors["confirmation"] = [_("The two passwords do not match.")]
    try:
        validate_password(password, account)
    except ValidationError as exc:
        errors[field] = list(exc.messages)
    return errors


def password_matches(account: Account, password: str) -> bool:
    """Whether ``password`` is the account's; input longer than any password could be is
    refused without hashing it."""
    return len(password) <= PASSWORD_MAX_LENGTH and account.check_password(password)


def password_change(
    *,
    actor: Actor,
    account: Account,
    new_password: str,
    confirmation: str,
    current_password: str | None = None,
) -> None:
    """Set an account's own new password after checking the policy; the session stays valid."""
    errors = password_errors(new_password, confirmation, account=account, field="new_password")
    if current_password is not None and not password_matches(account, current_password):
        errors["current_password"] = [_("The current password is incorrect.")]
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
