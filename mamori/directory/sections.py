"""Parts of a user's page that apps above ``directory`` add (Android: the user's devices),
without ``directory`` knowing them.

An app registers a provider in its ``AppConfig.ready()`` (``user_section_register``); the user's
page asks every provider once per view (``user_sections``). A provider returns the section's
HTML (escaped, e.g. ``render_to_string``) or ``""`` where the account may not see it; it reads
in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

from mamori.core.access import Principal
from mamori.directory.models import User

UserSection = Callable[[Principal, User], str]

_providers: dict[str, UserSection] = {}


def user_section_register(key: str, provider: UserSection) -> None:
    """Add ``provider`` under ``key`` (registering a key again replaces it)."""
    _providers[key] = provider


def user_sections(account: Principal, user: User) -> list[SafeString]:
    """Every registered provider's section for ``user``, in registration order (empty ones
    left out)."""
    found = (provider(account, user) for provider in _providers.values())
    return [mark_safe(html) for html in found if html]  # noqa: S308 -- rendered by templates
