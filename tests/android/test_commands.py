"""Device commands: parameters and preconditions checked before anything is sent, the lifecycle
(registered → sent → succeeded / failed / expired / cancelled) with its log entries, one command
at a time per device, a new password that is never stored, cancel before and after sending."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation

from mamori.android.commands import services
from mamori.android.commands.lifecycle import commands_expire, operation_apply
from mamori.android.models import Command, CommandStatus, Profile, ProfileVersion
from mamori.audit.models import LogEntry
from mamori.core.access import OutOfScope
from mamori.core.actor import Actor
from mamori.core.models import Work
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.conftest import OrgCast, logged_in, run_work

pytestmark = pytest.mark.django_db


def issue(account: Any, device: Any, code: str, **values: Any) -> Command:
    return services.command_issue(
        actor=Actor(account=account), device=device, code=code, values=values
    )


def chain(command: Command) -> list[tuple[str, str]]:
    """The command's log entries: (action, who: an account name or "system")."""
    return [
        (e.action, e.actor_account_name or e.actor_kind)
        for e in LogEntry.objects.filter(target_type="command", target_id=str(command.pk)).order_by(
            "seq"
        )
    ]


def test_a_lock_goes_registered_sent_succeeded_with_its_chain_in_the_log(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    command = issue(orgs.cast.a1, device, "lock")
    assert command.status == CommandStatus.REGISTERED and fake_commands.issued == []
    assert run_work("android.command_send") == ["done"]
    command.refresh_from_db()
    assert command.status == CommandStatus.SENT
    name, body = fake_commands.issued[0]
    assert name == device.name and body["type"] == "LOCK"
    # Command.duration is the time left (7 days by default), marked in its nanoseconds.
    assert body["duration"].startswith(("604799.", "604800."))
    assert command.operation_name == f"{device.name}/operations/1"
    done = fake_commands.finish(command.operation_name)
    assert operation_apply(done) is True
    command.refresh_from_db()
    assert (command.status, command.error_code, command.finished_at is not None) == (
        CommandStatus.SUCCEEDED,
        "",
        True,
    )
    assert chain(command) == [
        ("command.issued", orgs.cast.a1.name),
        ("command.sent", "system"),
        ("command.succeeded", "system"),
    ]
    sent = LogEntry.objects.get(action="command.sent", target_id=str(command.pk))
    assert sent.after == {"operation": command.operation_name}
    assert sent.related_type == "device" and sent.related_id == str(device.pk)
    assert sent.organization_id == orgs.tokyo.pk


def test_a_finished_command_stays_as_it_is_and_an_unknown_operation_waits(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    run_work("android.command_send")
    command.refresh_from_db()
    assert operation_apply({"name": "enterprises/X/devices/Y/operations/9", "done": True}) is False
    assert operation_apply({"name": command.operation_name, "done": False}) is True
    command.refresh_from_db()
    assert command.status == CommandStatus.SENT
    fake_commands.finish(command.operation_name, error={"code": 1, "message": "cancelled"})
    assert operation_apply(fake_commands.operations[command.operation_name]) is True
    command.refresh_from_db()
    assert command.status == CommandStatus.CANCELLED
    late = {"name": command.operation_name, "done": True}
    entries = LogEntry.objects.count()
    assert operation_apply(late) is True
    command.refresh_from_db()
    assert command.status == CommandStatus.CANCELLED and LogEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("metadata", "error", "code", "reason"),
    [
        ({"errorCode": "API_LEVEL"}, None, "API_LEVEL", "Android version does not support"),
        (
            {"errorCode": "MANAGEMENT_MODE"},
            {"code": 9, "message": "x"},
            "MANAGEMENT_MODE",
            "how this device is managed",
        ),
        ({}, {"code": 13, "message": "boom"}, "INTERNAL", "(Google: boom)"),
    ],
)
def test_amapi_errors_fail_the_command_in_the_documented_order(
    orgs: OrgCast, fake_commands: FakeCommands, metadata: dict, error: Any, code: str, reason: str
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    run_work("android.command_send")
    command.refresh_from_db()
    fields: dict[str, Any] = {"metadata": metadata}
    if error:
        fields["error"] = error
    operation_apply(fake_commands.finish(command.operation_name, **fields))
    command.refresh_from_db()
    assert (command.status, command.error_code) == (CommandStatus.FAILED, code)
    with translation.override("en"):
        from mamori.android.commands.lifecycle import command_reason

        assert reason in command_reason(command)
    failed = LogEntry.objects.get(action="command.failed", target_id=str(command.pk))
    assert failed.after["error_code"] == code and failed.result == "failure"


def test_lost_mode_with_a_failing_status_is_a_failure_in_plain_words(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    command = issue(orgs.cast.a1, device, "start_lost_mode", phone_number="03-1234-5678")
    run_work("android.command_send")
    body = fake_commands.issued[0][1]
    assert body["startLostModeParams"] == {"lostPhoneNumber": {"defaultMessage": "03-1234-5678"}}
    command.refresh_from_db()
    status = {"startLostModeStatus": {"status": "RESET_PASSWORD_RECENTLY"}}
    operation_apply(fake_commands.finish(command.operation_name, metadata=status))
    command.refresh_from_db()
    assert command.status == CommandStatus.FAILED
    assert command.error_code == "RESET_PASSWORD_RECENTLY"
    assert command.result == status
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/commands/{command.pk}/").content.decode()
    assert (
        "少し前にコマンド「パスワードリセット」でデバイスのパスワードがリセットされており" in page
    )


def test_lost_mode_needs_more_than_the_organization_and_is_prefilled_with_it(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    with pytest.raises(ValidationError) as refused:
        issue(orgs.cast.a1, device, "start_lost_mode", organization="アルファ")
    assert "message" in refused.value.message_dict
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/{device.pk}/commands/start_lost_mode/")
    assert page.context["form"]["organization"].value() == "アルファ株式会社"
    assert Command.objects.count() == 0


def test_clear_app_data_takes_the_devices_apps_and_shows_each_result(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    apps = [
        {"packageName": "com.example.mail", "displayName": "Mail"},
        {"packageName": "com.example.chat", "displayName": "Chat"},
    ]
    device = make_device(orgs.tokyo, report={"applicationReports": apps})
    with pytest.raises(ValidationError):
        issue(orgs.cast.a1, device, "clear_app_data", package_names=["com.other.app"])
    command = issue(
        orgs.cast.a1,
        device,
        "clear_app_data",
        package_names=["com.example.mail", "com.example.chat"],
    )
    run_work("android.command_send")
    command.refresh_from_db()
    results = {
        "com.example.mail": {"clearingResult": "SUCCESS"},
        "com.example.chat": {"clearingResult": "APP_PROTECTED"},
    }
    operation_apply(
        fake_commands.finish(
            command.operation_name, metadata={"clearAppsDataStatus": {"results": results}}
        )
    )
    command.refresh_from_db()
    assert command.status == CommandStatus.FAILED
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/commands/{command.pk}/")
    assert page.context["clearing"] == [
        ("com.example.chat", "保護されたアプリ: 消去されません"),
        ("com.example.mail", "消去済み"),
    ]


@pytest.mark.parametrize(
    ("code", "kind", "api_level"),
    [
        ("reboot", "company_work_profile", 34),
        ("reboot", "fully_managed", 23),
        ("clear_app_data", "fully_managed", 27),
        ("relinquish_ownership", "fully_managed", 34),
        ("relinquish_ownership", "personal", 34),
        ("start_lost_mode", "personal", 34),
        ("stop_lost_mode", "personal", 34),
    ],
)
def test_preconditions_are_refused_before_anything_is_stored_or_sent(
    orgs: OrgCast, fake_commands: FakeCommands, code: str, kind: str, api_level: int
) -> None:
    device = make_device(orgs.tokyo, kind=kind, api_level=api_level)
    values = {"phone_number": "03-1111-2222"} if code == "start_lost_mode" else {}
    if code == "clear_app_data":
        values = {"package_names": ["com.example.mail"]}
    with pytest.raises(ValidationError):
        issue(orgs.cast.a1, device, code, **values)
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/{device.pk}/commands/{code}/")
    assert page.status_code == 200 and page.context["unmet"]
    assert 'id="issue" disabled' in page.content.decode()
    posted = logged_in(orgs.cast.a1).post(f"/alpha/devices/{device.pk}/commands/{code}/", values)
    assert posted.status_code == 200
    assert Command.objects.count() == 0 and fake_commands.calls == []
    assert not Work.objects.filter(kind="android.command_send").exists()


def test_a_second_command_waits_until_the_first_has_finished(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    first = issue(orgs.cast.a1, device, "lock")
    second = issue(orgs.cast.a1, device, "reboot")
    run_work("android.command_send")
    assert [body["type"] for _, body in fake_commands.issued] == ["LOCK"]
    second.refresh_from_db()
    assert second.status == CommandStatus.REGISTERED
    first.refresh_from_db()
    operation_apply(fake_commands.finish(first.operation_name))
    assert run_work("android.command_send") == ["done"]
    assert [body["type"] for _, body in fake_commands.issued] == ["LOCK", "REBOOT"]
    second.refresh_from_db()
    assert second.status == CommandStatus.SENT


def test_a_command_not_sent_is_cancelled_here_and_never_sent(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    services.command_cancel(actor=Actor(account=orgs.a3), command=command)
    command.refresh_from_db()
    assert command.status == CommandStatus.CANCELLED
    run_work("android.command_send")
    assert fake_commands.calls == []
    assert chain(command) == [
        ("command.issued", orgs.cast.a1.name),
        ("command.cancelled", orgs.a3.name),
    ]
    with pytest.raises(ValidationError):
        services.command_cancel(actor=Actor(account=orgs.cast.a1), command=command)


def test_a_sent_command_is_cancelled_at_amapi_and_ends_as_its_operation_does(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    run_work("android.command_send")
    command.refresh_from_db()
    response = logged_in(orgs.cast.a1).post(f"/alpha/devices/commands/{command.pk}/cancel/")
    assert response.status_code == 302
    command.refresh_from_db()
    assert command.status == CommandStatus.SENT and command.cancel_requested_at is not None
    assert run_work("android.command_cancel") == ["done"]
    assert [c for c, _ in fake_commands.calls[-2:]] == ["cancel", "get"]
    command.refresh_from_db()
    assert command.status == CommandStatus.CANCELLED
    assert [a for a, _ in chain(command)] == [
        "command.issued",
        "command.sent",
        "command.cancel_requested",
        "command.cancelled",
    ]


def test_a_cancel_that_loses_the_race_leaves_the_command_as_the_device_finished_it(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    run_work("android.command_send")
    command.refresh_from_db()
    services.command_cancel(actor=Actor(account=orgs.cast.a1), command=command)
    fake_commands.finish(command.operation_name)  # the device was faster
    run_work("android.command_cancel")
    command.refresh_from_db()
    assert command.status == CommandStatus.SUCCEEDED


def test_commands_past_their_expiry_expire_with_the_systems_entry(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    orgs.cast.a.command_expiry_days = 2
    orgs.cast.a.save()
    device = make_device(orgs.tokyo)
    sent = issue(orgs.cast.a1, device, "lock")
    waiting = issue(orgs.cast.a1, device, "reboot")
    run_work("android.command_send")
    assert fake_commands.issued[0][1]["duration"].startswith(("172799.", "172800."))
    later = timezone.now() + datetime.timedelta(days=2, seconds=1)
    assert commands_expire(later) == 2
    for command in (sent, waiting):
        command.refresh_from_db()
        assert command.status == CommandStatus.EXPIRED
        assert chain(command)[-1] == ("command.expired", "system")
    assert commands_expire(later) == 0


def test_a_new_password_reaches_amapi_inline_and_is_stored_nowhere(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    secret = "Zq8-unique-Passw0rd"
    response = logged_in(orgs.cast.a1).post(
        f"/alpha/devices/{device.pk}/commands/reset_password/",
        {"new_password": secret, "confirmation": secret, "lock_now": "on"},
    )
    assert response.status_code == 302
    command = Command.objects.get()
    assert command.status == CommandStatus.SENT
    assert fake_commands.calls[0] == ("issue", (device.name, True))  # inline
    body = fake_commands.issued[0][1]
    assert body["newPassword"] == secret and body["resetPasswordFlags"] == ["LOCK_NOW"]
    assert command.params == {
        "require_entry": False,
        "lock_now": True,
        "do_not_ask_credentials_on_boot": False,
    }
    # The fake echoes newPassword in the operation's metadata, as Google might.
    operation_apply(fake_commands.finish(command.operation_name))
    run_work()
    found = []
    with connection.cursor() as cursor:
        for table in ("core_work", "android_command", "audit_logentry", "android_commandjob"):
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            for column in columns:
                cursor.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE %s",  # noqa: S608 - names from introspection
                    [f"%{secret}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}")
    assert found == []
    assert LogEntry.objects.get(action="command.issued").after["params"] == {
        "require_entry": False,
        "lock_now": True,
        "do_not_ask_credentials_on_boot": False,
    }


@pytest.mark.parametrize(
    ("password", "confirmation", "policy", "field"),
    [
        ("12345", "12345", None, "new_password"),  # Android: 6 digits at least
        ("Abcdef12", "Abcdef13", None, "confirmation"),
        ("abc12", "abc12", {"passwordMinimumLength": 8}, "new_password"),
        ("12345678", "12345678", {"passwordQuality": "ALPHANUMERIC"}, "new_password"),
        ("123456", "123456", {"passwordQuality": "NUMERIC_COMPLEX"}, "new_password"),
    ],
)
def test_a_new_password_is_checked_against_android_and_the_profile(
    orgs: OrgCast,
    fake_commands: FakeCommands,
    password: str,
    confirmation: str,
    policy: dict | None,
    field: str,
) -> None:
    device = make_device(orgs.tokyo)
    if policy:
        profile = Profile.objects.create(contract=orgs.cast.a, name="P")
        version = ProfileVersion.objects.create(
            profile=profile, number=1, policy={"passwordPolicies": [policy]}
        )
        Profile.objects.filter(pk=profile.pk).update(current=version)
        device.policy_name = f"{device.enterprise.name}/policies/mamori-{profile.pk}"
        device.save()
    with pytest.raises(ValidationError) as refused:
        issue(
            orgs.cast.a1, device, "reset_password", new_password=password, confirmation=confirmation
        )
    assert field in refused.value.message_dict
    assert Command.objects.count() == 0 and fake_commands.calls == []


def test_a_password_matching_the_reported_policy_is_accepted(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    report = {
        "appliedPasswordPolicies": [
            {"passwordQuality": "NUMERIC_COMPLEX", "passwordMinimumLength": 6}
        ]
    }
    device = make_device(orgs.tokyo, report=report)
    command = issue(
        orgs.cast.a1, device, "reset_password", new_password="135792", confirmation="135792"
    )
    assert command.status == CommandStatus.SENT


def test_a_new_password_is_refused_while_another_command_is_ahead(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    issue(orgs.cast.a1, device, "lock")
    with pytest.raises(ValidationError, match="Another command"), translation.override("en"):
        issue(
            orgs.cast.a1,
            device,
            "reset_password",
            new_password="Abcdef12",
            confirmation="Abcdef12",
        )
    assert Command.objects.count() == 1


def test_a_password_google_could_not_take_fails_at_once_and_is_not_kept(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    from mamori.android import amapi

    fake_commands.fail["issue"] = amapi.AmapiUnavailable("down", status=503)
    command = issue(
        orgs.cast.a1,
        make_device(orgs.tokyo),
        "reset_password",
        new_password="Abcdef12",
        confirmation="Abcdef12",
    )
    assert (command.status, command.error_code) == (CommandStatus.FAILED, "NOT_SENT")
    # The reconciling work finds the command finished and sends nothing.
    Work.objects.filter(kind="android.command_send").update(next_attempt_at=timezone.now())
    run_work("android.command_send")
    assert [c for c, _ in fake_commands.calls] == ["issue"]


def test_a_password_request_that_died_is_reconciled_by_its_mark_not_sent_again(
    orgs: OrgCast, fake_commands: FakeCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mamori.android.commands import sending

    recorded = sending._record
    monkeypatch.setattr(sending, "_record", lambda *a, **k: "died")  # the request died here
    command = issue(
        orgs.cast.a1,
        make_device(orgs.tokyo),
        "reset_password",
        new_password="Abcdef12",
        confirmation="Abcdef12",
    )
    assert command.status == CommandStatus.REGISTERED
    monkeypatch.setattr(sending, "_record", recorded)
    Work.objects.filter(kind="android.command_send").update(next_attempt_at=timezone.now())
    run_work("android.command_send")
    command.refresh_from_db()
    assert command.status == CommandStatus.SENT
    assert command.operation_name == next(iter(fake_commands.operations))
    assert [c for c, _ in fake_commands.calls] == ["issue", "list"]


def test_a_wipe_needs_the_serial_typed_and_says_what_a_personal_device_loses(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo, kind="personal", serial="R58N12345")
    client = logged_in(orgs.cast.a1)
    page = client.get(f"/alpha/devices/{device.pk}/commands/wipe/").content.decode()
    assert "個人所有のデバイスです" in page
    # A personal device loses only its work profile: no FRP, SD card or eSIM flags offered.
    for flag in ("preserve_reset_protection_data", "wipe_external_storage", "wipe_esims"):
        assert f'name="{flag}"' not in page
    refused = client.post(f"/alpha/devices/{device.pk}/commands/wipe/", {"confirm_serial": "R58"})
    assert refused.status_code == 200 and Command.objects.count() == 0
    with pytest.raises(ValidationError) as flagged:
        issue(orgs.cast.a1, device, "wipe", confirm_serial="R58N12345", wipe_esims=True)
    assert list(flagged.value.message_dict) == ["wipe_esims"]
    done = client.post(
        f"/alpha/devices/{device.pk}/commands/wipe/",
        {"confirm_serial": " r58n12345 ", "wipe_external_storage": "on", "reason": "退職のため"},
    )
    assert done.status_code == 302
    run_work("android.command_send")
    assert fake_commands.issued[0][1]["wipeParams"] == {
        "wipeReason": {"defaultMessage": "退職のため"},
    }
    entry = LogEntry.objects.get(action="command.issued")
    assert entry.after["params"]["reason"] == "退職のため"
    assert "confirm_serial" not in entry.after["params"]


def test_an_operators_wipe_is_refused_and_nothing_reaches_the_gateway(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo, serial="SNWIPE")
    with pytest.raises(PermissionDenied):
        issue(orgs.a3, device, "wipe", confirm_serial="SNWIPE")
    response = logged_in(orgs.a3).post(
        f"/alpha/devices/{device.pk}/commands/wipe/", {"confirm_serial": "SNWIPE"}
    )
    assert response.status_code == 403
    run_work()
    assert Command.objects.count() == 0 and fake_commands.calls == []


def test_a_department_administrator_cannot_reach_devices_outside_its_organizations(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.dev)
    with pytest.raises(OutOfScope):
        issue(orgs.a2, device, "lock")
    assert logged_in(orgs.a2).get(f"/alpha/devices/{device.pk}/commands/lock/").status_code == 404


__all__ = ["fake_commands"]


def test_the_contracts_command_expiry_is_a_setting_of_system_administrators(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    client = logged_in(orgs.cast.a1)
    assert (
        client.post("/alpha/settings/android/commands/", {"command_expiry_days": 0}).status_code
        == 200
    )
    assert (
        client.post("/alpha/settings/android/commands/", {"command_expiry_days": 3}).status_code
        == 302
    )
    orgs.cast.a.refresh_from_db()
    assert orgs.cast.a.command_expiry_days == 3
    entry = LogEntry.objects.get(action="command_settings.changed")
    assert (entry.before, entry.after) == ({"command_expiry_days": 7}, {"command_expiry_days": 3})
    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    assert abs((command.expires_at - command.created_at).total_seconds() - 3 * 86400) < 5
    assert (
        logged_in(orgs.a2)
        .post("/alpha/settings/android/commands/", {"command_expiry_days": 9})
        .status_code
        == 403
    )


def test_a_sender_that_died_after_sending_is_reconciled_not_sent_twice(
    orgs: OrgCast, fake_commands: FakeCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mamori.android.commands import sending

    command = issue(orgs.cast.a1, make_device(orgs.tokyo), "lock")
    recorded = sending._record

    def died(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the worker was killed before it recorded Google's answer")

    monkeypatch.setattr(sending, "_record", died)
    assert run_work("android.command_send") == ["retry"]
    monkeypatch.setattr(sending, "_record", recorded)
    Work.objects.filter(kind="android.command_send").update(next_attempt_at=timezone.now())
    assert run_work("android.command_send") == ["done"]
    command.refresh_from_db()
    assert command.status == CommandStatus.SENT
    assert len(fake_commands.issued) == 1  # found by its mark, not issued again
    assert command.operation_name == next(iter(fake_commands.operations))
