"""The organization tree of Users/Org, written out in Python: a tree of a thousand organizations
through the template engine cost more than the rest of the page (bench/floor.py)."""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mamori.directory.selectors import OrgNode

register = template.Library()


@register.simple_tag
def org_tree(nodes: list[OrgNode], selected_id: int | None, users_url: str) -> SafeString:
    """``<li>`` of each shown organization: its link (the whole path on hover), its twisty and
    the count of users in it and below."""
    count_title = escape(_("Users in it and below"))
    parts = []
    for node in nodes:
        current = ' aria-current="true"' if node.id == selected_id else ""
        twisty = "▾" if node.opened else ("▸" if node.has_children else "")
        parts.append(
            f'<li class="depth-{node.depth}"{current}>'
            f'<a class="org-link" href="{escape(users_url)}?org={node.id}" '
            f'title="{escape(node.path_label)}">'
            f'<span class="twisty" aria-hidden="true">{twisty}</span>{escape(node.name)}</a>'
            f'<span class="count" title="{count_title}">{node.subtree_count}</span></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above
