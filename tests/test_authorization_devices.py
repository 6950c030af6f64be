"""The authorization matrix of the Devices tab: every page and endpoint × every privilege.

Actors as in ``tests/test_authorization.py``: system (A1), department (A2: 営業部 and 東京),
operator (A3, in 営業部: devices.view only), custom (A4: users.* only, in 開発部), other (B1).
Out of scope is a 404, in scope without the permission a 403. A denied case changes nothing."""

from __future__ import annotations

import pytest

from mamori.android.models import Device
from mamori.audit.models import LogEntry
from mamori.core.models import Work
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, logged_in
from tests.test_authorization_android import actor_of, fill

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "other")  # as actor_of names them

PAGES = [
    ("the list", "get", "/alpha/devices/", None, (OK, OK, OK, 403, 404)),
    ("the CSV", "get", "/alpha/devices/export.csv", None, (OK, OK, OK, 403, 404)),
    ("a device in 東京", "get", "/alpha/devices/{tokyo_device}/", None, (OK, OK, OK, 404, 404)),
    ("a device in 開発部", "get", "/alpha/devices/{dev_device}/", None, (OK, 404, 404, 403, 404)),
    (
        "move form of a device in 東京",
        "get",
        "/alpha/devices/{tokyo_device}/move/",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "move a device in 東京 to 営業部",
        "post",
        "/alpha/devices/{tokyo_device}/move/",
        {"organization": "{sales}"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "move a device in 開発部",
        "post",
        "/alpha/devices/{dev_device}/move/",
        {"organization": "{dev}"},
        (OK, 404, 404, 403, 404),
    ),
    (
        "note of a device in 東京",
        "post",
        "/alpha/devices/{tokyo_device}/note/",
        {"note": "棚 2"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "remove a device in 東京",
        "post",
        "/alpha/devices/{tokyo_device}/remove/",
        {"confirm": "TOKYO-1"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "remove a device in 開発部",
        "post",
        "/alpha/devices/{dev_device}/remove/",
        {"confirm": "DEV-1"},
        (OK, 404, 404, 403, 404),
    ),
]

API_CASES = [
    ("the list", "get", "/api/v1/devices", None, (OK, OK, OK, 403, OK)),
    ("the CSV", "get", "/api/v1/devices/export", None, (OK, OK, OK, 403, OK)),
    ("a device in 東京", "get", "/api/v1/devices/{tokyo_device}", None, (OK, OK, OK, 404, 404)),
    ("a device in 開発部", "get", "/api/v1/devices/{dev_device}", None, (OK, 404, 404, 403, 404)),
    (
        "move a device in 東京",
        "patch",
        "/api/v1/devices/{tokyo_device}",
        {"organization_id": "{sales}", "note": "x"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "move a device in 東京 to 開発部",
        "patch",
        "/api/v1/devices/{tokyo_device}",
        {"organization_id": "{dev}"},
        (OK, 404, 403, 404, 404),
    ),
    (
        "remove a device in 東京",
        "delete",
        "/api/v1/devices/{tokyo_device}",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "remove a device in 開発部",
        "delete",
        "/api/v1/devices/{dev_device}",
        None,
        (OK, 404, 404, 403, 404),
    ),
]


@pytest.fixture
def world(orgs: OrgCast) -> dict[str, int]:
    return {
        "tokyo_device": make_device(orgs.tokyo, user=orgs.sato, serial="TOKYO-1").pk,
        "dev_device": make_device(orgs.dev, user=orgs.suzuki, serial="DEV-1").pk,
        "sales": orgs.sales.pk,
        "dev": orgs.dev.pk,
    }


def state(orgs: OrgCast) -> tuple:
    a = orgs.cast.a
    return (
        list(
            Device.objects.filter(contract=a)
            .order_by("pk")
            .values_list("pk", "organization_id", "user_id", "note", "deleted_at")
        ),
        LogEntry.objects.filter(contract=a).count(),
        Work.objects.count(),
    )


def check(response, expected, before, orgs) -> None:
    if expected == OK:
        assert response.status_code in (200, 204, 302), response.content[:800]
        form = (response.context or {}).get("form") if hasattr(response, "context") else None
        assert form is None or not form.errors, form.errors
        return
    assert response.status_code == expected, response.content[:500]
    assert state(orgs) == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), PAGES, ids=[c[0] for c in PAGES]
)
def test_device_pages(
    orgs: OrgCast, world: dict, actor: str, case, method, path, body, expected
) -> None:
    client = logged_in(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**world)
    response = client.post(url, fill(body, world) or {}) if method == "post" else client.get(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_device_api(
    orgs: OrgCast, world: dict, actor: str, case, method, path, body, expected
) -> None:
    client = api_client(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**world)
    if method == "patch":
        response = client.patch(url, fill(body, world), content_type="application/json")
    else:
        response = getattr(client, method)(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


def test_the_device_page_shows_only_the_actions_the_account_may_take(
    orgs: OrgCast, world: dict
) -> None:
    url = "/alpha/devices/{tokyo_device}/".format(**world)
    system = logged_in(orgs.cast.a1).get(url).content.decode()
    operator = logged_in(orgs.a3).get(url).content.decode()
    for marker in ('id="device-move"', 'id="device-note"', 'id="device-remove"'):
        assert marker in system and marker not in operator
    # The operator cannot read the operation log: no log card at all.
    assert 'id="device-log"' in system and 'id="device-log"' not in operator
