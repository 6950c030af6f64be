"""Notes beside the organizations of the Users/Org tree that apps above ``directory`` add
(Android: each organization's profile, own or inherited), without ``directory`` knowing them.

An app registers a provider in its ``AppConfig.ready()`` (``org_note_register``); the tree's
page asks every provider once per view (``org_notes_apply``). A provider answers for all the
nodes it is given in a fixed number of queries, never one per node, and answers nothing (``{}``)
where the account may not see what it would show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from mamori.core.access import Principal
from mamori.directory.selectors import OrgNode


@dataclasses.dataclass(frozen=True, slots=True)
class OrgNote:
    """A short word beside an organization: ``text`` shown, ``title`` on hover, ``label`` read
    before it by screen readers (the text alone may not say what it is); ``muted`` for what
    the organization only inherits."""

    text: str
    title: str = ""
    label: str = ""
    muted: bool = False


OrgNoteProvider = Callable[[Principal, Sequence[OrgNode]], dict[int, OrgNote]]

_providers: dict[str, OrgNoteProvider] = {}


def org_note_register(key: str, provider: OrgNoteProvider) -> None:
    """Add ``provider`` under ``key`` (registering a key again replaces it: ``ready()`` may run
    twice in tests)."""
    _providers[key] = provider


def org_notes_apply(account: Principal, nodes: list[OrgNode]) -> list[OrgNode]:
    """``nodes`` with every registered provider's notes attached (``OrgNode.notes``), in the
    order the providers were registered."""
    found: dict[int, list[OrgNote]] = {}
    for provider in _providers.values():
        for pk, note in provider(account, nodes).items():
            found.setdefault(pk, []).append(note)
    if not found:
        return nodes
    return [dataclasses.replace(n, notes=tuple(found[n.id])) if n.id in found else n for n in nodes]
