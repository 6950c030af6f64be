"""How a person reads who made an entry: actor kinds and actor labels, for the screen, CSV and API."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mamori.core.actor import ActorKind

# Lazy labels: built once, translated when shown.
ACTOR_KIND_LABELS = {
    ActorKind.ACCOUNT: _("account"),
    ActorKind.API: _("API client"),
    ActorKind.OPERATOR: _("operator (CLI)"),
    ActorKind.ANONYMOUS: _("not logged in"),
    ActorKind.SYSTEM: _("Mamori (system)"),
    ActorKind.ON_BEHALF: _("Mamori on behalf of an account"),
}
ACTOR_KIND_CHOICES = [(kind.value, label) for kind, label in ACTOR_KIND_LABELS.items()]


def actor_kind_label(kind: str) -> str:
    """The kind's label in the active language; the code itself for a kind this version lacks."""
    label = ACTOR_KIND_LABELS.get(kind)  # type: ignore[call-overload]
    return str(label) if label is not None else kind


def actor_label(kind: str, name: str, account_name: str) -> str:
    """The actor as the log screen and the API show it: "山田 (yamada)"; for work Mamori did later
    for an account, "Mamori for 山田 (yamada)"; without an account, the kind ("not logged in")."""
    if not name:
        return actor_kind_label(kind)
    if kind == ActorKind.ON_BEHALF:
        return gettext("Mamori for %(name)s (%(account)s)") % {
            "name": name,
            "account": account_name,
        }
    return f"{name} ({account_name})"


def actor_name_label(kind: str, name: str) -> str:
    """The actor without the account name (the CSV has a column of its own for it)."""
    if not name:
        return actor_kind_label(kind)
    if kind == ActorKind.ON_BEHALF:
        return gettext("Mamori for %(name)s") % {"name": name}
    return name
