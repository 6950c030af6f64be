"""What apps above ``directory`` do when an organization (or a user) is deleted, in the deletion's
transaction (Android: its valid enrollment tokens are deleted at Google), without ``directory``
knowing them.

An app registers a hook in its ``AppConfig.ready()`` (``organization_deleting_register``).
``organization_delete`` calls every hook after its checks and before the row goes; a hook makes
its own writes (durable work, never a call to the outside: the transaction is open) and returns
the operation-log records of what it did, which the deletion appends with its own entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mamori.audit.services import LogRecord
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User

OrganizationDeleting = Callable[[Actor, Organization], list[LogRecord]]

_hooks: dict[str, OrganizationDeleting] = {}


def organization_deleting_register(key: str, hook: OrganizationDeleting) -> None:
    """Add ``hook`` under ``key`` (registering a key again replaces it)."""
    _hooks[key] = hook


def organization_deleting(actor: Actor, organization: Organization) -> list[LogRecord]:
    """Run every hook for ``organization``, about to be deleted; their log records, in order."""
    records: list[LogRecord] = []
    for hook in _hooks.values():
        records.extend(hook(actor, organization))
    return records


# Users: an app above may refuse a user's deletion (Android: a user with devices), or do its
# writes first (its removed devices forget the user). Same shape as the organizations' hooks;
# a hook raises ``ValidationError`` naming the users it holds back.
UsersDeleting = Callable[[Actor, Sequence[User]], list[LogRecord]]

_user_hooks: dict[str, UsersDeleting] = {}


def user_deleting_register(key: str, hook: UsersDeleting) -> None:
    """Add ``hook`` under ``key`` (registering a key again replaces it)."""
    _user_hooks[key] = hook


def users_deleting(actor: Actor, users: Sequence[User]) -> list[LogRecord]:
    """Run every hook for ``users``, about to be deleted in the caller's transaction; their log
    records, in order. A hook's ``ValidationError`` refuses the deletion of them all."""
    records: list[LogRecord] = []
    for hook in _user_hooks.values():
        records.extend(hook(actor, users))
    return records
