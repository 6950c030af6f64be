"""The device command matrix: every command × every privilege, by page and by API, and the
other command pages and endpoints. System and Department administrators may issue every
command within their organizations; Operators lock, reboot and start/stop lost mode only;
Custom administrators what their scheme grants. A refused command stores and sends nothing."""

from __future__ import annotations

from typing import Any

import pytest

from mamori.accounts.models import Account, PermissionScheme
from mamori.android.commands import services
from mamori.android.models import Command, CommandJob
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.conftest import OrgCast, api_client, logged_in, make_account, make_user, run_work

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "scheme", "other")
OPERATOR_COMMANDS = {"lock", "reboot", "start_lost_mode", "stop_lost_mode"}
APPS = [{"packageName": "com.example.mail", "displayName": "Mail"}]
# code → (device kind, API body, form body); the device's serial is SNAUTH.
COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "lock": ("fully_managed", {}),
    "reset_password": ("fully_managed", {"new_password": "Abcdef12", "confirmation": "Abcdef12"}),
    "reboot": ("fully_managed", {}),
    "start_lost_mode": ("fully_managed", {"message": "拾った方はご連絡ください"}),
    "stop_lost_mode": ("fully_managed", {}),
    "clear_app_data": ("fully_managed", {"package_names": ["com.example.mail"]}),
    "relinquish_ownership": ("company_work_profile", {}),
    "wipe": ("fully_managed", {"confirm_serial": "SNAUTH"}),
}


def expected(actor: str, code: str) -> object:
    if actor == "other":
        return 404
    if actor == "custom":  # users.* only, and the device is outside its organization
        return 404
    if actor == "operator":
        return OK if code in OPERATOR_COMMANDS else 403
    if actor == "scheme":  # devices.view and commands.lock only, scoped to 東京
        return OK if code == "lock" else 403
    return OK


def actor_of(orgs: OrgCast, name: str) -> Account:
    if name == "scheme":
        scheme = PermissionScheme.objects.create(
            contract=orgs.cast.a, name="Lockers", permissions=["devices.view", "commands.lock"]
        )
        return make_account(
            make_user(orgs.tokyo, "錠 五郎", "goro@alpha.example", "ジョウ ゴロウ"),
            "goro",
            "custom_admin",
            scope=(orgs.tokyo,),
            scheme=scheme,
        )
    return {
        "system": orgs.cast.a1,
        "department": orgs.a2,
        "operator": orgs.a3,
        "custom": orgs.a4,
        "other": orgs.cast.b1,
    }[name]


def state(orgs: OrgCast) -> tuple:
    orgs.cast.a.refresh_from_db()
    return (
        orgs.cast.a.command_expiry_days,
        list(Command.objects.values_list("pk", "status", "cancel_requested_at")),
        list(CommandJob.objects.values_list("pk", "cancelled_at")),
        LogEntry.objects.filter(contract=orgs.cast.a, action__startswith="command").count(),
    )


def _device(orgs: OrgCast, code: str) -> Any:
    device = make_device(
        orgs.tokyo, kind=COMMANDS[code][0], serial="SNAUTH", report={"applicationReports": APPS}
    )
    if code == "stop_lost_mode":  # only a device in lost mode can leave it
        device.applied_state = "LOST"
        device.save(update_fields=["applied_state"])
    return device


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("code", list(COMMANDS))
def test_each_command_by_api_for_each_privilege(
    orgs: OrgCast, fake_commands: FakeCommands, actor: str, code: str
) -> None:
    device = _device(orgs, code)
    client = api_client(actor_of(orgs, actor))
    before = state(orgs)
    body = {"type": code.upper(), **COMMANDS[code][1]}
    response = client.post(
        f"/api/v1/devices/{device.pk}/commands", body, content_type="application/json"
    )
    want = expected(actor, code)
    if want == OK:
        assert response.status_code == 201, response.content
        assert response.json()["status"] in ("registered", "sent")
        return
    assert response.status_code == want, response.content
    run_work()
    assert state(orgs) == before and fake_commands.calls == []


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("code", list(COMMANDS))
def test_each_command_page_for_each_privilege(
    orgs: OrgCast, fake_commands: FakeCommands, actor: str, code: str
) -> None:
    device = _device(orgs, code)
    client = logged_in(actor_of(orgs, actor))
    before = state(orgs)
    url = f"/alpha/devices/{device.pk}/commands/{code}/"
    shown, posted = client.get(url), client.post(url, COMMANDS[code][1])
    want = expected(actor, code)
    if want == OK:
        assert shown.status_code == 200
        assert posted.status_code == 302, posted.context["form"].errors if posted.context else ""
        return
    assert (shown.status_code, posted.status_code) == (want, want)
    run_work()
    assert state(orgs) == before and fake_commands.calls == []


def world(orgs: OrgCast) -> dict[str, int]:
    actor = Actor(account=orgs.cast.a1)
    device = make_device(orgs.tokyo, serial="SNAUTH")
    command = services.command_issue(
        actor=actor, device=device, code="wipe", values={"confirm_serial": "SNAUTH"}
    )
    job = services.command_job_create(
        actor=actor, contract=orgs.cast.a, code="lock", devices=[make_device(orgs.tokyo)]
    )
    return {"device": device.pk, "command": command.pk, "job": job.pk, "tokyo": orgs.tokyo.pk}


# (case, method, path, expected per actor in ACTORS order)
OTHER_CASES = [
    ("command settings", "get", "/alpha/settings/android/commands/", (OK, 403, 403, 403, 403, 404)),
    ("change them", "post", "/alpha/settings/android/commands/", (OK, 403, 403, 403, 403, 404)),
    (
        "api: command settings",
        "get",
        "/api/v1/android/command-settings",
        (OK, 403, 403, 403, 403, OK),
    ),
    ("a command", "get", "/alpha/devices/commands/{command}/", (OK, OK, OK, 404, OK, 404)),
    (
        "cancel a wipe",
        "post",
        "/alpha/devices/commands/{command}/cancel/",
        (OK, OK, 403, 404, 403, 404),
    ),
    ("a bulk job", "get", "/alpha/devices/jobs/{job}/", (OK, 404, 404, 403, 404, 404)),
    (
        "cancel a bulk job",
        "post",
        "/alpha/devices/jobs/{job}/cancel/",
        (OK, 404, 404, 403, 404, 404),
    ),
    (
        "bulk page",
        "get",
        "/alpha/devices/commands/bulk/?organization={tokyo}&command=lock",
        # without the command's permission at all, a selection is refused before it is read
        (OK, OK, OK, 403, OK, 404),
    ),
    (
        "bulk wipe page",
        "get",
        "/alpha/devices/commands/bulk/?device={device}&command=wipe",
        (OK, OK, 403, 403, 403, 404),
    ),
    ("api: a command", "get", "/api/v1/commands/{command}", (OK, OK, OK, 404, OK, 404)),
    (
        "api: cancel a wipe",
        "post",
        "/api/v1/commands/{command}/cancel",
        (OK, OK, 403, 404, 403, 404),
    ),
    (
        "api: device commands",
        "get",
        "/api/v1/devices/{device}/commands",
        (OK, OK, OK, 404, OK, 404),
    ),
    ("api: a job", "get", "/api/v1/jobs/{job}", (OK, 404, 404, 403, 404, 404)),
    ("api: cancel a job", "post", "/api/v1/jobs/{job}/cancel", (OK, 404, 404, 403, 404, 404)),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "wants"), OTHER_CASES, ids=[c[0] for c in OTHER_CASES]
)
def test_command_pages_and_endpoints_for_each_privilege(
    orgs: OrgCast,
    fake_commands: FakeCommands,
    actor: str,
    case: str,
    method: str,
    path: str,
    wants: tuple,
) -> None:
    ids = world(orgs)
    account = actor_of(orgs, actor)
    client = api_client(account) if path.startswith("/api/") else logged_in(account)
    before = state(orgs)
    url = path.format(**ids)
    if method == "post" and url.startswith("/api/"):
        response = client.post(url, content_type="application/json")
    elif method == "post":
        response = client.post(url, {"command_expiry_days": 5})
    else:
        response = client.get(url)
    want = wants[ACTORS.index(actor)]
    if want == OK:
        assert response.status_code in (200, 201, 202, 302), response.content[:300]
        return
    assert response.status_code == want, response.content[:300]
    assert state(orgs) == before


def test_bulk_by_api_for_each_privilege(orgs: OrgCast, fake_commands: FakeCommands) -> None:
    devices = [make_device(orgs.tokyo).pk for _ in range(2)]
    wipe = {"type": "WIPE", "device_ids": devices, "confirm_count": 2}
    lock = {"type": "LOCK", "organization_id": orgs.sales.pk}
    results = {}
    for actor in ACTORS:
        client = api_client(actor_of(orgs, actor))
        results[actor] = tuple(
            client.post(
                "/api/v1/devices/commands", body, content_type="application/json"
            ).status_code
            for body in (lock, wipe)
        )
    assert results == {
        "system": (201, 201),
        "department": (201, 201),
        "operator": (201, 403),
        "custom": (403, 403),  # no command permission at all: refused before the selection
        "scheme": (404, 403),  # 営業部 is above 東京, its organization
        "other": (404, 404),
    }


__all__ = ["fake_commands"]
