"""Rows of the operation log, written out in Python (see ``bench/floor.py``)."""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from mamori.audit.selectors import LogRow

register = template.Library()


@register.simple_tag
def log_rows(rows: list[LogRow], logs_url: str) -> SafeString:
    """Each entry's row: the time linking to the entry, actor, IP address, action, target and
    result (a failure stands out). Every value escaped; long ones cut by CSS, whole in the title."""
    base = escape(logs_url)
    parts = []
    for r in rows:
        actor, action, target = escape(r.actor), escape(r.action), escape(r.target)
        result = (
            f'<span class="badge bg-red-lt">{escape(r.result)}</span>'
            if r.failed
            else escape(r.result)
        )
        parts.append(
            f'<tr class="{"failure" if r.failed else "success"}">'
            f'<td><a href="{base}{r.pk}/"><time datetime="{r.iso}">{escape(r.time)}</time></a></td>'
            f'<td><span class="cell-text" title="{actor}">{actor}</span></td>'
            f"<td>{escape(r.ip)}</td>"
            f'<td><span class="cell-text" title="{action}">{action}</span></td>'
            f'<td><span class="cell-text" title="{target}">{target}</span></td>'
            f"<td>{result}</td></tr>"
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above
