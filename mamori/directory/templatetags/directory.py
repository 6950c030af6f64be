"""The organization tree of Users/Org, written out in Python: a tree of a thousand organizations
through the template engine cost more than the rest of the page (bench/floor.py)."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mamori.directory.selectors import OrgNode, UserRow

register = template.Library()


@register.simple_tag
def org_tree(nodes: list[OrgNode], selected_id: int | None, users_url: str) -> SafeString:
    """``<li>`` of each shown organization: its link (the whole path on hover), its twisty, the
    notes apps add (``directory.notes``) and the count of users in it and below. A hundred
    organizations may show at once: the same texts (a URL, an inherited profile's note) are
    escaped once per page, not once per organization."""
    count_title = html.escape(_("Users in it and below"))
    href = html.escape(users_url)
    escaped = functools.lru_cache(maxsize=None)(html.escape)
    parts = []
    for node in nodes:
        current = ' aria-current="true"' if node.id == selected_id else ""
        twisty = "▾" if node.opened else ("▸" if node.has_children else "")
        parts.append(
            f'<li class="depth-{node.depth}"{current}>'
            f'<a class="org-link" href="{href}?org={node.id}" '
            f'title="{html.escape(node.path_label)}">'
            f'<span class="twisty" aria-hidden="true">{twisty}</span>{html.escape(node.name)}</a>'
            f"{_notes(node, escaped) if node.notes else ''}"
            f'<span class="count" title="{count_title}">{node.subtree_count}</span></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above


def _notes(node: OrgNode, escaped: Callable[[str], str]) -> str:
    parts = []
    for note in node.notes:
        tone = "bg-secondary-lt fw-normal" if note.muted else "bg-azure-lt"
        label = (
            f'<span class="visually-hidden">{escaped(str(note.label))} </span>'
            if note.label
            else ""
        )
        parts.append(
            f'<span class="badge {tone} text-truncate org-note" title="{escaped(str(note.title))}">'
            f"{label}{escaped(str(note.text))}</span>"
        )
    return "".join(parts)


@register.simple_tag(takes_context=True)
def user_rows(context: template.Context, rows: list[UserRow], users_url: str) -> SafeString:
    """The user list's rows, written out in Python (fifty rows through the template engine
    cost as much as the rest of the page). Every value escaped; long ones cut by CSS with the
    whole value in the title."""
    can = context.get("can") or frozenset()
    bulk = context.get("bulk", False)
    accounts = "accounts.view" in can
    choose = _("Choose %(name)s")
    base = escape(users_url)
    parts = []
    for row in rows:
        name, email = escape(row.name), escape(row.email)
        check = (
            f'<td class="col-check"><input class="form-check-input" type="checkbox" name="user" '
            f'value="{row.pk}" data-bulk aria-label="{escape(choose % {"name": row.name})}"></td>'
            if bulk
            else ""
        )
        account = ""
        if accounts:
            account = (
                f'<td><span class="cell-text narrow" title="{escape(row.account)}">'
                f"{escape(row.account)}</span> "
                f'<span class="badge bg-secondary-lt">{escape(row.privilege)}</span></td>'
                if row.account
                else "<td>—</td>"
            )
        parts.append(
            f"<tr>{check}"
            f'<td><a href="{base}{row.pk}/" class="cell-text" title="{name}">{name}</a>'
            # Below 1,400 px the furigana goes under the name instead of a column of its own.
            f'<span class="cell-text narrow-only small text-secondary">'
            f"{escape(row.furigana)}</span></td>"
            f'<td class="col-wide-only"><span class="cell-text narrow" title="{escape(row.furigana)}">'
            f"{escape(row.furigana)}</span></td>"
            f'<td class="col-wide-only"><span class="cell-text narrow" '
            f'title="{escape(row.employee_code)}">'
            f"{escape(row.employee_code)}</span></td>"
            f'<td><span class="cell-text" title="{escape(row.organization_path)}">'
            f"{escape(row.organization)}</span></td>"
            f'<td><span class="cell-text" title="{email}">{email}</span></td>'
            f"{account}</tr>"
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above
