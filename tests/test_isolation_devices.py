"""Contract B never sees or touches contract A's devices: every Devices page and endpoint, tried
with B's session or token on A's device (or filtered by A's organization), is a 404 and changes
nothing; B's list, CSV and API list hold none of A's devices."""

from __future__ import annotations

import pytest

from mamori.android.models import Device
from mamori.audit.models import LogEntry
from mamori.core.models import Work
from mamori.directory.models import Organization
from tests.android.devices import make_device
from tests.conftest import Cast, api_client, logged_in

pytestmark = pytest.mark.django_db

PANEL = [
    ("devices_export", "get", "/alpha/devices/export.csv"),
    ("devices_export", "get", "/bravo/devices/export.csv?org={a_organization}"),
    ("device_detail", "get", "/bravo/devices/{a_device}/"),
    ("device_move", "get", "/bravo/devices/{a_device}/move/"),
    ("device_move", "post", "/bravo/devices/{a_device}/move/"),
    ("device_note", "post", "/bravo/devices/{a_device}/note/"),
    ("device_remove", "post", "/bravo/devices/{a_device}/remove/"),
]
API = [
    ("get", "/api/v1/devices/{a_device}"),
    ("patch", "/api/v1/devices/{a_device}"),
    ("delete", "/api/v1/devices/{a_device}"),
    ("get", "/api/v1/devices?organization_id={a_organization}"),
    ("get", "/api/v1/devices/export?organization_id={a_organization}"),
]
API_OWN_ONLY = [
    ("get", "/api/v1/devices"),
    ("get", "/api/v1/devices/export"),
]


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    root = Organization.objects.get(contract=cast.a, parent=None)
    device = make_device(root, user=cast.a1.user, serial="ALPHA-SERIAL")
    return {"a_device": device.pk, "a_organization": root.pk}


def snapshot(cast: Cast) -> tuple:
    return (
        list(
            Device.objects.filter(contract=cast.a).values_list(
                "pk", "organization_id", "user_id", "note", "deleted_at", "applied_state"
            )
        ),
        LogEntry.objects.filter(contract=cast.a).count(),
        Work.objects.count(),
    )


@pytest.mark.parametrize(("name", "method", "path"), [c for c in PANEL if "{a_" in c[2]])
def test_contract_b_session_gets_404_on_contract_a_devices(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    data = {
        "organization": a_objects["a_organization"],
        "note": "x",
        "confirm": "ALPHA-SERIAL",
    }
    url = path.format(**a_objects)
    response = client.post(url, data) if method == "post" else client.get(url)
    assert response.status_code == 404
    assert snapshot(cast) == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a_devices(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    url = path.format(**a_objects)
    if method == "patch":
        response = client.patch(url, {"note": "x"}, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before


def test_contract_b_sees_none_of_contract_a_devices(cast: Cast, a_objects: dict) -> None:
    make_device(Organization.objects.get(contract=cast.b, parent=None), serial="BRAVO-SERIAL")
    client = api_client(cast.b1)
    assert [d["serial_number"] for d in client.get("/api/v1/devices").json()["items"]] == [
        "BRAVO-SERIAL"
    ]
    body = b"".join(client.get("/api/v1/devices/export").streaming_content)
    assert b"BRAVO-SERIAL" in body and b"ALPHA-SERIAL" not in body
    session = logged_in(cast.b1)
    page = session.get("/bravo/devices/").content.decode()
    assert "BRAVO-SERIAL" in page and "ALPHA-SERIAL" not in page
    body = b"".join(session.get("/bravo/devices/export.csv").streaming_content)
    assert b"BRAVO-SERIAL" in body and b"ALPHA-SERIAL" not in body
    # A's device named by B in a selection is as unknown as one that never existed.
    body = b"".join(
        session.get(f"/bravo/devices/export.csv?device={a_objects['a_device']}").streaming_content
    )
    assert b"ALPHA-SERIAL" not in body
    # A's user named by B as a device's new user: refused.
    own = Device.objects.get(serial_number="BRAVO-SERIAL")
    moved = client.patch(
        f"/api/v1/devices/{own.pk}", {"user_id": cast.a1.user_id}, content_type="application/json"
    )
    assert moved.status_code == 404
