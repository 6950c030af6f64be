"""Account names are identifiers: one rule for the panel, the API, CSV import and logging in.

A name is stored in NFKC (``Ａｄｍｉｎ`` is ``Admin``) and is one in any letter case: ``Admin``
logs in as ``admin``, and a contract cannot hold both (a unique index on the lower-cased name
decides, also for two saves at the same moment). A new or changed name holds only ASCII letters,
digits and ``. _ - @`` (so an e-mail address can be a name), which keeps out what a person cannot
tell apart on screen: look-alike letters of other scripts (a Cyrillic ``а`` in ``аdmin``),
zero-width characters, right-to-left overrides and combining marks.

Names saved before this rule that break it (a Japanese name, say) keep working: they log in,
and an account keeping its name can be saved; only a new name must follow the rule.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from mamori.core.text import code_point, nfkc

if TYPE_CHECKING:
    from mamori.accounts.models import Account

NAME_MAX = 150
_ALLOWED = re.compile(r"[A-Za-z0-9._@-]")


def account_name_normalize(name: str) -> str:
    """A typed account name as it is stored and looked up: NFKC, without surrounding spaces."""
    return nfkc(name)


def account_name_key(name: str) -> str:
    """One key per account name in any letter case or width (failed logins count against it)."""
    return account_name_normalize(name).casefold()[:NAME_MAX]


def account_name_errors(name: str) -> list[str]:
    """What is wrong with a (normalised, non-empty) new account name, or nothing."""
    if len(name) > NAME_MAX:
        return [_("An account name is at most 150 characters.")]
    bad = next((ch for ch in name if not _ALLOWED.fullmatch(ch)), None)
    if bad is None:
        return []
    # Letters, digits, punctuation and symbols are shown; a mark, a space or an invisible
    # character only by its code point.
    if unicodedata.category(bad)[0] in "LNPS":
        return [
            _(
                "An account name can contain only the letters A–Z and a–z, digits and . _ - @ (no spaces or other characters). It contains “%(character)s” (%(code)s)."
            )
            % {"character": bad, "code": code_point(bad)}
        ]
    return [
        _(
            "An account name can contain only the letters A–Z and a–z, digits and . _ - @ (no spaces or other characters). It contains a space, a mark or an invisible character (%(code)s)."
        )
        % {"code": code_point(bad)}
    ]


def account_named(accounts: QuerySet[Account], name: str) -> QuerySet[Account]:
    """The accounts of ``accounts`` named ``name`` in any letter case, compared as the unique
    index compares (the database's lower case of both, so the index serves the lookup)."""
    return accounts.alias(name_lower=Lower("name")).filter(
        name_lower=Lower(Value(account_name_normalize(name)))
    )
