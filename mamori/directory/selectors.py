"""Reads of Users/Org, always within the reader's contract and organization scope."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections import Counter
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from mamori.accounts.models import Account
from mamori.accounts.scope import scope_paths
from mamori.directory.models import Organization, User, UserEmail
from mamori.directory.services import normalize_furigana


def _in_paths(paths: list[str], field: str) -> Q:
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{field}__startswith": p}) for p in paths))


def organizations_visible_to(account: Account) -> QuerySet[Organization]:
    organizations = Organization.objects.filter(contract_id=account.contract_id)
    paths = scope_paths(account)
    return organizations if paths is None else organizations.filter(_in_paths(paths, "path"))


def organization_get(account: Account, pk: int) -> Organization:
    """One organization the account may see; ``Organization.DoesNotExist`` otherwise."""
    return organizations_visible_to(account).get(pk=pk)


def users_visible_to(account: Account) -> QuerySet[User]:
    users = User.objects.filter(contract_id=account.contract_id)
    paths = scope_paths(account)
    if paths is not None:
        users = users.filter(_in_paths(paths, "organization__path"))
    return users


def user_get(account: Account, pk: int) -> User:
    """One user the account may see, with its e-mails, organization and account."""
    return (
        users_visible_to(account)
        .select_related("organization", "account")
        .prefetch_related(Prefetch("emails", UserEmail.objects.order_by("id")))
        .get(pk=pk)
    )


@dataclasses.dataclass
class OrgNode:
    organization: Organization
    depth: int
    user_count: int  # directly in it
    subtree_count: int  # in it and below


def organization_tree(account: Account) -> list[OrgNode]:
    """The visible organizations in tree order (pre-order by name), with user counts.

    Two queries whatever the size: the organizations, and one count per organization.
    """
    organizations = list(organizations_visible_to(account))
    counts = Counter(
        dict(
            users_visible_to(account)
            .values_list("organization_id")
            .annotate(n=Count("id"))
            .values_list("organization_id", "n")
        )
    )
    by_parent: dict[int | None, list[Organization]] = {}
    visible = {o.pk for o in organizations}
    for o in organizations:
        # A scope root shows at the top even though its parent is out of sight.
        parent = o.parent_id if o.parent_id in visible else None
        by_parent.setdefault(parent, []).append(o)
    subtree: dict[int, int] = {}
    for o in sorted(organizations, key=lambda o: -o.path.count("/")):
        subtree[o.pk] = counts[o.pk] + sum(subtree.get(c.pk, 0) for c in by_parent.get(o.pk, []))
    nodes: list[OrgNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for o in sorted(by_parent.get(parent, []), key=lambda o: (o.name, o.pk)):
            nodes.append(OrgNode(o, depth, counts[o.pk], subtree[o.pk]))
            walk(o.pk, depth + 1)

    walk(None, 0)
    return nodes


@dataclasses.dataclass(frozen=True)
class UserQuery:
    search: str = ""
    organization: Organization | None = None
    include_sub_organizations: bool = True


def users_search(account: Account, query: UserQuery) -> QuerySet[User]:
    """The visible users matching a search (name, furigana prefix, e-mail, employee code) and an
    organization filter, in furigana order."""
    users = users_visible_to(account)
    if query.organization is not None:
        if query.include_sub_organizations:
            users = users.filter(organization__path__startswith=query.organization.path)
        else:
            users = users.filter(organization=query.organization)
    text = query.search.strip()
    if text:
        matches: Any = (
            Q(name__icontains=text)
            | Q(employee_code=text)
            | Exists(UserEmail.objects.filter(user=OuterRef("pk"), address__icontains=text))
        )
        with contextlib.suppress(ValidationError):  # not kana: it cannot match a furigana
            matches |= Q(furigana__startswith=normalize_furigana(text))
        users = users.filter(matches)
    return users.order_by("furigana", "id")


def user_cursor_encode(user: User) -> str:
    """The position after ``user`` in furigana order, as an opaque URL-safe string."""
    return base64.urlsafe_b64encode(json.dumps([user.furigana, user.pk]).encode()).decode()


def users_after(users: QuerySet[User], cursor: str) -> QuerySet[User]:
    """The users after a cursor from ``user_cursor_encode``; a malformed one is a ValidationError."""
    try:
        furigana, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        furigana, pk = str(furigana), int(pk)
    except (ValueError, TypeError):
        raise ValidationError({"after": ["This cursor is not valid."]}) from None
    # "furigana >= f" bounds the index range; the OR only drops ties already shown.
    return users.filter(Q(furigana__gte=furigana) & (Q(furigana__gt=furigana) | Q(pk__gt=pk)))
