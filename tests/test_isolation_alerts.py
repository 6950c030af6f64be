"""Contract B never sees or touches contract A's alerts or alert settings: every alert page and
endpoint, tried with B's session or token on A's alert (or the API filtered by A's organization
or device), is a 404 and changes nothing; B's list page filtered by A's organization or device
leaves the filter out as for an id that does not exist; B's lists hold none of A's alerts; B's
settings are B's."""

from __future__ import annotations

import re

import pytest

from mamori.alerts.models import Alert, AlertKind, AlertSettings
from mamori.audit.models import LogEntry
from mamori.directory.models import Organization
from tests.alerts_data import alert_of
from tests.android.devices import make_device
from tests.conftest import Cast, api_client, logged_in

pytestmark = pytest.mark.django_db

PANEL = [
    ("alerts", "get", "/alpha/devices/alerts/"),
    ("alert_detail", "get", "/bravo/devices/alerts/{a_alert}/"),
    ("alerts_settings", "get", "/alpha/settings/alerts/"),
    ("alert_close", "post", "/bravo/devices/alerts/{a_alert}/close/"),
]
API = [
    ("get", "/api/v1/alerts/{a_alert}"),
    ("get", "/api/v1/alerts?organization_id={a_organization}"),
    ("get", "/api/v1/alerts?device_id={a_device}"),
    ("post", "/api/v1/alerts/{a_alert}/close"),
]
API_OWN_ONLY = [
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/settings/alerts"),
    ("put", "/api/v1/settings/alerts"),
]


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    root = Organization.objects.get(contract=cast.a, parent=None)
    # Left management: an alert a person may close (the close cases must be refused for B).
    alert = alert_of(make_device(root, serial="ALPHA-SERIAL"), kind=AlertKind.LEFT_MANAGEMENT)
    return {"a_alert": alert.pk, "a_organization": root.pk, "a_device": alert.device_id}


def snapshot(cast: Cast) -> tuple:
    return (
        list(Alert.objects.filter(contract=cast.a).values_list("pk", "level", "cleared_at")),
        list(AlertSettings.objects.filter(contract=cast.a).values_list("caution_hours")),
        LogEntry.objects.filter(contract=cast.a).count(),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a_alerts(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    before = snapshot(cast)
    response = getattr(logged_in(cast.b1), method)(path.format(**a_objects))
    assert response.status_code == 404
    assert snapshot(cast) == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a_alerts(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    before = snapshot(cast)
    response = getattr(api_client(cast.b1), method)(path.format(**a_objects))
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before


def test_contract_b_sees_only_its_own_alerts_and_settings(cast: Cast, a_objects: dict) -> None:
    own = alert_of(make_device(Organization.objects.get(contract=cast.b, parent=None)))
    client = api_client(cast.b1)
    assert [a["id"] for a in client.get("/api/v1/alerts").json()["items"]] == [own.pk]
    page = logged_in(cast.b1).get("/bravo/devices/alerts/").content.decode()
    assert f'data-alert="{own.pk}"' in page and f'data-alert="{a_objects["a_alert"]}"' not in page
    before = snapshot(cast)
    values = client.get("/api/v1/settings/alerts").json() | {"caution_hours": 5}
    saved = client.put("/api/v1/settings/alerts", values, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert AlertSettings.objects.get(contract=cast.b).caution_hours == 5
    assert snapshot(cast) == before


def without_csrf(html: str) -> str:
    """The page without its CSRF token (a new one per response)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("name", ["org", "device"])
def test_contract_b_filtering_its_list_by_contract_a_ids_sees_the_same_as_for_a_missing_id(
    cast: Cast, a_objects: dict, name: str
) -> None:
    own = alert_of(make_device(Organization.objects.get(contract=cast.b, parent=None)))
    client = logged_in(cast.b1)
    a_id = a_objects["a_organization" if name == "org" else "a_device"]
    before = snapshot(cast)
    page = client.get(f"/bravo/devices/alerts/?{name}={a_id}")
    missing = client.get(f"/bravo/devices/alerts/?{name}=99999999")
    assert (page.status_code, missing.status_code) == (200, 200)
    text, other = (without_csrf(r.content.decode()) for r in (page, missing))
    assert text == other.replace("99999999", str(a_id))
    assert 'id="alert-filters-unread"' in text
    assert f'data-alert="{own.pk}"' in text and "ALPHA-SERIAL" not in text
    assert snapshot(cast) == before
