"""The alerts in the panel beyond their own pages: a device's page lists its open alerts, the
alert list filtered by device (and ``device_id`` in the API), filters it cannot read left out
and named (never an error page), and the help of Settings → Alerts — in both languages. (The
Devices tabs' badge: ``test_alerts_pages``.)"""

from __future__ import annotations

import pytest

from mamori.accounts.models import Account, PermissionScheme
from mamori.alerts.models import AlertKind
from tests.alerts_data import alert_of, cleared_no_report
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, logged_in, make_account, make_user

pytestmark = pytest.mark.django_db
K = AlertKind


@pytest.fixture
def phone(orgs: OrgCast) -> dict:
    """A device in 東京 with an important and a warning alert open and one cleared, and
    another device with an alert of its own."""
    device = make_device(orgs.tokyo, user=orgs.sato, serial="PHONE-1")
    cleared = cleared_no_report(device)  # first: the detector clears what the device denies
    warning = alert_of(device, K.NON_COMPLIANT, 2)
    important = alert_of(device, K.COMPROMISED, 3)
    other = alert_of(make_device(orgs.tokyo, serial="OTHER-1"), K.COMMAND_FAILED, 1)
    return {
        "device": device,
        "important": important,
        "warning": warning,
        "cleared": cleared,
        "other": other,
    }


def section(html: str) -> str:
    """The Alerts section of a device's page."""
    start = html.index('<section class="card mb-3" id="device-alerts">')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "ja",
            (
                "アラート",
                "このデバイスのすべてのアラート",
                "重要",
                "警告",
                "Google がこのデバイスを「侵害の可能性あり」と報告しています。",
                "（Asia/Tokyo）から",
            ),
        ),
        (
            "en",
            (
                "Alerts",
                "All alerts of this device",
                "Important",
                "Warning",
                "Google reports the device as potentially compromised.",
                "since ",
            ),
        ),
    ],
)
def test_a_devices_page_lists_its_open_alerts_each_linking_to_its_page(
    orgs: OrgCast, phone: dict, lang: str, words: tuple[str, ...]
) -> None:
    Account.objects.filter(pk=orgs.a3.pk).update(language=lang)
    page = logged_in(orgs.a3).get(f"/alpha/devices/{phone['device'].pk}/")
    assert page.status_code == 200
    part = section(page.content.decode())
    for word in words:
        assert word in part, word
    assert "(Asia/Tokyo)" in part or "（Asia/Tokyo）" in part
    shown = [phone[k].pk for k in ("important", "warning")]
    rows = [part.index(f'data-alert="{pk}"') for pk in shown]
    assert rows == sorted(rows)  # important first
    for pk in shown:
        assert f'href="/alpha/devices/alerts/{pk}/"' in part
    assert f'data-alert="{phone["cleared"].pk}"' not in part
    assert f'data-alert="{phone["other"].pk}"' not in part
    device_id = phone["device"].pk
    assert f'href="/alpha/devices/alerts/?device={device_id}&amp;state=all"' in part


def test_a_device_without_open_alerts_says_so(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, serial="QUIET-1")
    cleared_no_report(device)
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/{device.pk}/").content.decode()
    part = section(page)
    assert "発生中のアラートはありません。" in part and "data-alert=" not in part
    assert "このデバイスのすべてのアラート" in part


def test_an_account_that_sees_devices_but_not_alerts_gets_no_alerts_section(
    orgs: OrgCast, phone: dict
) -> None:
    scheme = PermissionScheme.objects.create(
        contract=orgs.cast.a, name="Devices only", permissions=["devices.view"]
    )
    viewer = make_account(
        make_user(orgs.tokyo, "端末 五郎", "goro@alpha.example"),
        "goro",
        "custom_admin",
        scope=(orgs.tokyo,),
        scheme=scheme,
    )
    page = logged_in(viewer).get(f"/alpha/devices/{phone['device'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="device-alerts"' not in html and 'id="devices-tab-badge"' not in html
    assert logged_in(viewer).get("/alpha/devices/alerts/").status_code == 403


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ja", ("デバイス PHONE-1 のアラートです。", "すべてのデバイスのアラートを表示")),
        ("en", ("The alerts of the device PHONE-1.", "Show the alerts of every device")),
    ],
)
def test_the_list_filtered_by_a_device_shows_its_alerts_open_and_cleared(
    orgs: OrgCast, phone: dict, lang: str, words: tuple[str, str]
) -> None:
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language=lang)
    device_id = phone["device"].pk
    client = logged_in(orgs.cast.a1)
    html = client.get(f"/alpha/devices/alerts/?device={device_id}&state=all").content.decode()
    listed = [
        k
        for k in ("important", "warning", "cleared", "other")
        if f'data-alert="{phone[k].pk}"' in html
    ]
    assert listed == ["important", "warning", "cleared"]
    assert words[0] in html and f'<a href="?state=all">{words[1]}</a>' in html
    # The other filters keep the device.
    assert f'<input type="hidden" name="device" value="{device_id}">' in html
    html = client.get(f"/alpha/devices/alerts/?device={device_id}&level=warning").content.decode()
    assert f'data-alert="{phone["warning"].pk}"' in html
    assert f'data-alert="{phone["important"].pk}"' not in html
    assert 'id="alert-filters-unread"' not in html


def test_the_api_lists_one_devices_alerts(orgs: OrgCast, phone: dict) -> None:
    client = api_client(orgs.cast.a1)
    device_id = phone["device"].pk
    items = client.get(f"/api/v1/alerts?device_id={device_id}&state=all").json()["items"]
    assert [a["id"] for a in items] == [
        phone["important"].pk,
        phone["warning"].pk,
        phone["cleared"].pk,
    ]
    assert {a["device_id"] for a in items} == {device_id}
    missing = client.get("/api/v1/alerts?device_id=99999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


UNREADABLE = [
    ("level=bogus", "レベル"),
    ("level=", None),
    ("kind=fire", "種別"),
    ("state=gone", "状態"),
    ("org=abc", "所属組織"),
    ("org=99999999", "所属組織"),
    ("org=-1", "所属組織"),
    ("org=0", "所属組織"),
    ("org=99999999999999999999999", "所属組織"),
    ("sub=maybe", "下位組織"),
    ("device=abc", "デバイス"),
    ("device=99999999", "デバイス"),
    ("device=99999999999999999999999", "デバイス"),
    ("after=x", "ページ"),
    ("after=" + "A" * 300, "ページ"),
    ("level=bogus&kind=fire", "レベル, 種別"),
]


@pytest.mark.parametrize(("query", "named"), UNREADABLE)
def test_a_filter_value_the_list_cannot_read_is_left_out_and_named(
    orgs: OrgCast, phone: dict, query: str, named: str | None
) -> None:
    client = logged_in(orgs.cast.a1)
    response = client.get(f"/alpha/devices/alerts/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    shown = [k for k in ("important", "warning", "other") if f'data-alert="{phone[k].pk}"' in html]
    assert shown == ["important", "warning", "other"]  # as with no filter at all
    if named is None:
        assert 'id="alert-filters-unread"' not in html
    else:
        notice = f"次の絞り込み条件は読み取れなかったため、除外しました：{named}。"
        assert notice in html


def test_the_notice_of_unreadable_filters_is_in_english_for_an_english_account(
    orgs: OrgCast, phone: dict
) -> None:
    html = logged_in(orgs.a3).get("/alpha/devices/alerts/?level=bogus&device=x").content.decode()
    assert "These filters could not be read and were left out: Level, Device." in html


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "ja",
            "最短 1 時間（アラートを試すときも、これより短くは設定できません）、最長 8759 時間です。",
        ),
        (
            "en",
            "At least 1 hour (the shortest that can be set, also to try the alert out), at most 8759.",
        ),
    ],
)
def test_the_settings_say_the_caution_cannot_be_under_an_hour(
    orgs: OrgCast, lang: str, words: str
) -> None:
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language=lang)
    html = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").content.decode()
    assert '<div class="form-hint" id="id_caution_hours-help">' in html
    assert words in html
