"""Reads of Users/Org, always within the reader's contract and organization scope."""

from __future__ import annotations

import contextlib
import dataclasses

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from mamori.core.access import Principal, object_get, permission_code, restrict
from mamori.core.keyset import Keyset
from mamori.core.text import fold, nfkc
from mamori.directory.models import Organization, User, UserEmail, reading_key
from mamori.directory.services import employee_code_normalize, normalize_furigana


def organizations_visible_to(account: Principal, action: str = "view") -> QuerySet[Organization]:
    """The contract's organizations in the account's scope; ``PermissionDenied`` without the
    permission (``organizations.<action>``, or a full code)."""
    return restrict(
        Organization.objects.all(),
        account,
        permission_code("organizations", action),
        path_field="path",
    )


def organization_get(account: Principal, pk: int | str, action: str = "view") -> Organization:
    """One organization: ``NotFound`` outside the account's scope, ``PermissionDenied`` in scope
    without the permission."""
    return object_get(
        Organization.objects.all(),
        account,
        pk,
        permission_code("organizations", action),
        path_field="path",
    )


def users_visible_to(account: Principal, action: str = "view") -> QuerySet[User]:
    """The contract's users in the account's organizations; ``PermissionDenied`` without
    ``users.<action>``."""
    return restrict(
        User.objects.all(),
        account,
        permission_code("users", action),
        path_field="organization__path",
    )


def user_get(account: Principal, pk: int | str, action: str = "view") -> User:
    """One user with its e-mails, organization and account: ``NotFound`` outside the account's
    organizations, ``PermissionDenied`` in scope without ``users.<action>``."""
    users = User.objects.select_related("organization", "account").prefetch_related(
        Prefetch("emails", UserEmail.objects.order_by("id"))
    )
    return object_get(
        users, account, pk, permission_code("users", action), path_field="organization__path"
    )


def organization_path_names(account: Principal, organization: Organization) -> list[str]:
    """The names from the contract's top organization down to ``organization`` (a breadcrumb):
    ancestors above the account's scope are named too, as the organization's path is its place."""
    ids = [*organization.ancestor_ids(), organization.pk]
    names = dict(
        Organization.objects.filter(contract_id=account.contract_id, pk__in=ids).values_list(
            "pk", "name"
        )
    )
    return [names[i] for i in ids if i in names]


@dataclasses.dataclass(frozen=True)
class OrgNode:
    """An organization as the tree shows it (plain values: a tree has a thousand of them)."""

    id: int
    name: str
    parent_id: int | None
    path: str
    depth: int
    user_count: int  # directly in it
    subtree_count: int  # in it and below
    has_children: bool = False
    opened: bool = False  # its children are shown


def organization_tree(account: Principal, action: str = "view") -> list[OrgNode]:
    """The visible organizations in tree order (pre-order by name), with user counts.

    One query whatever the size: the counts are kept on the organizations.
    """
    values = organizations_visible_to(account, action).values_list(
        "id", "parent_id", "name", "path", "user_count"
    )
    counts = {row[0]: row[4] for row in values}
    rows = [row[:4] for row in values]
    visible = {row[0] for row in rows}
    by_parent: dict[int | None, list[tuple[int, int | None, str, str]]] = {}
    for row in rows:
        # A scope root shows at the top even though its parent is out of sight.
        by_parent.setdefault(row[1] if row[1] in visible else None, []).append(row)
    subtree: dict[int, int] = {}
    for pk, _parent, _name, _path in sorted(rows, key=lambda row: -row[3].count("/")):
        subtree[pk] = counts[pk] + sum(subtree[child[0]] for child in by_parent.get(pk, []))
    nodes: list[OrgNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for pk, parent_id, name, path in sorted(
            by_parent.get(parent, []), key=lambda r: (r[2], r[0])
        ):
            nodes.append(
                OrgNode(pk, name, parent_id, path, depth, counts[pk], subtree[pk], pk in by_parent)
            )
            walk(pk, depth + 1)

    walk(None, 0)
    return nodes


@dataclasses.dataclass(frozen=True)
class UserQuery:
    search: str = ""
    organization: Organization | None = None
    include_sub_organizations: bool = True


def _search(text: str) -> Q:
    """What a search box query matches, chosen so each part can use an index or a cheap scan.

    The text is read as people type it: in NFKC (full-width ``Ｅ０００１`` is ``E0001``,
    half-width kana are full-width), with spaces of either width ignored. Kana is a reading: it
    matches furigana from the start, spaces left out (やま finds ヤマダ and ヤマモト, and
    スズキイチロウ finds スズキ イチロウ), on the space-less key's index. Anything else matches
    names containing it (in any letter case and spacing: ``田中太郎`` finds ``田中 太郎``, on the
    folded name key, so no row is folded at query time), an exact employee code, and, when it
    could be part of an address, e-mail addresses containing it.
    """
    text = nfkc(text)
    with contextlib.suppress(ValidationError):
        return Q(furigana_key__startswith=reading_key(normalize_furigana(text)))
    matches = Q(name_key__contains=fold(text)) | Q(employee_code=employee_code_normalize(text))
    if text.isascii():
        matches |= Q(pk__in=UserEmail.objects.filter(address__icontains=text).values("user_id"))
    return matches


def users_search(account: Principal, query: UserQuery, action: str = "view") -> QuerySet[User]:
    """The visible users matching a search (name, furigana prefix, e-mail, employee code) and an
    organization filter, in furigana order."""
    users = users_visible_to(account, action)
    if query.organization is not None:
        if query.include_sub_organizations:
            users = users.filter(organization__path__startswith=query.organization.path)
        else:
            users = users.filter(organization=query.organization)
    text = query.search.strip()
    if text:
        users = users.filter(_search(text))
    return USER_ORDER.order(users)


# The user list's one order: furigana, as Japanese directories are, the id breaking ties.
USER_ORDER = Keyset("furigana")


def tree_opened_at(nodes: list[OrgNode], selected: Organization | None) -> list[OrgNode]:
    """The part of the tree a person sees: the top level, and the children of every organization
    on the way to the selected one (and of the selected one). A thousand organizations stay
    folded."""
    if not nodes:
        return []
    top = nodes[0].depth
    opened = {n.id for n in nodes if n.depth == top}
    if selected is not None:
        opened |= {*selected.ancestor_ids(), selected.pk}
    return [
        dataclasses.replace(n, opened=n.id in opened and n.has_children)
        for n in nodes
        if n.depth == top or n.parent_id in opened
    ]
