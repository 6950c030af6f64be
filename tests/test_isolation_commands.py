"""Contract B never sees or commands contract A's devices: every command page and endpoint,
given A's device, command or bulk job, is a 404, and nothing is stored or sent."""

from __future__ import annotations

import pytest

from mamori.android.commands import services
from mamori.android.models import Command, CommandJob
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.directory.models import Organization
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.conftest import Cast, api_client, logged_in

pytestmark = pytest.mark.django_db

PANEL = [
    ("command_settings", "get", "/alpha/settings/android/commands/"),
    ("command_settings", "post", "/alpha/settings/android/commands/"),
    ("device_command", "get", "/bravo/devices/{a_device}/commands/lock/"),
    ("device_command", "post", "/bravo/devices/{a_device}/commands/lock/"),
    ("device_command", "post", "/bravo/devices/{a_device}/commands/wipe/"),
    ("command_detail", "get", "/bravo/devices/commands/{a_command}/"),
    ("command_cancel", "post", "/bravo/devices/commands/{a_command}/cancel/"),
    ("device_bulk_command", "get", "/bravo/devices/commands/bulk/?device={a_device}&command=lock"),
    ("device_bulk_command", "post", "/bravo/devices/commands/bulk/?device={a_device}&command=lock"),
    (
        "device_bulk_command",
        "post",
        "/bravo/devices/commands/bulk/?organization={a_organization}&command=lock",
    ),
    ("command_job_detail", "get", "/bravo/devices/jobs/{a_job}/"),
    ("command_job_cancel", "post", "/bravo/devices/jobs/{a_job}/cancel/"),
]
API = [
    ("get", "/api/v1/devices/{a_device}/commands"),
    ("post", "/api/v1/devices/{a_device}/commands"),
    ("get", "/api/v1/commands/{a_command}"),
    ("post", "/api/v1/commands/{a_command}/cancel"),
    ("get", "/api/v1/jobs/{a_job}"),
    ("post", "/api/v1/jobs/{a_job}/cancel"),
    ("post", "/api/v1/devices/commands"),
]
API_OWN_ONLY = [
    ("get", "/api/v1/android/command-settings"),
    ("put", "/api/v1/android/command-settings"),
]


@pytest.fixture
def a_objects(cast: Cast, fake_commands: FakeCommands) -> dict[str, int]:
    root = Organization.objects.get(contract=cast.a, parent=None)
    device = make_device(root)
    make_device(Organization.objects.get(contract=cast.b, parent=None))  # B has devices too
    actor = Actor(account=cast.a1)
    command = services.command_issue(actor=actor, device=device, code="lock")
    job = services.command_job_create(actor=actor, contract=cast.a, code="lock", devices=[device])
    return {
        "a_device": device.pk,
        "a_command": command.pk,
        "a_job": job.pk,
        "a_organization": root.pk,
    }


def snapshot(cast: Cast) -> tuple:
    return (
        list(Command.objects.values_list("pk", "status", "cancel_requested_at")),
        list(CommandJob.objects.values_list("pk", "cancelled_at")),
        LogEntry.objects.filter(contract=cast.a).count(),
        Work.objects.count(),
    )


@pytest.mark.parametrize(("name", "method", "path"), [c for c in PANEL if "{a_" in c[2]])
def test_contract_b_session_gets_404_on_contract_a_commands(
    cast: Cast, a_objects: dict, fake_commands: FakeCommands, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    data = {"confirm_serial": "x"}
    response = getattr(client, method)(path.format(**a_objects), data if method == "post" else None)
    assert response.status_code == 404
    assert snapshot(cast) == before and fake_commands.calls == []


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a_commands(
    cast: Cast, a_objects: dict, fake_commands: FakeCommands, method: str, path: str
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    url = path.format(**a_objects)
    body: dict = {"type": "LOCK"}  # each body as its endpoint takes it (no unknown field)
    if path == "/api/v1/devices/commands":
        body["device_ids"] = [a_objects["a_device"]]
    if method == "post":
        response = client.post(url, body, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before and fake_commands.calls == []


def test_contract_b_sets_and_reads_only_its_own_command_expiry(cast: Cast, a_objects: dict) -> None:
    client = api_client(cast.b1)
    changed = client.put(
        "/api/v1/android/command-settings",
        {"command_expiry_days": 3},
        content_type="application/json",
    )
    assert changed.json() == {"command_expiry_days": 3}
    cast.a.refresh_from_db()
    cast.b.refresh_from_db()
    assert (cast.a.command_expiry_days, cast.b.command_expiry_days) == (7, 3)
    assert (
        logged_in(cast.b1)
        .post("/alpha/settings/android/commands/", {"command_expiry_days": 1})
        .status_code
        == 404
    )
    cast.a.refresh_from_db()
    assert cast.a.command_expiry_days == 7


def test_contract_b_cannot_command_contract_as_organization(cast: Cast, a_objects: dict) -> None:
    before = snapshot(cast)
    response = api_client(cast.b1).post(
        "/api/v1/devices/commands",
        {"type": "LOCK", "organization_id": a_objects["a_organization"]},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert snapshot(cast) == before


__all__ = ["fake_commands"]
