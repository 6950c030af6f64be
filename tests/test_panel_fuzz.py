"""Hypothesis against every panel page: no input is a server error.

Every URL pattern of the panel is found from the URLconf (a new page is fuzzed without being
listed here) and opened as A1, a System administrator with every permission, in a contract with
data. The fields of each form the page shows are read from its HTML; then generated values are
sent: the form's fields (posted, or as a query for a search form) and the query parameters list
pages read (``q``, ``org``, ``after``, ``since``…). Values include text beyond every column's
length, numbers too large for any column, malformed counts of formsets, impossible dates and
offsets, ids of this and of another contract, and control characters. Every answer must be
below 500; each case runs in a savepoint rolled back afterwards.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.accounts.models import PermissionScheme
from mamori.accounts.services.invitations import invitation_token
from mamori.accounts.services.tokens import api_token_create
from mamori.alerts.models import Webhook
from mamori.android.policy import initial_policy
from mamori.android.services import profile_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.panel import urls as panel_urls
from mamori.support.services import inquiry_send
from tests.android.devices import make_device
from tests.conftest import OrgCast, logged_in, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

EXAMPLES = 4


def _names(patterns: list) -> list[str]:
    names: list[str] = []
    for p in patterns:
        names += _names(p.url_patterns) if hasattr(p, "url_patterns") else [p.name]
    return names


PAGES = sorted(set(_names(panel_urls.urlpatterns)))
# Query parameters list pages read outside their forms (paging, filters, the page to go back to).
QUERY_NAMES = ("q", "org", "sub", "after", "before", "page", "since", "until", "actor", "action")
QUERY_NAMES += ("next", "sort")
# The device list's filters and its selection.
QUERY_NAMES += ("state", "compliance", "kind", "model", "android", "silent", "size", "device")

ODD_VALUES = [
    "",
    "0",
    "-1",
    "1",
    "abc",
    "9" * 30,
    "1e309",
    "NaN",
    "２",  # a full-width digit
    "2026-13-45T25:61",
    "2026-04-01T09:00+16:00",
    "0001-01-01T00:00",
    "0001-01-01 00:00:00",
    "9999-12-31T23:59:59",
    "main",
    "operator",
    "system_admin",
    "custom_admin",
    "on",
    "add",
    "upsert",
    "users.view",
    "Asia/Tokyo",
    "x@x.example",
    "a" * 64 + "@" + "b" * 250 + ".example",
    "eyJ9",  # a cursor that decodes to nothing
    "WzEsMl0",  # a cursor of [1, 2]
    "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAsMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDBd",  # huge numbers
    "\u2028",
    "\u202e",
    "\x00",
]

_TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
# Long values repeat one character (drawing thousands of them would cost more than the request).
LONG = st.builds(lambda c, n: c * n, _TEXT, st.sampled_from([65, 101, 151, 201, 255, 4097]))
VALUES = st.one_of(
    st.text(_TEXT, max_size=12),
    LONG,  # just beyond the columns' lengths (64, 100, 150, 200, 254) and the password rule
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(ODD_VALUES),
)


@dataclasses.dataclass
class Form:
    method: str  # "get" or "post"
    action: str
    fields: dict[str, list[str]]  # name: the values the page filled in (a good submission)
    files: tuple[str, ...] = ()


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_FIELD = re.compile(r"<(input)\b([^>]*)>()|<(select|textarea)\b([^>]*)>(.*?)</\4>", re.S | re.I)
_OPTION = re.compile(r"<option\b([^>]*)>", re.I)
_ATTR = re.compile(r"""(\w[\w-]*)(?:\s*=\s*("[^"]*"|'[^']*'))?""")


def _attrs(text: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v[1:-1]) if v else "" for k, v in _ATTR.findall(text)}


def _filled(tag: str, attrs: dict[str, str], inner: str) -> list[str]:
    """What a browser would send for a field as the page shows it."""
    kind = attrs.get("type", "text").lower()
    if tag == "select":
        options = [_attrs(o) for o in _OPTION.findall(inner or "")]
        chosen = [o.get("value", "") for o in options if "selected" in o]
        return chosen or [o.get("value", "") for o in options[:1]]
    if tag == "textarea":
        return [html.unescape(inner or "")]
    if kind in ("checkbox", "radio"):
        return [attrs.get("value", "on")] if "checked" in attrs else []
    if kind in ("submit", "button", "password"):
        return []
    return [attrs.get("value", "")]


# Values for fields a page leaves empty, so that an add form is good before one field is changed.
FILL = {
    "name": "ファズ 花子",
    "furigana": "ファズ ハナコ",
    "emails-0-address": "fuzz@alpha.example",
    "subject": "件名",
    "body": "本文",
}


def forms_of(page: str, url: str) -> list[Form]:
    """The forms of an HTML page: method, where they go, their fields as filled in."""
    found = []
    for form_attrs, body in _FORM.findall(page):
        attrs = _attrs(form_attrs)
        fields: dict[str, list[str]] = {}
        files = []
        for match in _FIELD.findall(body):
            tag, field_attrs, inner = match[:3] if match[0] else match[3:]
            field = _attrs(field_attrs)
            name = field.get("name")
            if not name or name == "csrfmiddlewaretoken":
                continue
            if field.get("type") == "file":
                files.append(name)
                continue
            fields.setdefault(name, []).extend(_filled(tag.lower(), field, inner))
            if name in FILL and fields[name] in ([], [""]):
                fields[name] = [FILL[name]]
        found.append(
            Form(
                attrs.get("method", "get").lower(),
                attrs.get("action") or url,
                fields,
                tuple(files),
            )
        )
    return found


def url_of(name: str, ids: dict[str, Any]) -> str:
    """The panel URL ``name`` with contract A's objects for its parameters."""
    resolver = get_resolver().namespace_dict["panel"][1]
    params = resolver.reverse_dict.getlist(name)[0][0][0][1]
    kwargs = {p: ids.get(f"{name}.{p}", ids.get(p)) for p in params}
    return reverse(f"panel:{name}", kwargs={"domain": "alpha", **kwargs})


@pytest.fixture
def ids(orgs: OrgCast) -> dict[str, Any]:
    a1 = orgs.cast.a1
    a1.support_option = True
    a1.save(update_fields=["support_option"])
    own_token, _raw = api_token_create(
        actor=Actor(account=a1), account=a1, name="own", expires_in_days=7
    )
    operator_token, _raw = api_token_create(
        actor=Actor(account=orgs.a3), account=orgs.a3, name="ci", expires_in_days=7
    )
    inquiry = inquiry_send(actor=Actor(account=a1), category="usage", subject="件名", body="本文")
    return {
        "user_id": orgs.a3.user_id,
        "organization_id": orgs.dev.pk,
        "scheme_id": PermissionScheme.objects.get(contract=orgs.cast.a).pk,
        "inquiry_id": inquiry.pk,
        "import_id": 1,
        "token_id": operator_token.pk,
        "token": invitation_token(orgs.a3),
        "api_token_revoke.pk": own_token.pk,
        "log_detail.pk": LogEntry.objects.filter(contract=orgs.cast.a).latest("seq").pk,
        # A profile (no AMAPI call: it is published only when asked) and its first version.
        "profile_id": profile_create(
            actor=Actor(account=a1), contract=orgs.cast.a, name="P", policy=initial_policy()
        ).pk,
        "number": 1,
        "device_id": make_device(orgs.tokyo, user=orgs.sato, serial="FUZZ-1").pk,
        **command_ids(orgs),
        "webhook_id": Webhook.objects.create(
            contract=orgs.cast.a, url="https://93.184.216.34/hook", secret="whsec_fuzz"
        ).pk,
    }


def command_ids(orgs: OrgCast) -> dict[str, Any]:
    """A device in 東京 with a command and a bulk job (no AMAPI call: sending is work)."""
    from mamori.android.commands import services as commands
    from tests.android.command_devices import make_device

    actor = Actor(account=orgs.cast.a1)
    apps = {"applicationReports": [{"packageName": "com.example.mail"}]}
    device = make_device(orgs.tokyo, report=apps)
    command = commands.command_issue(actor=actor, device=device, code="lock")
    job = commands.command_job_create(
        actor=actor, contract=orgs.cast.a, code="lock", devices=[device]
    )
    return {
        "device_id": device.pk,
        "code": "start_lost_mode",
        "command_id": command.pk,
        "job_id": job.pk,
    }


# The forms of each page, read once per URL.
TARGETS: dict[str, list[Form]] = {}


def targets_of(client: Client, url: str) -> list[Form]:
    """What to send to a page: each form it shows that comes back to it (a page without one,
    such as an action's URL, is posted to as it is), and a GET with list pages' parameters."""
    if url not in TARGETS:
        TARGETS[url] = _targets_read(client, url)
    return TARGETS[url]


def _targets_read(client: Client, url: str) -> list[Form]:
    page = client.get(url)
    assert page.status_code < 500
    html_page = page.status_code == 200 and not page.streaming
    forms = forms_of(page.content.decode(errors="replace"), url) if html_page else []
    targets = [f for f in forms if f.action == url] or [Form("post", url, {"next": []})]
    return [*targets, Form("get", url, {name: [] for name in QUERY_NAMES})]


def send(client: Client, form: Form, payload: dict[str, Any]) -> int:
    """Send the form in a savepoint rolled back afterwards; the status (streamed to the end)."""
    with transaction.atomic():
        response = getattr(client, form.method)(form.action, payload)
        if response.streaming:
            b"".join(response.streaming_content)  # a failure while streaming counts too
        transaction.set_rollback(True)
    return response.status_code


@pytest.fixture
def client(orgs: OrgCast) -> Client:
    return logged_in(orgs.cast.a1)


def _payload(data: st.DataObject, fields: dict[str, list[str]]) -> dict[str, Any]:
    """The form as filled in, with some fields (at least one) replaced or left out."""
    names = sorted(fields)
    changed = (
        set(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))) if names else set()
    )
    values: dict[str, Any] = {name: fields[name] for name in names if name not in changed}
    for name in changed:
        chosen = data.draw(st.none() | VALUES | st.lists(VALUES, min_size=2, max_size=3))
        if chosen is not None:
            values[name] = chosen
    return values


@pytest.mark.parametrize("name", PAGES)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_to_a_panel_page_is_a_server_error(
    name: str, ids: dict[str, Any], client: Client, data: st.DataObject
) -> None:
    form = data.draw(st.sampled_from(targets_of(client, url_of(name, ids))))
    payload = _payload(data, form.fields)
    for file_field in form.files:
        content = data.draw(st.binary(max_size=200) | st.just(b"name\n" + b"x" * 300 + b"\n"))
        payload[file_field] = SimpleUploadedFile("upload.csv", content)
    status = send(client, form, payload)
    assert status < 500, (form.method, form.action, payload)


# Values past the limits every field has somewhere: one past each column length the models use
# (64, 100, 150, 200, 254), a number too large for any integer column (a formset's count too),
# impossible times.
BOUNDARY = [
    *("é" * n for n in (65, 101, 151, 201, 255)),
    "9" * 30,
    "0001-01-01 00:00:00",
    "2026-04-01T09:00+16:00",
]


@pytest.mark.parametrize("name", PAGES)
def test_each_field_of_each_form_past_its_limits(
    name: str, ids: dict[str, Any], client: Client
) -> None:
    for form in targets_of(client, url_of(name, ids))[:-1]:  # the page's own forms
        for field in form.fields:
            for value in BOUNDARY:
                payload = {**form.fields, field: value}
                status = send(client, form, payload)
                assert status < 500, (form.method, form.action, field, value[:20])


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
