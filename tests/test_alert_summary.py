"""The daily alert summary (issue 10, point 3): at the contract's hour in its timezone, exactly
once per local day — across daylight-saving changes (America/New_York: 2026-03-08 has 23 hours,
2026-11-01 has 25), when the worker was down at the hour, and with two workers racing."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine

from mamori.alerts.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertMail,
    AlertSettings,
    AlertSummary,
)
from mamori.alerts.summary import latest_due, next_due, summaries_send, summary_send
from mamori.contracts.models import Contract
from mamori.core.models import Work
from mamori.directory.models import Organization
from mamori.outbox.models import OutboundMail
from tests.alerts import alert_change, alert_open, racing, support_holder
from tests.android.devices import make_device
from tests.conftest import Cast

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


def sent_at(moment: str) -> int:
    with time_machine.travel(utc(moment), tick=False):
        return summaries_send()


@pytest.fixture
def new_york(cast: Cast) -> Cast:
    """Contract A's summary at ``hour`` 10 in New York (Bravo's stays at 10:00 Tokyo); an open
    alert so that every summary has something to say; A1 holds the support option."""
    support_holder(cast.a1)
    AlertSettings.objects.create(contract=cast.a, summary_timezone="America/New_York")
    Contract.objects.filter(pk=cast.b.pk).update(status=Contract.Status.SUSPENDED)
    with time_machine.travel(utc("2026-02-01 00:00"), tick=False):
        alert_open(make_device(Organization.objects.get(contract=cast.a, parent=None)))
    OutboundMail.objects.all().delete()
    Work.objects.filter(kind="mail.deliver").delete()
    return cast


def days(cast: Cast) -> list[str]:
    return [
        f"{s.day} {s.due_at:%H:%M}"
        for s in AlertSummary.objects.filter(contract=cast.a).order_by("day")
    ]


@pytest.mark.parametrize(
    ("now", "hour", "day", "due"),
    [
        # 2026-03-08, 23 hours: 10:00 EDT is 14:00 UTC, the day before 10:00 EST was 15:00.
        ("2026-03-08 13:59:59", 10, "2026-03-07", "2026-03-07 15:00"),
        ("2026-03-08 14:00:00", 10, "2026-03-08", "2026-03-08 14:00"),
        # 02:00 does not exist that day: the summary is due when the clocks jump (03:00 EDT).
        ("2026-03-08 06:59:59", 2, "2026-03-07", "2026-03-07 07:00"),
        ("2026-03-08 07:00:00", 2, "2026-03-08", "2026-03-08 07:00"),
        # 2026-11-01, 25 hours: 10:00 EST is 15:00 UTC; 01:00 happens twice, the first counts.
        ("2026-11-01 14:59:59", 10, "2026-10-31", "2026-10-31 14:00"),
        ("2026-11-01 15:00:00", 10, "2026-11-01", "2026-11-01 15:00"),
        ("2026-11-01 05:00:00", 1, "2026-11-01", "2026-11-01 05:00"),
        ("2026-11-01 06:30:00", 1, "2026-11-01", "2026-11-01 05:00"),
    ],
)
def test_the_latest_due_summary_follows_the_local_clock(
    now: str, hour: int, day: str, due: str
) -> None:
    found_day, found_due = latest_due(utc(now), hour, NEW_YORK)
    assert (found_day.isoformat(), found_due) == (day, utc(due))


@pytest.mark.django_db
def test_one_summary_a_day_across_the_23_hour_day(new_york: Cast) -> None:
    assert sent_at("2026-03-07 14:59:59") == 1  # 09:59 EST: the summary of 03-06, late
    assert sent_at("2026-03-07 15:00:00") == 1  # 10:00 EST
    assert sent_at("2026-03-07 15:01:00") == 0
    assert sent_at("2026-03-08 13:59:59") == 0  # 09:59 EDT
    assert sent_at("2026-03-08 14:00:00") == 1  # 10:00 EDT: 23 hours later
    assert sent_at("2026-03-08 15:00:00") == 0
    assert days(new_york) == ["2026-03-06 15:00", "2026-03-07 15:00", "2026-03-08 14:00"]


@pytest.mark.django_db
def test_one_summary_a_day_across_the_25_hour_day(new_york: Cast) -> None:
    AlertSettings.objects.filter(contract=new_york.a).update(summary_hour=1)
    assert sent_at("2026-10-31 05:00:00") == 1  # 01:00 EDT
    assert sent_at("2026-11-01 05:00:00") == 1  # 01:00 EDT, the first of the two
    assert sent_at("2026-11-01 06:00:00") == 0  # 01:00 EST, the second: no second summary
    assert sent_at("2026-11-02 05:59:59") == 0
    assert sent_at("2026-11-02 06:00:00") == 1  # 01:00 EST: 25 hours later
    assert days(new_york) == ["2026-10-31 05:00", "2026-11-01 05:00", "2026-11-02 06:00"]


@pytest.mark.django_db
def test_a_worker_down_at_the_hour_sends_one_late_summary_of_everything_since(
    new_york: Cast,
) -> None:
    assert sent_at("2026-03-02 15:00:00") == 1
    device = make_device(Organization.objects.get(contract=new_york.a, parent=None), serial="SN-L")
    with time_machine.travel(utc("2026-03-03 12:00"), tick=False):
        alert, _ = alert_open(device, kind=AlertKind.COMPROMISED, level=AlertLevel.WARNING)
        alert_open(make_device(device.organization, serial="SN-M"))  # caution
    with time_machine.travel(utc("2026-03-04 12:00"), tick=False):
        alert_change(alert, "risen", AlertLevel.IMPORTANT)
    with time_machine.travel(utc("2026-03-05 12:00"), tick=False):
        alert_change(alert, "cleared")
    OutboundMail.objects.all().delete()

    assert sent_at("2026-03-05 18:30:00") == 1  # 13:30 EST on the 5th; down since the 2nd

    summary = AlertSummary.objects.get(contract=new_york.a, day="2026-03-05")
    assert (summary.late, summary.since, summary.recipients) == (
        True,
        utc("2026-03-02 15:00:00"),
        1,
    )
    assert AlertSummary.objects.filter(contract=new_york.a).count() == 2  # not one a day missed
    mail = OutboundMail.objects.get()
    assert mail.to == "admin@alpha.example"
    assert mail.subject == "[Mamori] 2026-03-05 のアラート日次サマリー（発生中 2 件）"
    assert "遅れて送信されました。予定は 2026-03-06 00:00 JST" in mail.body
    for section in ("== 発生 (2) ==", "== 上昇 (1) ==", "== 解除 (1) ==", "== 発生中 (2) =="):
        assert section in mail.body
    opened = mail.body[mail.body.index("== 発生 (2) ==") : mail.body.index("== 上昇")]
    assert opened.index("[警告]\n- セキュリティ状態: SN-L") < opened.index(
        "[注意]\n- 状態報告なし: SN-M"
    )
    assert (
        "- セキュリティ状態: SN-L (アルファ株式会社), 警告から重要に上昇 2026-03-04 21:00 JST"
        in (mail.body)
    )
    assert "アラートの一覧（デバイス → アラート）: http://testserver/alpha/devices/alerts/\n" in (
        mail.body
    )
    told = AlertMail.objects.filter(channel="summary", event__alert=alert)
    assert sorted(told.values_list("event__action", flat=True)) == ["cleared", "opened", "risen"]


@pytest.mark.django_db
def test_no_mail_when_there_is_nothing_to_say(new_york: Cast) -> None:

    Alert.objects.update(cleared_at=utc("2026-01-31 00:00"))
    assert sent_at("2026-03-02 15:00:00") == 1
    assert AlertSummary.objects.get().recipients == 0
    assert not OutboundMail.objects.exists()
    assert sent_at("2026-03-02 15:30:00") == 0


@pytest.mark.django_db
def test_the_summary_is_in_each_recipients_language_and_timezone(new_york: Cast) -> None:
    from tests.conftest import make_account, make_user

    root = Organization.objects.get(contract=new_york.a, parent=None)
    make_account(
        make_user(root, "Eve", "eve@alpha.example"),
        "eve",
        "system_admin",
        support_option=True,
        timezone="America/New_York",
    )
    assert sent_at("2026-03-02 15:00:00") == 1
    mails = {m.to: m for m in OutboundMail.objects.all()}
    assert (
        mails["eve@alpha.example"].subject == "[Mamori] Daily alert summary for 2026-03-02: 1 open"
    )
    assert "== Still open (1) ==" in mails["eve@alpha.example"].body
    assert "Open since 2026-01-31 19:00 EST" in mails["eve@alpha.example"].body
    assert "発生日時 2026-02-01 09:00 JST" in mails["admin@alpha.example"].body
    # Each alert's sentence, as its page says it, under its line.
    alert = Alert.objects.get()
    assert (
        "Open since 2026-01-31 19:00 EST\n"
        "  The device has never sent a status report.\n"
        f"  http://testserver/alpha/devices/alerts/{alert.pk}/\n"
    ) in mails["eve@alpha.example"].body
    assert (
        "発生日時 2026-02-01 09:00 JST\n  デバイスから状態報告が一度も届いていません。\n"
    ) in mails["admin@alpha.example"].body
    assert (
        "You receive this mail at eve@alpha.example, the main e-mail address of your user, "
        "because your Mamori account eve holds the support option"
    ) in mails["eve@alpha.example"].body


@pytest.mark.parametrize(
    ("now", "hour", "due"),
    [
        ("2026-03-07 15:00:00", 10, "2026-03-08 14:00"),  # the 23-hour day: 10:00 EDT
        ("2026-03-07 14:59:59", 10, "2026-03-07 15:00"),  # today's, still to come
        ("2026-10-31 14:00:00", 10, "2026-11-01 15:00"),  # the 25-hour day: 10:00 EST
    ],
)
def test_the_next_summary_is_due_at_the_next_local_hour(now: str, hour: int, due: str) -> None:
    assert f"{next_due(utc(now), hour, NEW_YORK):%Y-%m-%d %H:%M}" == due


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_make_one_summary(new_york: Cast) -> None:
    contract = new_york.a
    now = utc("2026-03-02 15:00:05")
    day, due = latest_due(now, 10, NEW_YORK)
    outcomes = racing(lambda: summary_send(contract, day, due, now))

    assert sorted(outcomes, key=str) == [False, True]
    assert AlertSummary.objects.filter(contract=contract).count() == 1
    assert OutboundMail.objects.filter(kind="alert_summary").count() == 1


@pytest.mark.django_db
def test_each_event_is_told_at_its_level_and_a_clearing_in_the_past(new_york: Cast) -> None:
    assert sent_at("2026-03-02 15:00:00") == 1
    Alert.objects.update(cleared_at=utc("2026-03-02 16:00"))  # the fixture's: not this test's
    device = make_device(Organization.objects.get(contract=new_york.a, parent=None), serial="SN-L")
    with time_machine.travel(utc("2026-03-03 12:00"), tick=False):
        alert, _ = alert_open(device, kind=AlertKind.COMPROMISED, level=AlertLevel.WARNING)
    with time_machine.travel(utc("2026-03-03 13:00"), tick=False):
        alert_change(alert, "risen", AlertLevel.IMPORTANT)
    with time_machine.travel(utc("2026-03-03 14:00"), tick=False):
        alert_change(alert, "cleared")
    OutboundMail.objects.all().delete()

    assert sent_at("2026-03-03 15:00:00") == 1

    body = OutboundMail.objects.get().body
    url = f"http://testserver/alpha/devices/alerts/{alert.pk}/"
    where = f"SN-L ({device.organization.name})"
    assert (
        "== 発生 (1) ==\n"
        "[警告]\n"
        f"- セキュリティ状態: {where}, 発生 2026-03-03 21:00 JST\n"
        "  Google がこのデバイスを「リスクあり」と報告しています。\n"
        f"  {url}\n"
        "\n"
        "== 上昇 (1) ==\n"
        "[重要]\n"
        f"- セキュリティ状態: {where}, 警告から重要に上昇 2026-03-03 22:00 JST\n"
        "  Google がこのデバイスを「侵害の可能性あり」と報告しています。\n"
        f"  {url}\n"
        "\n"
        "== 解除 (1) ==\n"
        "[重要]\n"
        f"- セキュリティ状態: {where}, 解除 2026-03-03 23:00 JST\n"
        "  Google がこのデバイスを「侵害の可能性あり」と報告していました。\n"
        f"  {url}\n"
        "\n"
        "アラートの一覧（デバイス → アラート）: http://testserver/alpha/devices/alerts/\n"
    ) in body
