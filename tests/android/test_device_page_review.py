"""The device page and commands after a newcomer's review: the lost-mode location with a map
link, every Google error code in words, Android's own password rules, how a deleted device left,
the command named in the log in the reader's language, times with their zone, lost-mode buttons
that follow the device's state, and the lost-mode and wipe forms' fields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from mamori.accounts.models import Account
from mamori.android.commands import services
from mamori.android.commands.lifecycle import RPC_CODES, _reasons, command_reason, operation_apply
from mamori.android.inventory.services import device_remove
from mamori.android.models import Command, CommandStatus, CommandType, Device, UsageLogEvent
from mamori.audit.models import LogEntry
from mamori.audit.services import LogRecord, Target, TargetType, log_records
from mamori.core.actor import Actor
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.conftest import OrgCast, api_client, logged_in, run_work

pytestmark = pytest.mark.django_db
__all__ = ["fake_commands"]


def speaking(account: Account, language: str) -> Account:
    Account.objects.filter(pk=account.pk).update(language=language)
    account.refresh_from_db()
    return account


def page_of(account: Account, device: Device) -> str:
    return logged_in(account).get(f"/alpha/devices/{device.pk}/").content.decode()


def issue(account: Any, device: Any, code: str, **values: Any) -> Command:
    return services.command_issue(
        actor=Actor(account=account), device=device, code=code, values=values
    )


def sent(command: Command) -> Command:
    run_work("android.command_send")
    command.refresh_from_db()
    return command


# 1. The lost-mode location ---------------------------------------------------------------------


def test_a_lost_mode_location_shows_its_position_battery_and_a_map_link(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo)
    for event_id, data in (
        (1, {"location": {"latitude": 35.681236, "longitude": 139.767125}, "batteryLevel": 42}),
        (2, {"location": {"latitude": 123.0, "longitude": 0}}),  # not a place: no position
    ):
        UsageLogEvent.objects.create(
            contract=orgs.cast.a,
            device=device,
            event_id=event_id,
            event_type="LOST_MODE_LOCATION",
            event_time=timezone.now(),
            data=data,
            security=True,
        )
    text = page_of(speaking(orgs.cast.a1, "ja"), device)
    assert text.count("data-location") == 1
    assert "緯度 35.681236、経度 139.767125" in text and "電池残量 42%" in text
    assert (
        'href="https://www.openstreetmap.org/?mlat=35.681236&amp;mlon=139.767125'
        '#map=16/35.681236/139.767125"' in text
    )
    english = page_of(speaking(orgs.cast.a1, "en"), device)
    assert "Latitude 35.681236, longitude 139.767125 · battery 42%" in english
    assert "Show on a map (OpenStreetMap)" in english


# 2. Google's error codes and the word for cancelled -----------------------------------------------


def test_every_google_error_code_has_a_sentence_and_no_reason_reads_a_question_mark() -> None:
    assert set(RPC_CODES.values()) <= set(_reasons())
    assert sorted(RPC_CODES) == list(range(1, 17))


def test_a_cancelled_command_says_it_was_cancelled_in_both_languages(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = sent(issue(orgs.cast.a1, make_device(orgs.tokyo), "lock"))
    done = fake_commands.finish(
        command.operation_name, error={"code": 1, "message": "The operation was cancelled."}
    )
    operation_apply(done)
    command.refresh_from_db()
    assert command.status == CommandStatus.CANCELLED
    with translation.override("en"):
        assert command_reason(command) == (
            "The command was cancelled. (Google: The operation was cancelled.)"
        )
    with translation.override("ja"):
        assert command_reason(command) == (
            "コマンドは取り消されました。（Google: The operation was cancelled.）"
        )
        assert str(CommandStatus.CANCELLED.label) == "取り消し済み"
    failed = Command(status=CommandStatus.FAILED, error_code="", error_message="x")
    unknown = Command(status=CommandStatus.FAILED, error_code="NEWER_CODE")
    with translation.override("en"):
        assert command_reason(failed) == "Google gave no error code. (Google: x)"
        assert command_reason(unknown) == "Google answered with the code NEWER_CODE."


# 3. Android's own password rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("abc", ["Android needs a password of at least 4 characters."]),
        (
            "１２３４５６",
            [
                "Use only ASCII letters, digits, spaces and symbols: Android refuses other "
                "characters, such as full-width digits or Japanese."
            ],
        ),
        (
            "パスワード１２３４",
            [
                "Use only ASCII letters, digits, spaces and symbols: Android refuses other "
                "characters, such as full-width digits or Japanese."
            ],
        ),
        ("12345", ["A password of digits only needs at least 6 digits on Android."]),
    ],
)
def test_a_password_android_refuses_is_refused_with_its_reason(
    orgs: OrgCast, fake_commands: FakeCommands, password: str, expected: list[str]
) -> None:
    device = make_device(orgs.tokyo)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        issue(orgs.cast.a1, device, "reset_password", new_password=password, confirmation=password)
    assert refused.value.message_dict == {"new_password": expected}
    assert Command.objects.count() == 0 and fake_commands.calls == []


def test_a_short_password_is_refused_in_japanese(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    with pytest.raises(ValidationError) as refused, translation.override("ja"):
        issue(
            orgs.cast.a1,
            make_device(orgs.tokyo),
            "reset_password",
            new_password="abc",
            confirmation="abc",
        )
    assert refused.value.message_dict == {
        "new_password": ["Android のパスワードは 4 文字以上にしてください。"]
    }


# 4. How a deleted device left -------------------------------------------------------------------


def _gone(device: Device) -> None:
    Device.objects.filter(pk=device.pk).update(applied_state="DELETED", deleted_at=timezone.now())


def _finished(account: Account, device: Device, code: str, **values: Any) -> None:
    command = sent(issue(account, device, code, **values))
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SUCCEEDED)


@pytest.mark.parametrize(
    ("how", "banner"),
    [
        ("removed", "このデバイスは Mamori で削除されました"),
        ("wiped", "このデバイスはワイプコマンドでワイプされ"),
        ("relinquished", "このデバイスの所有権は放棄されました"),
        ("reported", "Google からこのデバイスの削除が報告されました"),
    ],
)
def test_a_deleted_devices_page_says_how_it_left_once_and_what_is_stale(
    orgs: OrgCast, fake_commands: FakeCommands, how: str, banner: str
) -> None:
    a1 = speaking(orgs.cast.a1, "ja")
    kind = "company_work_profile" if how == "relinquished" else "fully_managed"
    device = make_device(orgs.tokyo, kind=kind, serial="SNGONE")
    if how == "removed":
        device_remove(actor=Actor(account=a1), device=device, confirm="SNGONE")
    elif how == "wiped":
        _finished(a1, device, "wipe", confirm_serial="SNGONE")
    elif how == "relinquished":
        _finished(a1, device, "relinquish_ownership")
    if how != "removed":
        _gone(device)
    text = page_of(a1, device)
    departure = re.search(r'id="device-departure">([^<]*)<', text)
    assert departure is not None and departure.group(1).startswith(banner)
    assert ("ワイプ（可能な場合）と登録解除" in departure.group(1)) == (how == "removed")
    assert ("ワイプされていません" in departure.group(1)) == (how == "relinquished")
    # Compliance, posture, software and battery: as last reported; one sentence for commands.
    assert text.count("data-stale") == 4 and "（最後の報告時点）" in text
    assert "このデバイスは管理されていないため、コマンドを送信できません。" in text
    assert text.count("このデバイスは削除済みです") == 0 and 'class="btn btn-sm' not in text


def test_a_managed_device_has_no_departure_and_no_stale_marks(orgs: OrgCast) -> None:
    text = page_of(orgs.cast.a1, make_device(orgs.tokyo))
    assert 'id="device-departure"' not in text and "data-stale" not in text


# 5. The log names the command, in the reader's language ---------------------------------------


def test_the_log_names_each_command_in_the_readers_language_without_doubled_failure(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    with translation.override("ja"):
        command = sent(issue(speaking(orgs.cast.a1, "ja"), device, "lock"))
    operation_apply(fake_commands.finish(command.operation_name, metadata={"errorCode": "UNKNOWN"}))
    issued = LogEntry.objects.get(action="command.issued")
    assert issued.target_label == f"LOCK · {device.serial_number}"
    # An entry written before the type was stored as its code stays readable as it was.
    log_records(
        [
            LogRecord(
                contract=orgs.cast.a,
                actor=Actor.system(),
                action="command.sent",
                target=Target(TargetType.COMMAND, command.pk, "ロック · OLD"),
                related=Target(TargetType.DEVICE, device.pk),
                organization_id=orgs.tokyo.pk,
            )
        ]
    )
    english = page_of(speaking(orgs.cast.a1, "en"), device)
    rows = re.findall(r"<td>Device command [^<]*<span[^>]*data-command>\(([^)]*)\)", english)
    assert rows == ["ロック", "Lock", "Lock", "Lock"]  # newest first: the old entry, failed…
    failed_row = re.search(r"<td>Device command failed[^\n]*?</td>", english)
    assert failed_row is not None and "Failure" not in failed_row.group(0)
    detail = logged_in(orgs.cast.a1).get(f"/alpha/logs/{issued.pk}/").content.decode()
    assert f"Device command: Lock · {device.serial_number}" in detail
    listed = logged_in(orgs.cast.a1).get("/alpha/logs/").content.decode()
    assert f"Lock · {device.serial_number}" in listed and "LOCK ·" not in listed
    exported = logged_in(orgs.cast.a1).get("/alpha/logs/export.csv")
    csv_text = b"".join(exported.streaming_content).decode("utf-8-sig")
    assert f"Lock · {device.serial_number}" in csv_text and "LOCK ·" not in csv_text
    api = api_client(orgs.cast.a1).get(f"/api/v1/logs/{issued.pk}").json()
    assert api["target"]["label"] == f"Lock · {device.serial_number}"
    japanese = page_of(speaking(orgs.cast.a1, "ja"), device)
    failed_ja = re.search(r"<td>デバイスコマンド失敗[^\n]*?</td>", japanese)
    assert failed_ja is not None and "(ロック)" in failed_ja.group(0)
    assert "badge" not in failed_ja.group(0)


# 6. Times with their zone ---------------------------------------------------------------------


def test_the_summarys_and_batterys_times_name_their_zone(orgs: OrgCast) -> None:
    device = make_device(
        orgs.tokyo,
        report={
            "powerManagementEvents": [
                {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": "2026-11-30T16:54:00Z"}
            ]
        },
    )
    Device.objects.filter(pk=device.pk).update(
        enrolled_at="2026-11-30T16:54:00Z", last_policy_sync_at="2026-11-30T16:55:00Z"
    )
    text = page_of(speaking(orgs.cast.a1, "en"), device)  # A1 lives in Asia/Tokyo
    assert "<dd>2026-12-01 01:55 (Asia/Tokyo)</dd>" in text  # last policy sync
    assert "<dd>2026-12-01 01:54 (Asia/Tokyo)</dd>" in text  # enrolled at
    assert '<dd class="text-break">2026-12-01 01:54 (Asia/Tokyo)</dd>' in text  # measured at


def test_the_command_historys_stacked_cells_name_the_zone_of_their_times(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    issue(orgs.cast.a1, device, "lock")
    text = page_of(speaking(orgs.cast.a1, "ja"), device)
    assert text.count('data-label="実行日時（Asia/Tokyo）"') == 1
    assert text.count('data-label="終了日時（Asia/Tokyo）"') == 1
    assert "<th>終了日時（Asia/Tokyo）</th>" in text


# 8. Lost-mode buttons and the lost-mode and wipe forms ------------------------------------------


def test_lost_mode_buttons_follow_the_devices_state(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    a1 = speaking(orgs.cast.a1, "en")
    device = make_device(orgs.tokyo)

    def card() -> dict[str, list[str]]:
        page = logged_in(a1).get(f"/alpha/devices/{device.pk}/")
        return {c["label"]: c["reasons"] for c in page.context["commands_card"]}

    assert card()["Start lost mode"] == []
    assert card()["Stop lost mode"] == ["The device is not in lost mode."]
    with pytest.raises(ValidationError), translation.override("en"):
        issue(a1, device, "stop_lost_mode")
    Device.objects.filter(pk=device.pk).update(applied_state="LOST")
    device.refresh_from_db()
    assert card()["Start lost mode"] == ["The device is already in lost mode."]
    assert card()["Stop lost mode"] == []
    with pytest.raises(ValidationError):
        issue(a1, device, "start_lost_mode", message="拾った方はご連絡ください")
    assert Command.objects.count() == 0 and fake_commands.calls == []
    assert issue(a1, device, "stop_lost_mode").type == CommandType.STOP_LOST_MODE


def test_the_lost_mode_form_says_message_and_company_name(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo)
    page = logged_in(speaking(orgs.cast.a1, "ja")).get(
        f"/alpha/devices/{device.pk}/commands/start_lost_mode/"
    )
    form = page.context["form"]
    assert (str(form["message"].label), str(form["organization"].label)) == ("メッセージ", "会社名")
    labels = re.findall(
        r'<label[^>]*for="id_(message|organization)"[^>]*>([^<]*)<', page.content.decode()
    )
    assert [(name, text.strip()) for name, text in labels] == [
        ("message", "メッセージ"),
        ("organization", "会社名"),
    ]


def test_a_bulk_wipe_sends_no_factory_reset_flags_to_a_personal_device(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    company = make_device(orgs.tokyo)
    personal = make_device(orgs.tokyo, kind="personal")
    services.command_job_create(
        actor=Actor(account=orgs.cast.a1),
        contract=orgs.cast.a,
        code="wipe",
        devices=[company, personal],
        values={"wipe_esims": True, "reason": "退職"},
        confirm_count=2,
    )
    params = dict(Command.objects.values_list("device_id", "params"))
    assert params[company.pk]["wipe_esims"] is True
    assert "wipe_esims" not in params[personal.pk] and params[personal.pk]["reason"] == "退職"
