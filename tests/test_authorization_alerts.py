"""The authorization matrix of the alerts: every page and endpoint × every privilege.

Actors as in ``tests/test_authorization.py``: system (A1), department (A2: 営業部 and 東京),
operator (A3, in 営業部: alerts.view), custom (A4: users.* only, in 開発部), other (B1). Out of
scope is a 404, in scope without the permission a 403; the alert about the enterprise (no
organization) is only for accounts of the whole contract. A denied case changes nothing."""

from __future__ import annotations

import pytest

from mamori.alerts.models import Alert, AlertKind, AlertSettings
from mamori.audit.models import LogEntry
from tests.alerts_data import alert_of, unbound_alert
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, logged_in
from tests.test_authorization_android import actor_of

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "other")
SETTINGS = {
    "mail_immediately": ["left_management"],
    "caution_hours": 12,
    "warning_hours": 48,
    "non_compliance_grace_minutes": 0,
    "summary_hour": 9,
    "summary_timezone": "Asia/Tokyo",
}
FORM = {**SETTINGS, "mail_immediately": "left_management"}

# (door, case, method, path, body, expected for each of ACTORS)
CASES = [
    ("page", "the list", "get", "/alpha/devices/alerts/", None, (OK, OK, OK, 403, 404)),
    ("page", "an alert in 東京", "get", "/alpha/devices/alerts/{tokyo}/", None, (OK, OK, OK, 404, 404)),
    ("page", "an alert in 開発部", "get", "/alpha/devices/alerts/{dev}/", None, (OK, 404, 404, 403, 404)),
    ("page", "the enterprise's alert", "get", "/alpha/devices/alerts/{unbound}/", None, (OK, 404, 404, 404, 404)),
    ("page", "the alerts of a device in 東京", "get", "/alpha/devices/alerts/?device={tokyo_device}", None, (OK, OK, OK, 403, 404)),
    ("page", "the settings", "get", "/alpha/settings/alerts/", None, (OK, 403, 403, 403, 404)),
    ("page", "save the settings", "post", "/alpha/settings/alerts/", FORM, (OK, 403, 403, 403, 404)),
    ("api", "the list", "get", "/api/v1/alerts", None, (OK, OK, OK, 403, OK)),
    ("api", "an alert in 東京", "get", "/api/v1/alerts/{tokyo}", None, (OK, OK, OK, 404, 404)),
    ("api", "an alert in 開発部", "get", "/api/v1/alerts/{dev}", None, (OK, 404, 404, 403, 404)),
    ("api", "the enterprise's alert", "get", "/api/v1/alerts/{unbound}", None, (OK, 404, 404, 404, 404)),
    ("api", "the alerts of a device in 東京", "get", "/api/v1/alerts?device_id={tokyo_device}", None, (OK, OK, OK, 403, 404)),
    ("api", "the alerts of a device in 開発部", "get", "/api/v1/alerts?device_id={dev_device}", None, (OK, 404, 404, 403, 404)),
    ("api", "the settings", "get", "/api/v1/settings/alerts", None, (OK, 403, 403, 403, OK)),
    ("api", "change the settings", "put", "/api/v1/settings/alerts", SETTINGS, (OK, 403, 403, 403, OK)),
]  # fmt: skip


@pytest.fixture
def world(orgs: OrgCast) -> dict[str, int]:
    tokyo = alert_of(make_device(orgs.tokyo, user=orgs.sato))
    dev = alert_of(make_device(orgs.dev, user=orgs.suzuki))
    left = AlertKind.LEFT_MANAGEMENT
    return {
        "tokyo_left": alert_of(make_device(orgs.tokyo, serial="LEFT-TOKYO"), kind=left).pk,
        "dev_left": alert_of(make_device(orgs.dev, serial="LEFT-DEV"), kind=left).pk,
        "tokyo": tokyo.pk,
        "dev": dev.pk,
        "unbound": unbound_alert(orgs.cast.a.pk).pk,
        "tokyo_device": tokyo.device_id,
        "dev_device": dev.device_id,
    }


def state(orgs: OrgCast) -> tuple:
    a = orgs.cast.a
    return (
        list(
            Alert.objects.filter(contract=a)
            .order_by("pk")
            .values_list("pk", "level", "cleared_at", "closed_by")
        ),
        list(AlertSettings.objects.filter(contract=a).values_list("caution_hours")),
        LogEntry.objects.filter(contract=a).count(),
    )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("door", "case", "method", "path", "body", "expected"),
    CASES,
    ids=[f"{c[0]}: {c[1]}" for c in CASES],
)
def test_alerts_matrix(
    orgs: OrgCast, world: dict, actor: str, door, case, method, path, body, expected
) -> None:
    account = actor_of(orgs, actor)
    client = logged_in(account) if door == "page" else api_client(account)
    before = state(orgs)
    url = path.format(**world)
    if method == "get":
        response = client.get(url)
    elif door == "page":
        response = client.post(url, body)
    else:
        response = client.put(url, body, content_type="application/json")
    wanted = expected[ACTORS.index(actor)]
    if wanted != OK:
        assert response.status_code == wanted, response.content[:500]
        assert state(orgs) == before
    elif method == "get":
        assert response.status_code == 200, response.content[:500]
    else:  # saved: a redirect from the page, the settings from the API
        assert response.status_code == (302 if door == "page" else 200), response.content[:500]
        settings = AlertSettings.objects.get(contract=account.contract)
        assert (settings.caution_hours, settings.warning_hours) == (12, 48)


def test_a_department_administrator_lists_only_the_alerts_of_its_organizations(
    orgs: OrgCast, world: dict
) -> None:
    ids = [a["id"] for a in api_client(orgs.a2).get("/api/v1/alerts").json()["items"]]
    assert sorted(ids) == sorted([world["tokyo"], world["tokyo_left"]])
    everything = [a["id"] for a in api_client(orgs.cast.a1).get("/api/v1/alerts").json()["items"]]
    assert sorted(everything) == sorted(
        world[k] for k in ("tokyo", "dev", "unbound", "tokyo_left", "dev_left")
    )
    page = logged_in(orgs.a2).get("/alpha/devices/alerts/").content.decode()
    assert f'data-alert="{world["tokyo"]}"' in page
    assert f'data-alert="{world["dev"]}"' not in page
    assert f'data-alert="{world["unbound"]}"' not in page
    # A device of 開発部 as a filter is one it cannot see: left out, said, not an error page.
    filtered = logged_in(orgs.a2).get(f"/alpha/devices/alerts/?device={world['dev_device']}")
    assert filtered.status_code == 200
    html = filtered.content.decode()
    assert 'id="alert-filters-unread"' in html and f'data-alert="{world["dev"]}"' not in html


# (door, case, alert, expected for each of ACTORS): closing an alert that cannot clear by itself
CLOSE = [
    ("page", "close an alert in 東京", "tokyo_left", (OK, OK, 403, 404, 404)),
    ("page", "close an alert in 開発部", "dev_left", (OK, 404, 404, 403, 404)),
    ("api", "close an alert in 東京", "tokyo_left", (OK, OK, 403, 404, 404)),
    ("api", "close an alert in 開発部", "dev_left", (OK, 404, 404, 403, 404)),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("door", "case", "alert", "expected"), CLOSE, ids=[c[1] + f" ({c[0]})" for c in CLOSE]
)
def test_alerts_close_matrix(
    orgs: OrgCast, world: dict, actor: str, door: str, case: str, alert: str, expected: tuple
) -> None:
    account = actor_of(orgs, actor)
    client = logged_in(account) if door == "page" else api_client(account)  # a token: logged
    before = state(orgs)
    if door == "page":
        response = client.post(f"/alpha/devices/alerts/{world[alert]}/close/")
    else:
        response = client.post(f"/api/v1/alerts/{world[alert]}/close")
    wanted = expected[ACTORS.index(actor)]
    if wanted != OK:
        assert response.status_code == wanted, response.content[:500]
        assert state(orgs) == before
        return
    assert response.status_code == (302 if door == "page" else 200), response.content[:500]
    closed = Alert.objects.get(pk=world[alert])
    assert (closed.cleared_at is not None, closed.closed_by_id) == (True, account.pk)
