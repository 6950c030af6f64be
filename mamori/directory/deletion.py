"""What apps above ``directory`` do when an organization is deleted, in the deletion's
transaction (Android: its valid enrollment tokens are deleted at Google), without ``directory``
knowing them.

An app registers a hook in its ``AppConfig.ready()`` (``organization_deleting_register``).
``organization_delete`` calls every hook after its checks and before the row goes; a hook makes
its own writes (durable work, never a call to the outside: the transaction is open) and returns
the operation-log records of what it did, which the deletion appends with its own entry.
"""

from __future__ import annotations

from collections.abc import Callable

from mamori.audit.services import LogRecord
from mamori.core.actor import Actor
from mamori.directory.models import Organization

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
