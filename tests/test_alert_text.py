"""An alert in plain words (``alerts.text``) on its page and its list, in both languages: a
failed command says whether Google refused it or the device failed it and links to the
command; the broken enterprise binding says what to do and links to Settings → Android
Enterprise; Google's advice is in the reader's language; a cleared alert is told in the past."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from mamori.accounts.models import Account
from mamori.alerts.models import Alert, AlertKind, AlertLevel
from mamori.alerts.text import alert_notes, alert_summary
from tests.alerts_data import alert_of, cleared_no_report, unbound_alert
from tests.android.devices import make_device
from tests.conftest import OrgCast, logged_in

K, L = AlertKind, AlertLevel
NOW = datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC)
EARLIER = NOW - datetime.timedelta(hours=100)


def failed(code: str, status: str = "failed") -> dict:
    return {"command_id": 7, "type": "LOCK", "status": status, "error_code": code}


@pytest.mark.parametrize(
    ("kind", "level", "details", "cleared_at", "en", "ja"),
    [
        (
            K.COMMAND_FAILED,
            L.CAUTION,
            failed("PERMISSION_DENIED"),
            None,
            "Google refused the command “Lock”.",
            "Google がコマンド「ロック」を拒否しました。",
        ),
        (
            K.COMMAND_FAILED,
            L.CAUTION,
            failed("API_LEVEL"),
            None,
            "The command “Lock” failed on the device.",
            "コマンド「ロック」がデバイスで失敗しました。",
        ),
        (
            K.COMMAND_FAILED,
            L.CAUTION,
            failed("NOT_SENT"),
            None,
            "The command “Lock” could not be sent to Google.",
            "コマンド「ロック」を Google に送信できませんでした。",
        ),
        (
            K.COMMAND_FAILED,
            L.CAUTION,
            failed("", "expired"),
            None,
            "The command “Lock” expired before the device carried it out.",
            "コマンド「ロック」はデバイスが実行する前に期限切れになりました。",
        ),
        (
            K.ENTERPRISE_UNBOUND,
            L.IMPORTANT,
            {"code": "PERMISSION_DENIED"},
            None,
            "Google refuses Mamori's calls about this contract's Android Enterprise "
            "(PERMISSION_DENIED): Mamori's access to it was revoked, or the enterprise was "
            "deleted.",
            "Google がこの契約の Android Enterprise に関する Mamori の呼び出しを拒否しています"
            "（PERMISSION_DENIED）。Mamori のアクセス権が取り消されたか、Enterprise が削除されて"
            "います。",
        ),
        (
            K.ENTERPRISE_UNBOUND,
            L.IMPORTANT,
            {"code": "PERMISSION_DENIED"},
            EARLIER,
            "Google refused Mamori's calls about this contract's Android Enterprise "
            "(PERMISSION_DENIED): Mamori's access to it had been revoked, or the enterprise "
            "deleted.",
            "Google がこの契約の Android Enterprise に関する Mamori の呼び出しを拒否していました"
            "（PERMISSION_DENIED）。Mamori のアクセス権が取り消されていたか、Enterprise が削除"
            "されていました。",
        ),
        (
            K.COMPROMISED,
            L.WARNING,
            {"posture": "AT_RISK"},
            EARLIER,
            "Google reported the device as at risk.",
            "Google がこのデバイスを「リスクあり」と報告していました。",
        ),
        (
            K.COMPROMISED,
            L.IMPORTANT,
            {"posture": "POTENTIALLY_COMPROMISED"},
            EARLIER,
            "Google reported the device as potentially compromised.",
            "Google がこのデバイスを「侵害の可能性あり」と報告していました。",
        ),
        (
            K.NON_COMPLIANT,
            L.WARNING,
            {"nonComplianceDetails": [{}, {}]},
            EARLIER,
            "The device did not comply with its profile (2 reasons).",
            "デバイスがプロファイルに準拠していませんでした（理由 2 件）。",
        ),
        (
            # Silent for 30 hours until it cleared, 100 hours ago: told up to its clearing.
            K.NO_REPORT,
            L.CAUTION,
            {"last_status_report_at": (EARLIER - datetime.timedelta(hours=30)).isoformat()},
            EARLIER,
            "The device sent no status report for 30 hours.",
            "デバイスから 30 時間状態報告が届いていませんでした。",
        ),
        (
            K.NO_REPORT,
            L.CAUTION,
            {},
            EARLIER,
            "The device had never sent a status report.",
            "デバイスから状態報告が一度も届いていませんでした。",
        ),
    ],
)
def test_an_alerts_sentence_in_both_languages(
    kind: str, level: int, details: dict, cleared_at: datetime.datetime | None, en: str, ja: str
) -> None:
    alert = Alert(kind=kind, level=level, details=details, cleared_at=cleared_at)
    with translation.override("en"):
        assert alert_summary(alert, NOW) == en
    with translation.override("ja"):
        assert alert_summary(alert, NOW) == ja


def test_an_alert_told_as_at_a_moment_before_its_clearing_is_in_the_present() -> None:
    alert = Alert(kind=K.COMPROMISED, level=L.WARNING, details={}, cleared_at=NOW)
    with translation.override("en"):
        assert alert_summary(alert, NOW - datetime.timedelta(seconds=1)) == (
            "Google reports the device as at risk."
        )
        assert alert_summary(alert, NOW) == "Google reported the device as at risk."


def test_a_compromised_alert_told_at_a_level_says_that_levels_posture() -> None:
    # Opened at risk (warning), risen to potentially compromised: its opening is told at risk.
    alert = Alert(
        kind=K.COMPROMISED, level=L.WARNING, details={"posture": "POTENTIALLY_COMPROMISED"}
    )
    with translation.override("en"):
        assert alert_summary(alert, NOW) == "Google reports the device as at risk."


@pytest.mark.parametrize(
    ("kind", "en", "ja"),
    [
        (
            K.COMMAND_FAILED,
            "It clears when a later command to this device succeeds.",
            "このデバイスへの後のコマンドが成功すると解除されます。",
        ),
        (
            K.ENTERPRISE_UNBOUND,
            "Restore Mamori's access in Google's console (managed Google Play, or the Google "
            "Admin console): the alert clears at Mamori's next successful call to Google about "
            "the enterprise. Sign up for a new enterprise only if this one is truly gone: the "
            "devices enrolled in it do not come back, and each would have to be enrolled again.",
            "Google のコンソール（managed Google Play または Google 管理コンソール）で Mamori の"
            "アクセス権を元に戻してください。Mamori の次の Google への呼び出しが成功するとアラート"
            "は解除されます。新しい Enterprise を登録するのは、この Enterprise が本当に削除された"
            "場合だけにしてください。この Enterprise に登録されたデバイスは戻らず、すべて登録し"
            "直しになります。",
        ),
    ],
)
def test_an_alerts_notes_in_both_languages(kind: str, en: str, ja: str) -> None:
    with translation.override("en"):
        assert alert_notes(Alert(kind=kind)) == [en]
    with translation.override("ja"):
        assert alert_notes(Alert(kind=kind)) == [ja]


# The pages ---------------------------------------------------------------------------------


def _page(account: Account, alert: Alert, language: str) -> str:
    Account.objects.filter(pk=account.pk).update(language=language)
    response = logged_in(account).get(f"/alpha/devices/alerts/{alert.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sentence", "link"),
    [
        (
            "en",
            "Google refuses Mamori&#x27;s calls about this contract&#x27;s Android Enterprise "
            "(PERMISSION_DENIED)",
            "Settings → Android Enterprise",
        ),
        (
            "ja",
            "Google がこの契約の Android Enterprise に関する Mamori の呼び出しを拒否しています",
            "設定 → Android Enterprise",
        ),
    ],
)
def test_the_broken_binding_links_to_the_android_enterprise_settings(
    orgs: OrgCast, language: str, sentence: str, link: str
) -> None:
    page = _page(orgs.cast.a1, unbound_alert(orgs.cast.a.pk), language)
    assert sentence in page
    assert (
        '<p class="card card-body mb-3" id="alert-enterprise"><a id="alert-enterprise-link" '
        f'href="/alpha/settings/android/">{link}</a></p>'
    ) in page
    assert 'id="alert-command"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sentence", "reason", "link"),
    [
        (
            "en",
            "Google refused the command “Lock”.",
            "Google refused the command: Mamori lacks the permission.",
            "The command and its results",
        ),
        (
            "ja",
            "Google がコマンド「ロック」を拒否しました。",
            "Google がコマンドを拒否しました。Mamori に権限がありません。",
            "コマンドとその結果",
        ),
    ],
)
def test_a_command_refused_by_google_says_so_and_links_to_the_command(
    orgs: OrgCast, language: str, sentence: str, reason: str, link: str
) -> None:
    alert = alert_of(make_device(orgs.tokyo, serial="LOCK-1"), K.COMMAND_FAILED, 1)
    Alert.objects.filter(pk=alert.pk).update(
        details=failed("PERMISSION_DENIED") | {"command_id": 41}
    )
    page = _page(orgs.cast.a1, alert, language)
    assert f'<p id="alert-summary">{sentence}</p>' in page
    assert (
        f'<p class="card card-body mb-3" id="alert-command">{reason} <a id="alert-command-link" '
        f'href="/alpha/devices/commands/41/">{link}</a></p>'
    ) in page
    assert 'id="alert-enterprise"' not in page


ADVICE = {
    "posture": "POTENTIALLY_COMPROMISED",
    "postureDetails": [
        {
            "securityRisk": "COMPROMISED_OS",
            "advice": [
                {
                    "defaultMessage": "Reset the device to factory settings.",
                    "localizedMessages": {
                        "en-US": "Reset the device to factory settings.",
                        "ja-JP": "デバイスを初期化してください。",
                    },
                }
            ],
        }
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "advice"),
    [("ja", "デバイスを初期化してください。"), ("en", "Reset the device to factory settings.")],
)
def test_googles_advice_on_the_alert_page_is_in_the_readers_language(
    orgs: OrgCast, language: str, advice: str
) -> None:
    alert = alert_of(make_device(orgs.tokyo, serial="RISK-1"), K.COMPROMISED, 3)
    Alert.objects.filter(pk=alert.pk).update(details=ADVICE)
    page = _page(orgs.cast.a1, alert, language)
    assert f'<div class="small text-secondary">{advice}</div>' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("ja", "デバイスから 30 時間状態報告が届いていませんでした。"),
        ("en", "The device sent no status report for 30 hours."),
    ],
)
def test_a_cleared_alert_is_told_in_the_past_on_its_page_and_the_list(
    orgs: OrgCast, language: str, sentence: str
) -> None:
    alert = cleared_no_report(make_device(orgs.tokyo, serial="QUIET-1"))
    assert f'<p id="alert-summary">{sentence}</p>' in _page(orgs.cast.a1, alert, language)
    listed = logged_in(orgs.cast.a1).get("/alpha/devices/alerts/?state=cleared").content.decode()
    assert f'<span class="d-block small text-secondary alert-summary">{sentence}</span>' in listed
