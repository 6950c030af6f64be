"""Reads of Users/Org, always within the reader's contract and organization scope."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from mamori.contracts.versions import ORGANIZATIONS, cached
from mamori.core.access import Principal, object_get, permission_code, restrict
from mamori.core.keyset import Keyset, Position
from mamori.core.text import fold, nfkc
from mamori.directory.models import Organization, User, UserEmail, address_key, reading_key
from mamori.directory.ordering import sibling_key
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


def user_named(account: Principal, text: str, action: str = "view") -> User | None:
    """The user of the account's organizations whose employee code (NFKC, any letter case, as
    the search reads it) or main e-mail address (any case) is ``text``; ``None`` when none is,
    or ``text`` is blank. ``PermissionDenied`` without ``users.<action>``."""
    text = nfkc(text).strip()
    if not text:
        return None
    return (
        users_visible_to(account, action)
        .filter(
            Q(employee_code__iexact=employee_code_normalize(text))
            | Q(main_address_key=address_key(text))
        )
        .select_related("organization")
        .first()
    )


def users_selected(account: Principal, ids: list[int], action: str) -> QuerySet[User]:
    """The chosen users of a bulk action that the account may act on (``users.<action>``);
    ids outside its organizations are left out, as if they did not exist."""
    users = users_visible_to(account, action).filter(pk__in=ids)
    return users.select_related("organization__contract", "account").order_by("id")


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


@dataclasses.dataclass(slots=True)  # a thousand of them per page view: no frozen __init__
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
    position: int = 0
    names: tuple[str, ...] = ()  # from the top visible organization down to this one
    notes: tuple[Any, ...] = ()  # directory.notes.OrgNote of the apps above (org_notes_apply)

    @property
    def path_label(self) -> str:
        """The whole path of names, "ACME / 営業部 / 東京"."""
        return " / ".join(self.names)

    @property
    def short_label(self) -> str:
        """Enough of the path to tell two 「東京」 apart: the parent and the organization
        ("営業部 / 東京"), with "…" when there is more above."""
        tail = self.names[-2:]
        return ("… / " if len(self.names) > 2 else "") + " / ".join(tail)


def organization_tree(account: Principal, action: str = "view") -> list[OrgNode]:
    """The visible organizations in tree order (pre-order by name), with user counts.

    ``PermissionDenied`` without ``organizations.<action>``. One query whatever the size (the
    counts are kept on the organizations), and none but the version's while no organization of
    the contract changed (``contracts.versions``: cached per scope, keyed by the version the
    database raises with every change to its organizations).
    """
    organizations = organizations_visible_to(account, action)
    rows = cached(
        account.contract_id,
        ORGANIZATIONS,
        f"tree:{account.scope_paths!r}",
        lambda: _tree_rows(organizations),
    )
    return [OrgNode(*row) for row in rows]


# OrgNode's fields, in order, as a plain tuple (a thousand of them are cached and unpickled).
_TreeRow = tuple[int, str, int | None, str, int, int, int, bool, bool, int, tuple[str, ...]]


def _tree_rows(organizations: QuerySet[Organization]) -> list[_TreeRow]:
    values = organizations.values_list("id", "parent_id", "name", "path", "user_count", "position")
    counts = {row[0]: row[4] for row in values}
    positions = {row[0]: row[5] for row in values}
    rows = [row[:4] for row in values]
    visible = {row[0] for row in rows}
    by_parent: dict[int | None, list[tuple[int, int | None, str, str]]] = {}
    for row in rows:
        # A scope root shows at the top even though its parent is out of sight.
        by_parent.setdefault(row[1] if row[1] in visible else None, []).append(row)
    subtree: dict[int, int] = {}
    for pk, _parent, _name, _path in sorted(rows, key=lambda row: -row[3].count("/")):
        subtree[pk] = counts[pk] + sum(subtree[child[0]] for child in by_parent.get(pk, []))
    nodes: list[_TreeRow] = []

    def walk(parent: int | None, depth: int, above: tuple[str, ...]) -> None:
        for pk, parent_id, name, path in sorted(
            by_parent.get(parent, []), key=lambda r: sibling_key(positions[r[0]], r[2], r[0])
        ):
            names = (*above, name)
            nodes.append(
                (
                    pk,
                    name,
                    parent_id,
                    path,
                    depth,
                    counts[pk],
                    subtree[pk],
                    pk in by_parent,
                    False,
                    positions[pk],
                    names,
                )
            )
            walk(pk, depth + 1, names)

    walk(None, 0, ())
    return nodes


@dataclasses.dataclass(frozen=True)
class UserQuery:
    search: str = ""
    organization: Organization | None = None
    include_sub_organizations: bool = True
    ids: tuple[int, ...] = ()  # only these users (a selection), when given
    sort: str = "furigana"  # a key of USER_SORTS


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
    # Employee codes match in any letter case (`e0001` finds `E0001`), as names do.
    matches = Q(name_key__contains=fold(text)) | Q(
        employee_code__iexact=employee_code_normalize(text)
    )
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
    if query.ids:
        users = users.filter(pk__in=query.ids)
    return user_order(query.sort).order(users)


# The user list's default order: furigana, as Japanese directories are, the id breaking ties.
USER_ORDER = Keyset("furigana")
# Every order a person can sort the list by, each a keyset over an index that starts with the
# contract (User.Meta.indexes); "-" reverses it. By organization groups each organization's
# users together, in reading order.
USER_SORTS = {
    "furigana": USER_ORDER,
    "name": Keyset("name"),
    "employee_code": Keyset("employee_code"),
    "organization": Keyset("organization_id", then=("furigana",)),
}


def user_order(sort: str) -> Keyset:
    """The keyset of a sort key (``"name"``, ``"-name"``…); an unknown one is the default."""
    keyset = USER_SORTS.get(sort.removeprefix("-"), USER_ORDER)
    return dataclasses.replace(keyset, descending=True) if sort.startswith("-") else keyset


@dataclasses.dataclass(frozen=True)
class UserRow:
    """A user as the list shows it, every value ready to print."""

    pk: int
    name: str
    furigana: str
    employee_code: str
    organization: str  # enough of the path to tell two 「東京」 apart
    organization_path: str  # the whole path, on hover
    email: str
    account: str
    privilege: str


@dataclasses.dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    next_cursor: str | None
    total: int  # exact, or COUNT_LIMIT + 1 meaning "more than COUNT_LIMIT"
    total_exact: bool


COUNT_LIMIT = 1000


def user_page(
    account: Principal,
    query: UserQuery,
    tree: list[OrgNode],
    *,
    after: str = "",
    size: int = 50,
) -> UserPage:
    """One page of the user list in the query's order, after the cursor ``after`` (a mangled
    one starts from the first page), with the count: exact from the organizations' kept counts
    when nothing narrows the list but the organization, else counted up to ``COUNT_LIMIT`` + 1
    (never a COUNT of the whole contract per page view)."""
    order = user_order(query.sort)
    users = users_search(account, query)
    if after:
        with contextlib.suppress(ValidationError):
            users = order.after(users, order.decode(after, field="after"))
    # Plain tuples of the columns shown, no model instances: the list is read on every view.
    # The main address in the same statement: looked up for the page's rows only.
    main = UserEmail.objects.filter(user_id=OuterRef("pk"), category=UserEmail.Category.MAIN)
    users = users.annotate(main_address=Subquery(main.values("address")[:1]))
    found = list(users.values_list(*_ROW_COLUMNS, "main_address")[: size + 1])
    emails = {row[0]: row[-1] for row in found[:size] if row[-1]}
    nodes = {node.id: node for node in tree}
    privileges = {code: str(label) for code, label in _privilege_choices()}
    rows = [_user_row(row[:-1], nodes, privileges, emails) for row in found[:size]]
    next_cursor = None
    if len(found) > size:
        last = dict(zip(_ROW_COLUMNS, found[size - 1][:-1], strict=True))
        value = tuple(last[f] for f in order.fields) if order.then else last[order.field]
        next_cursor = order.encode(Position(value, last["id"]))
    total, exact = _user_total(account, query, tree)
    return UserPage(
        rows=rows,
        next_cursor=next_cursor,
        total=total,
        total_exact=exact,
    )


def _privilege_choices() -> list[tuple[str, str]]:
    # The account model through the relation: the accounts app sits above this one.
    account_model: Any = User._meta.get_field("account").related_model
    return list(account_model.Privilege.choices)


_ROW_COLUMNS = (
    "id",
    "name",
    "furigana",
    "employee_code",
    "organization_id",
    "account__name",
    "account__privilege",
)


def _user_row(
    row: tuple[Any, ...],
    nodes: dict[int, OrgNode],
    privileges: dict[str, str],
    emails: dict[int, str],
) -> UserRow:
    pk, name, furigana, code, organization_id, account, privilege = row
    node = nodes.get(organization_id)
    return UserRow(
        pk=pk,
        name=name,
        furigana=furigana,
        employee_code=code,
        organization=node.short_label if node else "",
        organization_path=node.path_label if node else "",
        email=emails.get(pk, ""),
        account=account or "",
        privilege=privileges.get(privilege, "") if privilege else "",
    )


def _user_total(account: Principal, query: UserQuery, tree: list[OrgNode]) -> tuple[int, bool]:
    if not query.search.strip() and not query.ids:
        if query.organization is None:
            return sum(n.user_count for n in tree), True
        node = next((n for n in tree if n.id == query.organization.pk), None)
        if node is not None:
            return (
                node.subtree_count if query.include_sub_organizations else node.user_count
            ), True
    counted = users_search(account, query).order_by()[: COUNT_LIMIT + 1].count()
    return counted, counted <= COUNT_LIMIT


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
