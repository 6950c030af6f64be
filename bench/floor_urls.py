"""The floor: minimal logged-in views that read the rows a page shows and render them in the
product's base template, through the same middleware as the panel (``bench/floor.py``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from mamori.audit.models import LogEntry
from mamori.core.decorators import account_required
from mamori.directory.models import User
from mamori.urls import urlpatterns as panel_urlpatterns

_TEMPLATE = engines["django"].from_string(
    '{% extends "base.html" %}{% block heading %}floor{% endblock %}{% block content %}'
    '<table class="table" id="floor"><tbody>{% for row in rows %}<tr>'
    "{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>"
    "{% endblock %}"
)


def _render(request: HttpRequest, rows: list[tuple[object, ...]]) -> HttpResponse:
    return HttpResponse(_TEMPLATE.render({"rows": rows, "tab": "users"}, request))


@account_required
def floor_logs(request: HttpRequest) -> HttpResponse:
    """The log page's 50 rows, newest first, read and printed as they are."""
    rows = LogEntry.objects.filter(contract_id=request.user.contract_id).order_by(  # type: ignore[union-attr]
        "-created_at", "-id"
    )
    columns = ("created_at", "actor_name", "ip", "action", "target_label", "result")
    return _render(request, list(rows.values_list(*columns)[:50]))


@account_required
def floor_users(request: HttpRequest) -> HttpResponse:
    """The user list's 50 rows in furigana order, read and printed as they are."""
    rows = User.objects.filter(contract_id=request.user.contract_id).order_by("furigana", "id")  # type: ignore[union-attr]
    columns = ("name", "furigana", "employee_code", "organization__name", "id")
    return _render(request, list(rows.values_list(*columns)[:50]))


floor = [path("logs/", floor_logs), path("users/", floor_users)]
urlpatterns = [path("<slug:domain>/floor/", include(floor)), *panel_urlpatterns]
