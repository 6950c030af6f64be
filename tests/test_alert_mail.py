"""The support option's alert mail at once (issue 10, point 3), through a real SMTP server.

Only enabled support-option System administrators are mailed, at their user's main address, in
their language with times in their timezone; events of one recipient within a minute are one
mail; a kind not in ``mail_immediately`` and a cleared event are not mailed at once.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from mamori.accounts.models import Account
from mamori.alerts.mail import GATHER, mail_gather
from mamori.alerts.models import Alert, AlertKind, AlertLevel, AlertMail, AlertSettings
from mamori.alerts.notices import alert_notices
from mamori.core.models import Work
from mamori.core.work import work_run
from mamori.directory.models import Organization, UserEmail
from mamori.outbox.models import OutboundMail
from tests.alerts import alert_change, alert_open, racing, support_holder
from tests.android.devices import make_device
from tests.conftest import Cast, make_account, make_user, run_work
from tests.smtp import SmtpServer, body_of

T0 = datetime.datetime(2026, 3, 2, 1, 0, 10, tzinfo=datetime.UTC)  # 10:00:10 JST, 20:00:10 EST


def _recipients(cast: Cast) -> dict[str, Account]:
    """A1 (Japanese, Tokyo) and Eve (English, New York) hold the support option; Dan is disabled,
    Sam is a System administrator without it; B1 holds it in the other contract."""
    root = Organization.objects.get(contract=cast.a, parent=None)
    support_holder(cast.a1)
    eve_user = make_user(root, "Eve", "eve@alpha.example")
    UserEmail.objects.create(user=eve_user, address="eve.home@alpha.example", category="personal")
    eve = make_account(
        eve_user, "eve", "system_admin", support_option=True, timezone="America/New_York"
    )
    dan = make_account(
        make_user(root, "Dan", "dan@alpha.example"), "dan", "system_admin", support_option=True
    )
    Account.objects.filter(pk=dan.pk).update(is_active=False)
    make_account(make_user(root, "Sam", "sam@alpha.example"), "sam", "system_admin")
    support_holder(cast.b1)
    AlertSettings.objects.create(contract=cast.a, mail_immediately=["no_report", "non_compliant"])
    # The contracts' registration mails are not what these tests read.
    OutboundMail.objects.all().delete()
    Work.objects.filter(kind="mail.deliver").delete()
    return {"a1": cast.a1, "eve": eve}


def gather_results() -> list[str | None]:
    """Run the due gathering work as a worker would; each handler's result."""
    due = Work.objects.filter(kind=GATHER, status="pending", next_attempt_at__lte=timezone.now())
    return [work_run(pk).result for pk in due.order_by("pk").values_list("pk", flat=True)]


def _deliver(smtp: SmtpServer, count: int) -> list:
    assert set(run_work("mail.deliver")) == {"done"}
    return smtp.collector.wait_for(count)


@pytest.mark.django_db
def test_events_of_a_minute_are_one_mail_per_support_option_holder_in_their_language(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    _recipients(cast)
    root = Organization.objects.get(contract=cast.a, parent=None)
    first, second = make_device(root, serial="SN-FIRST"), make_device(root, serial="SN-SECOND")
    with time_machine.travel(T0, tick=False):
        alert, _event = alert_open(first)
        alert_open(second, kind=AlertKind.NON_COMPLIANT, level=AlertLevel.WARNING)
        alert_open(second, kind=AlertKind.COMPROMISED, level=AlertLevel.IMPORTANT)  # not chosen
        assert run_work(GATHER) == []  # due at the end of the minute
    with time_machine.travel(T0 + datetime.timedelta(seconds=50), tick=False):
        # One work per recipient and dispatch: the first of each recipient mails both events.
        outcomes = sorted(gather_results())
        assert outcomes == ["mailed 2", "mailed 2", "nothing to mail", "nothing to mail"]

    mails = {m["To"]: m for m in _deliver(smtp_server, 2)}
    assert sorted(mails) == ["admin@alpha.example", "eve@alpha.example"]
    ja, en = body_of(mails["admin@alpha.example"]), body_of(mails["eve@alpha.example"])
    # The highest level of the mail's alerts, "and lower" when the others are lower.
    assert mails["admin@alpha.example"]["Subject"] == "[Mamori] 警告 ほか: 2件のアラート"
    assert mails["eve@alpha.example"]["Subject"] == "[Mamori] Warning and lower: 2 alerts"
    assert "[注意] 状態報告なし: 発生" in ja and "[警告] 非準拠: 発生" in ja
    assert "[Caution] No status report: Opened" in en and "[Warning] Not compliant: Opened" in en
    assert "2026-03-02 10:00 JST" in ja and "2026-03-01 20:00 EST" in en
    assert "SN-FIRST" in en and "SN-SECOND" in en and "Security posture" not in en
    assert f"http://testserver/alpha/devices/alerts/{alert.pk}/" in en
    notices = alert_notices(alert)
    assert [(n.channel, n.to, n.status) for n in notices] == [
        ("at_once", "admin@alpha.example", "sent"),
        ("at_once", "eve@alpha.example", "sent"),
    ]


@pytest.mark.django_db
def test_a_rise_the_next_minute_is_another_mail_and_a_clearing_is_none(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    _recipients(cast)
    device = make_device(Organization.objects.get(contract=cast.a, parent=None), serial="SN-R")
    with time_machine.travel(T0, tick=False):
        alert, _ = alert_open(device)
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        run_work(GATHER)
        alert_change(alert, "risen", AlertLevel.WARNING)
    with time_machine.travel(T0 + datetime.timedelta(minutes=2), tick=False):
        run_work(GATHER)
        alert_change(alert, "cleared")
    with time_machine.travel(T0 + datetime.timedelta(minutes=3), tick=False):
        assert run_work(GATHER) == []

    delivered = _deliver(smtp_server, 4)
    mails = [m for m in delivered if m["To"] == "eve@alpha.example"]
    assert [m["Subject"] for m in mails] == [
        "[Mamori] Caution: No status report on SN-R",
        "[Mamori] Risen to Warning: No status report on SN-R",
    ]
    assert "Risen from Caution to Warning" in body_of(mails[1])
    # A risen alert says since when it is open (an opened one says it once, in its first line).
    assert "Open since: 2026-03-01 20:00 EST\r\n" in body_of(mails[1])
    assert "Open since" not in body_of(mails[0])
    japanese = [m for m in delivered if m["To"] == "admin@alpha.example"]
    assert [m["Subject"] for m in japanese] == [
        "[Mamori] 注意: SN-R の状態報告なし",
        "[Mamori] 警告に上昇: SN-R の状態報告なし",
    ]
    assert AlertMail.objects.count() == 4


@pytest.mark.django_db
def test_a_holder_who_lost_the_option_before_the_minute_ended_is_not_mailed(cast: Cast) -> None:
    people = _recipients(cast)
    device = make_device(Organization.objects.get(contract=cast.a, parent=None))
    with time_machine.travel(T0, tick=False):
        alert, _ = alert_open(device)
        Account.objects.filter(pk=people["eve"].pk).update(support_option=False)
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        run_work(GATHER)
    assert list(OutboundMail.objects.values_list("to", flat=True)) == ["admin@alpha.example"]
    statuses = {n.to: n.status for n in alert_notices(alert)}
    assert statuses == {"admin@alpha.example": "pending", "eve@alpha.example": "not_sent"}


@pytest.mark.django_db
def test_nothing_is_mailed_at_once_for_a_kind_not_chosen(cast: Cast) -> None:
    _recipients(cast)
    AlertSettings.objects.filter(contract=cast.a).update(mail_immediately=[])
    alert_open(make_device(Organization.objects.get(contract=cast.a, parent=None)))
    assert AlertMail.objects.count() == 0
    assert not Work.objects.filter(kind=GATHER).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_gathering_the_same_recipient_at_once_send_one_mail(cast: Cast) -> None:
    people = _recipients(cast)
    device = make_device(Organization.objects.get(contract=cast.a, parent=None))
    alert_open(device)
    alert_open(device, kind=AlertKind.NON_COMPLIANT)
    work = Work.objects.filter(kind=GATHER, payload__account_id=people["eve"].pk).first()
    assert work is not None
    outcomes = racing(lambda: mail_gather(work, None))  # type: ignore[arg-type]

    assert sorted(outcomes, key=str) == ["mailed 2", "nothing to mail"]
    assert OutboundMail.objects.filter(to="eve@alpha.example").count() == 1


@pytest.mark.django_db
def test_the_alerts_notices_list_its_mails_and_webhook_deliveries(cast: Cast) -> None:
    from mamori.alerts.webhooks.services import webhook_create
    from mamori.core.actor import Actor

    _recipients(cast)
    webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url="https://93.184.216.34/h")
    device = make_device(Organization.objects.get(contract=cast.a, parent=None))
    with time_machine.travel(T0, tick=False):
        alert, _ = alert_open(device)
    other, _ = alert_open(make_device(device.organization))  # not this alert's

    notices = alert_notices(alert)

    assert [(n.channel, n.to, n.status, n.action) for n in notices] == [
        ("at_once", "admin@alpha.example", "waiting", "opened"),
        ("at_once", "eve@alpha.example", "waiting", "opened"),
        ("webhook", "https://93.184.216.34/h", "pending", "opened"),
    ]
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        run_work(GATHER)
    assert [n.status for n in alert_notices(alert)] == ["pending", "pending", "pending"]
    assert len(alert_notices(other)) == 3


NOT_COMPLIANT = {
    "nonComplianceDetails": [
        {
            "settingName": "passwordPolicies",
            "nonComplianceReason": "USER_ACTION",
            "specificNonComplianceReason": "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT",
        }
    ]
}
COMPROMISED = {
    "posture": "POTENTIALLY_COMPROMISED",
    "postureDetails": [
        {
            "securityRisk": "COMPROMISED_OS",
            "advice": [
                {
                    "defaultMessage": "Reset the device to factory settings.",
                    "localizedMessages": {"ja": "デバイスを初期化してください。"},
                }
            ],
        }
    ],
}


def _told_mails(
    cast: Cast, smtp: SmtpServer, kinds: list[str], compromised: dict = COMPROMISED
) -> tuple[dict[str, str], dict[str, int]]:
    """A non-compliant and a compromised alert on 佐藤 花子's Pixel 8, ``kinds`` mailed at once
    to A1 (ja, Tokyo) and Eve (en, New York): each body (its lines ending in LF), and the
    alerts' ids."""
    _recipients(cast)
    AlertSettings.objects.filter(contract=cast.a).update(mail_immediately=kinds)
    root = Organization.objects.get(contract=cast.a, parent=None)
    sato = make_user(root, "佐藤 花子", "hanako@alpha.example")
    device = make_device(root, serial="SN-TOLD", user=sato)
    with time_machine.travel(T0, tick=False):
        lax, _e = alert_open(device, kind=AlertKind.NON_COMPLIANT, level=AlertLevel.WARNING)
        bad, _e = alert_open(device, kind=AlertKind.COMPROMISED, level=AlertLevel.IMPORTANT)
    Alert.objects.filter(pk=lax.pk).update(details=NOT_COMPLIANT)
    Alert.objects.filter(pk=bad.pk).update(details=compromised)
    with time_machine.travel(T0 + datetime.timedelta(seconds=50), tick=False):
        gather_results()
    mails = {m["To"]: body_of(m).replace("\r\n", "\n") for m in _deliver(smtp, 2)}
    return mails, {"lax": lax.pk, "bad": bad.pk}


@pytest.mark.django_db
def test_the_mail_at_once_tells_each_alert_as_its_page_does_in_english(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    mails, ids = _told_mails(cast, smtp_server, ["non_compliant", "compromised"])
    en = mails["eve@alpha.example"]
    root = Organization.objects.get(contract=cast.a, parent=None).name
    assert (
        "[Warning] Not compliant: Opened 2026-03-01 20:00 EST\n"
        "The device does not comply with its profile (1 reason).\n"
        "Device: SN-TOLD (Pixel 8, 佐藤 花子)\n"
        f"Organization: {root}\n"
        "Why the device is not compliant:\n"
        "- Password policy: The user has to do something on the device (for example set a "
        "password). The password does not meet the profile's password requirements. "
        "[USER_ACTION / PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT]\n"
        "Opened once the device had been non-compliant for the contract's grace period; it "
        "clears when the device reports compliance.\n"
        f"http://testserver/alpha/devices/alerts/{ids['lax']}/\n"
    ) in en
    assert (
        "[Important] Security posture: Opened 2026-03-01 20:00 EST\n"
        "Google reports the device as potentially compromised.\n"
        "Device: SN-TOLD (Pixel 8, 佐藤 花子)\n"
        f"Organization: {root}\n"
        "Security risks:\n"
        "- The operating system appears to be compromised (rooted or modified).\n"
        "  Reset the device to factory settings.\n"
        "It clears when Google reports the device secure again.\n"
        f"http://testserver/alpha/devices/alerts/{ids['bad']}/\n"
    ) in en
    assert en.endswith(
        "-- \n"
        "You receive this mail at eve@alpha.example, the main e-mail address of your user, "
        "because your Mamori account eve holds the support option of "
        f"{cast.a.company_name}: the support option's alert mail goes to the main address of "
        "every System administrator holding it.\n"
        "Which alerts are mailed at once, and the daily summary's hour, are chosen in Settings "
        "→ Alerts: http://testserver/alpha/settings/alerts/\n"
        "Times are in your timezone (America/New_York), set on your account page: "
        "http://testserver/alpha/account/\n"
        "Mamori\n"
    )


@pytest.mark.django_db
def test_the_mail_at_once_tells_each_alert_in_japanese_in_tokyo_time(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    mails, ids = _told_mails(cast, smtp_server, ["non_compliant"])
    ja = mails["admin@alpha.example"]
    assert (
        "[警告] 非準拠: 発生 2026-03-02 10:00 JST\n"
        "デバイスがプロファイルに準拠していません（理由 1 件）。\n"
        "デバイス: SN-TOLD (Pixel 8, 佐藤 花子)\n"
    ) in ja
    root = Organization.objects.get(contract=cast.a, parent=None).name
    assert f"所属組織: {root}\n非準拠の理由：\n- パスワードポリシー: " in ja
    assert "発生日時" not in ja  # opened: its time is in its first line
    assert ja.startswith(
        f"{cast.a.company_name}（alpha）について、Mamori が次のアラートを検知しました。\n"
    )
    assert f"http://testserver/alpha/devices/alerts/{ids['lax']}/" in ja
    assert "セキュリティ状態" not in ja  # not a kind mailed at once in these settings
    assert "このメールは、あなたのユーザーのメインのメールアドレス admin@alpha.example に" in ja
    assert "日時はあなたのタイムゾーン（Asia/Tokyo）で表示しています。" in ja
    assert (
        "即時にメールするアラートと日次サマリーの時刻は、設定 → アラート で選択できます："
        "http://testserver/alpha/settings/alerts/\n"
    ) in ja


@pytest.mark.django_db
def test_advice_of_a_risk_is_in_the_recipients_language(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    mails, _ids = _told_mails(cast, smtp_server, ["compromised"])
    assert "セキュリティリスク：\n- " in mails["admin@alpha.example"]
    assert "  デバイスを初期化してください。\n" in mails["admin@alpha.example"]
    assert "  Reset the device to factory settings.\n" in mails["eve@alpha.example"]


@pytest.mark.django_db
def test_a_contract_that_chose_nothing_mails_the_kinds_that_need_someone_at_once(
    cast: Cast,
) -> None:
    _recipients(cast)
    AlertSettings.objects.filter(contract=cast.a).delete()
    device = make_device(Organization.objects.get(contract=cast.a, parent=None))
    for kind in AlertKind:
        alert_open(device, kind=kind)
    mailed = set(AlertMail.objects.values_list("event__alert__kind", flat=True))
    assert mailed == {"left_management", "non_compliant", "compromised", "enterprise_unbound"}
    # A new settings row starts from the same choice.
    assert AlertSettings.objects.create(contract=cast.b).mail_immediately == [
        "left_management",
        "non_compliant",
        "compromised",
        "enterprise_unbound",
    ]


@pytest.mark.django_db
def test_the_broken_binding_is_mailed_without_a_device_and_with_what_to_do(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    from tests.alerts_data import unbound_alert

    _recipients(cast)
    AlertSettings.objects.filter(contract=cast.a).update(mail_immediately=["enterprise_unbound"])
    with time_machine.travel(T0, tick=False):
        alert = unbound_alert(cast.a.pk)
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        gather_results()
    mails = {m["To"]: m for m in _deliver(smtp_server, 2)}
    ja, en = mails["admin@alpha.example"], mails["eve@alpha.example"]
    assert ja["Subject"] == "[Mamori] 重要: Android Enterprise の連携切れ"
    assert en["Subject"] == "[Mamori] Important: Android Enterprise binding broken"
    assert (
        body_of(en)
        .replace("\r\n", "\n")
        .startswith(
            f"Mamori detected the following alerts for {cast.a.company_name} (alpha).\n"
            "\n"
            "[Important] Android Enterprise binding broken: Opened 2026-03-01 20:00 EST\n"
            "Google refuses Mamori's calls about this contract's Android Enterprise "
            "(PERMISSION_DENIED): Mamori's access to it was revoked, or the enterprise was deleted.\n"
            "Settings → Android Enterprise: http://testserver/alpha/settings/android/\n"
            "Restore Mamori's access in Google's console (managed Google Play, or the Google Admin "
            "console): the alert clears at Mamori's next successful call to Google about the "
            "enterprise. Sign up for a new enterprise only if this one is truly gone: the devices "
            "enrolled in it do not come back, and each would have to be enrolled again.\n"
            f"http://testserver/alpha/devices/alerts/{alert.pk}/\n"
        )
    )
    assert (
        body_of(ja)
        .replace("\r\n", "\n")
        .startswith(
            f"{cast.a.company_name}（alpha）について、Mamori が次のアラートを検知しました。\n"
            "\n"
            "[重要] Android Enterprise の連携切れ: 発生 2026-03-02 10:00 JST\n"
            "Google がこの契約の Android Enterprise に関する Mamori の呼び出しを拒否しています"
            "（PERMISSION_DENIED）。Mamori のアクセス権が取り消されたか、Enterprise が削除されて"
            "います。\n"
            "設定 → Android Enterprise: http://testserver/alpha/settings/android/\n"
            "Google のコンソール（managed Google Play または Google 管理コンソール）で Mamori の"
            "アクセス権を元に戻してください。"
        )
    )
    assert "デバイス" not in body_of(ja).split("-- ")[0].replace("デバイスは戻らず", "")


@pytest.mark.django_db
def test_a_command_refused_by_google_is_mailed_with_the_commands_page(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    _recipients(cast)
    AlertSettings.objects.filter(contract=cast.a).update(mail_immediately=["command_failed"])
    device = make_device(Organization.objects.get(contract=cast.a, parent=None), serial="SN-C")
    with time_machine.travel(T0, tick=False):
        alert, _ = alert_open(device, kind=AlertKind.COMMAND_FAILED)
    details = {"command_id": 41, "type": "LOCK", "status": "failed", "error_code": "NOT_FOUND"}
    Alert.objects.filter(pk=alert.pk).update(details=details)
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        gather_results()
    mails = {m["To"]: body_of(m).replace("\r\n", "\n") for m in _deliver(smtp_server, 2)}
    assert (
        "Google refused the command “Lock”.\n"
        "Device: SN-C (Pixel 8)\n"
        f"Organization: {device.organization.name}\n"
        "Why: Google no longer knows this device.\n"
        "The command and its results: http://testserver/alpha/devices/commands/41/\n"
        "It clears when a later command to this device succeeds.\n"
    ) in mails["eve@alpha.example"]
    assert (
        "Google がコマンド「ロック」を拒否しました。\n"
        "デバイス: SN-C (Pixel 8)\n"
        f"所属組織: {device.organization.name}\n"
        "理由：Google はこのデバイスをもう管理していません。\n"
        "コマンドとその結果: http://testserver/alpha/devices/commands/41/\n"
        "このデバイスへの後のコマンドが成功すると解除されます。\n"
    ) in mails["admin@alpha.example"]


@pytest.mark.django_db
def test_alerts_of_one_level_gathered_are_one_subject_of_that_level(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    _recipients(cast)
    root = Organization.objects.get(contract=cast.a, parent=None)
    with time_machine.travel(T0, tick=False):
        alert_open(make_device(root, serial="SN-1"))
        alert_open(make_device(root, serial="SN-2"))
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        gather_results()
    subjects = {m["To"]: m["Subject"] for m in _deliver(smtp_server, 2)}
    assert subjects == {
        "admin@alpha.example": "[Mamori] 注意: 2件のアラート",
        "eve@alpha.example": "[Mamori] Caution: 2 alerts",
    }


@pytest.mark.django_db
def test_advice_localized_by_region_is_mailed_in_the_recipients_language(
    cast: Cast, smtp_server: SmtpServer
) -> None:
    advice = COMPROMISED["postureDetails"][0]["advice"][0]  # type: ignore[index]
    regional = {"en-US": advice["defaultMessage"], "ja-JP": "デバイスを初期化してください。"}
    details = {
        **COMPROMISED,
        "postureDetails": [
            {"securityRisk": "COMPROMISED_OS", "advice": [advice | {"localizedMessages": regional}]}
        ],
    }
    mails, _ids = _told_mails(cast, smtp_server, ["compromised"], compromised=details)
    assert (
        "- OS が侵害されている（root 化または改変）可能性があります。\n"
        in mails["admin@alpha.example"]
    )
    assert "  デバイスを初期化してください。\n" in mails["admin@alpha.example"]
    assert "  Reset the device to factory settings.\n" in mails["eve@alpha.example"]
