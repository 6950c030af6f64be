"""The alert list (Devices → Alerts), an alert's page, Settings → Alerts and their API: order
(important first, then newest), filters, plain words in the person's language, the device
list's column, the count of open important alerts, and validation with clear messages."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from mamori.accounts.models import Account
from mamori.alerts.detect import devices_detect
from mamori.alerts.models import Alert, AlertKind, AlertSettings, AlertSummary
from mamori.api.api import api
from mamori.audit.models import LogEntry
from tests.alerts import support_holder
from tests.alerts_data import DEFAULTS, alert_of, cleared_no_report, unbound_alert
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, logged_in

pytestmark = pytest.mark.django_db
K = AlertKind


@pytest.fixture
def three(orgs: OrgCast) -> dict[str, Alert]:
    """A caution (oldest), an important, a warning (newest) and a cleared one."""
    caution = alert_of(make_device(orgs.tokyo, serial="CAUTION-1"), K.COMMAND_FAILED, 1)
    important = alert_of(make_device(orgs.dev, serial="IMPORTANT-1"), K.COMPROMISED, 3)
    warning = alert_of(make_device(orgs.tokyo, serial="WARNING-1"), K.NON_COMPLIANT, 2)
    cleared = cleared_no_report(make_device(orgs.tokyo, serial="CLEARED-1", hours_ago=30))
    return {"caution": caution, "important": important, "warning": warning, "cleared": cleared}


def ids(response) -> list[int]:
    return [a["id"] for a in response.json()["items"]]


def test_the_api_lists_open_alerts_important_first_then_newest_with_codes(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    client = api_client(orgs.cast.a1)
    response = client.get("/api/v1/alerts")
    assert ids(response) == [three["important"].pk, three["warning"].pk, three["caution"].pk]
    first = response.json()["items"][0]
    assert (first["kind"], first["level"], first["state"], first["cleared_at"]) == (
        "compromised",
        "important",
        "open",
        None,
    )
    assert ids(client.get("/api/v1/alerts?state=cleared")) == [three["cleared"].pk]
    assert len(ids(client.get("/api/v1/alerts?state=all"))) == 4
    assert ids(client.get("/api/v1/alerts?level=warning")) == [three["warning"].pk]
    assert ids(client.get("/api/v1/alerts?kind=command_failed")) == [three["caution"].pk]
    by_org = client.get(f"/api/v1/alerts?organization_id={orgs.sales.pk}")
    assert ids(by_org) == [three["warning"].pk, three["caution"].pk]
    page = client.get("/api/v1/alerts?limit=2")
    assert ids(page) == [three["important"].pk, three["warning"].pk]
    rest = client.get(f"/api/v1/alerts?limit=2&after={page.json()['next_cursor']}")
    assert ids(rest) == [three["caution"].pk] and rest.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=urgent", "level"),
        ("kind=fire", "kind"),
        ("state=gone", "state"),
        ("after=x", "after"),
    ],
)
def test_bad_filters_are_a_422_naming_the_parameter(orgs: OrgCast, query: str, field: str) -> None:
    response = api_client(orgs.cast.a1).get(f"/api/v1/alerts?{query}")
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


def test_one_alert_in_the_api_has_its_events_and_a_sentence(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    body = api_client(orgs.cast.a1).get(f"/api/v1/alerts/{three['cleared'].pk}").json()
    assert [(e["action"], e["level"], e["previous_level"]) for e in body["events"]] == [
        ("opened", "caution", None),
        ("cleared", "caution", "caution"),
    ]
    assert body["state"] == "cleared" and body["summary"].startswith("デバイスから 30 時間")


def test_the_list_page_shows_level_kind_device_and_state_in_japanese(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    page = logged_in(orgs.cast.a1).get("/alpha/devices/alerts/").content.decode()
    rows = [page.index(f'data-alert="{three[k].pk}"') for k in ("important", "warning", "caution")]
    assert rows == sorted(rows)
    assert f'data-alert="{three["cleared"].pk}"' not in page
    assert "重要" in page and "IMPORTANT-1" in page and "セキュリティ" in page
    cleared = logged_in(orgs.cast.a1).get("/alpha/devices/alerts/?state=cleared").content
    assert f'data-alert="{three["cleared"].pk}"'.encode() in cleared


def test_an_alerts_page_gives_the_reasons_in_words_and_its_history(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/alerts/{three['warning'].pk}/")
    text = page.content.decode()
    assert 'id="alert-reasons"' in text and "USER_ACTION" in text
    assert 'data-event="opened"' in text
    # The spot where the mail and webhook deliveries go (the other half of issue 10).
    assert "alerts/deliveries.html" in [t.name for t in page.templates]


def test_the_device_list_shows_each_devices_highest_open_level(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    device = three["warning"].device
    alert_of(device, K.COMPROMISED, 3)
    page = logged_in(orgs.cast.a1).get("/alpha/devices/?q=WARNING-1").content.decode()
    assert 'data-alert-level="3"' in page and 'data-alert-level="2"' not in page


def test_the_devices_tab_and_home_count_the_open_important_alerts(
    orgs: OrgCast, three: dict[str, Alert]
) -> None:
    unbound_alert(orgs.cast.a.pk)
    system = logged_in(orgs.cast.a1).get("/alpha/devices/").content.decode()
    # The Devices sub-tab and the top-level Devices tab say what they count.
    said = (
        'title="発生中の重要アラート 2 件"><span aria-hidden="true">重要 2</span>'
        '<span class="visually-hidden">発生中の重要アラート 2 件</span></span>'
    )
    assert f'data-badge="alerts" {said}' in system
    assert f'id="devices-tab-badge" {said}' in system
    department = logged_in(orgs.a2).get("/alpha/devices/").content.decode()
    assert 'data-badge="alerts"' not in department  # its organizations have none
    assert 'id="devices-tab-badge"' not in department
    home = logged_in(orgs.cast.a1).get("/alpha/").content.decode()
    assert 'id="home-important-alerts"' in home and "2" in home
    assert f'id="devices-tab-badge" {said}' in home
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language="en")
    users = logged_in(orgs.cast.a1).get("/alpha/users/").content.decode()  # on every page
    english = 'title="2 important alerts open"><span aria-hidden="true">2 important</span>'
    assert f'id="devices-tab-badge" {english}' in users


def test_settings_page_saves_and_refuses_a_warning_before_the_caution(orgs: OrgCast) -> None:
    client = logged_in(orgs.cast.a1)
    values = {
        "mail_immediately": ["left_management", "compromised"],
        "caution_hours": "48",
        "warning_hours": "24",
        "non_compliance_grace_minutes": "0",
        "summary_hour": "8",
        "summary_timezone": "America/New_York",
    }
    refused = client.post("/alpha/settings/alerts/", values)
    assert refused.status_code == 200
    assert "48" in refused.context["form"].errors["warning_hours"][0]
    assert not AlertSettings.objects.exists()
    saved = client.post("/alpha/settings/alerts/", values | {"warning_hours": "96"})
    assert saved.status_code == 302
    settings = AlertSettings.objects.get()
    assert (settings.mail_immediately, settings.warning_hours, settings.summary_timezone) == (
        ["left_management", "compromised"],
        96,
        "America/New_York",
    )
    assert LogEntry.objects.filter(action="alert_settings.changed").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mail_immediately": ["no_report", "fire"]}, "mail_immediately"),
        ({"caution_hours": 0}, "caution_hours"),
        ({"warning_hours": 24}, "warning_hours"),
        ({"non_compliance_grace_minutes": -1}, "non_compliance_grace_minutes"),
        ({"summary_hour": 24}, "summary_hour"),
        ({"summary_timezone": "Mars/Olympus"}, "summary_timezone"),
    ],
)
def test_the_api_refuses_bad_settings_naming_the_field(
    orgs: OrgCast, change: dict, field: str
) -> None:
    client = api_client(orgs.cast.a1)
    values = client.get("/api/v1/settings/alerts").json()
    assert values == DEFAULTS
    response = client.put(
        "/api/v1/settings/alerts", values | change, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert not AlertSettings.objects.exists()
    assert not LogEntry.objects.filter(action="alert_settings.changed").exists()


def test_the_alert_page_speaks_the_persons_language(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, hours_ago=None)
    device.created_at = timezone.now() - datetime.timedelta(hours=30)
    Alert.objects.all().delete()
    alert = alert_of(device, K.LEFT_MANAGEMENT, 3)
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/alerts/{alert.pk}/").content.decode()
    assert "管理" in page  # Japanese words, not the English source
    assert "without Mamori ordering it" not in page


def test_an_alert_opened_by_the_detector_is_mailed_and_its_page_lists_the_mail(
    orgs: OrgCast,
) -> None:
    from tests.alerts import support_holder
    from tests.alerts_data import settings_set

    support_holder(orgs.cast.a1)
    settings_set(orgs, mail_immediately=["no_report"])
    device = make_device(orgs.tokyo, serial="MAILED-1", hours_ago=30)
    with transaction.atomic():
        devices_detect([device.pk])
    alert = Alert.objects.get(device=device)
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/alerts/{alert.pk}/").content.decode()
    assert 'id="alert-deliveries"' in page
    # Waiting for the end of the minute, when the mails of one recipient are gathered into one.
    assert 'data-notice="at_once-waiting"' in page and "admin@alpha.example" in page
    # An Operator sees the alert, not who was mailed nor which URLs were called.
    operator_page = logged_in(orgs.a3).get(f"/alpha/devices/alerts/{alert.pk}/")
    assert operator_page.status_code == 200
    text = operator_page.content.decode()
    assert 'id="alert-deliveries"' not in text and "admin@alpha.example" not in text


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("JST", "Asia/Tokyo"),
        ("asia/tokyo", "Asia/Tokyo"),
        ("Tokyo", "Asia/Tokyo"),
        ("東京", "Asia/Tokyo"),
        ("UTC+9", "Etc/GMT-9"),
        ("-05:00", "Etc/GMT+5"),
        ("PST", "America/Los_Angeles"),
    ],
)
def test_the_api_and_the_page_take_the_same_timezones(
    orgs: OrgCast, typed: str, stored: str
) -> None:
    """One rule (``core.timezones.timezone_parse``) for the panel's picker and the API."""
    # summary_hour 9: a change (the default zone alone would be none, and nothing saved).
    response = api_client(orgs.cast.a1).put(
        "/api/v1/settings/alerts",
        DEFAULTS | {"summary_hour": 9, "summary_timezone": typed},
        "application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["summary_timezone"] == stored
    AlertSettings.objects.all().delete()
    page = logged_in(orgs.cast.a1).post(
        "/alpha/settings/alerts/",
        {
            "mail_immediately": DEFAULTS["mail_immediately"],
            "caution_hours": "24",
            "warning_hours": "72",
            "non_compliance_grace_minutes": "60",
            "summary_hour": "9",
            "summary_timezone": typed,
        },
    )
    assert page.status_code == 302
    assert AlertSettings.objects.get().summary_timezone == stored


def test_a_timezone_refused_says_which_values_are_taken(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.b1)  # English
    response = client.put(
        "/api/v1/settings/alerts", DEFAULTS | {"summary_timezone": "UTC+9:30"}, "application/json"
    )
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "The request is not valid.",
        "details": [
            {
                "field": "summary_timezone",
                "message": "“UTC+9:30” is not a timezone. Give a city (Tokyo), an IANA name "
                "(Asia/Tokyo), an abbreviation (JST, KST, HKT, SGT, UTC, GMT, Z, PST, PDT, EST, "
                "EDT, CET, BST, AEST) or a whole-hour UTC offset (UTC+9, -05:00).",
            }
        ],
    }
    assert not AlertSettings.objects.exists()
    described = api.get_openapi_schema()["components"]["schemas"]["AlertSettingsIO"]
    assert "JST, KST" in described["properties"]["summary_timezone"]["description"]
    assert "UTC+9" in described["properties"]["summary_timezone"]["description"]


def test_the_settings_page_names_the_timezone_forms_and_the_next_summary(
    orgs: OrgCast,
) -> None:
    from mamori.accounts.models import Account

    Account.objects.filter(pk=orgs.cast.a1.pk).update(timezone="America/New_York")
    # 2026-03-02 01:00 UTC is 10:00 JST: the summary of the 2nd is due and not made yet.
    at = datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC)
    with time_machine.travel(at):
        page = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").content.decode()
    assert (
        "2026-03-02 10:00 JST の日次サマリーはまだ作成されていません。伝える内容があれば、1 分以内に"
        "ワーカーが作成します。"
    ) in page
    # Made: the next one is on the 3rd.
    AlertSummary.objects.create(
        contract=orgs.cast.a, day=datetime.date(2026, 3, 2), due_at=at, since=at, until=at
    )
    with time_machine.travel(at):
        page = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").content.decode()
    assert (
        "次の日次サマリーは 2026-03-03 10:00 JST（あなたのタイムゾーンでは 2026-03-02 20:00 EST）"
        "に送信されます（伝える内容がある場合）。"
    ) in page
    assert "略称（JST, KST, HKT, SGT, UTC, GMT, Z, PST, PDT, EST, EDT, CET, BST, AEST）" in page
    # The kinds that need someone are chosen until a System administrator chooses others.
    form = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").context["form"]
    assert form.initial["mail_immediately"] == [
        "left_management",
        "non_compliant",
        "compromised",
        "enterprise_unbound",
    ]


def test_a_viewer_in_the_summarys_timezone_reads_the_time_once(orgs: OrgCast) -> None:
    from mamori.accounts.models import Account

    Account.objects.filter(pk=orgs.cast.b1.pk).update(timezone="Asia/Tokyo")
    at = datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC)
    AlertSummary.objects.create(
        contract=orgs.cast.b, day=datetime.date(2026, 3, 2), due_at=at, since=at, until=at
    )
    with time_machine.travel(at):
        page = logged_in(orgs.cast.b1).get("/bravo/settings/alerts/").content.decode()
    assert "The next daily summary is due at 2026-03-03 10:00 JST, if there is anything" in page


def test_a_fraction_where_hours_are_whole_is_said_so(orgs: OrgCast) -> None:
    client = logged_in(orgs.cast.b1)
    values = {
        "mail_immediately": [],
        "caution_hours": "1.5",
        "warning_hours": "72",
        "non_compliance_grace_minutes": "60",
        "summary_hour": "10",
        "summary_timezone": "Asia/Tokyo",
    }
    refused = client.post("/bravo/settings/alerts/", values)
    assert refused.context["form"].errors["caution_hours"] == [
        "Enter a whole number for No status report: caution after (hours)."
    ]
    response = api_client(orgs.cast.b1).put(
        "/api/v1/settings/alerts", DEFAULTS | {"caution_hours": 1.5}, "application/json"
    )
    assert response.json()["error"]["details"] == [
        {
            "field": "caution_hours",
            "message": "Enter a whole number as a JSON number, such as 3 (not 1.5, text, true "
            "or false).",
        }
    ]
    assert not AlertSettings.objects.exists()


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        # A value outside the listed ones breaks the list's rule, as on GET /devices.
        ("level=urgent", "invalid", "level"),
        ("kind=fire", "invalid", "kind"),
        ("state=gone", "invalid", "state"),
        ("after=x", "invalid", "after"),
        # What does not match the document: a type, a range, a parameter not read.
        ("organization_id=true", "invalid_request", "organization_id"),
        ("limit=0", "invalid_request", "limit"),
        ("cursor=x", "invalid_request", "cursor"),
    ],
)
def test_the_alert_list_answers_the_codes_the_devices_list_does(
    orgs: OrgCast, query: str, code: str, field: str
) -> None:
    response = api_client(orgs.cast.a1).get(f"/api/v1/alerts?{query}")
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    devices = {"level": "state", "kind": "kind", "state": "compliance"}.get(field, field)
    value = query.split("=", 1)[1]
    same = api_client(orgs.cast.a1).get(f"/api/v1/devices?{devices}={value}")
    assert same.json()["error"]["code"] == code


def test_the_settings_page_says_who_gets_alert_mail_or_that_nobody_does(orgs: OrgCast) -> None:
    from mamori.accounts.models import Account

    nobody = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").content.decode()
    assert "アラートメールを受け取る人がまだいません。" in nobody
    assert 'href="/alpha/users/"' in nobody
    support_holder(orgs.cast.a1)
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language="en")
    page = logged_in(orgs.cast.a1).get("/alpha/settings/alerts/").content.decode()
    name = orgs.cast.a1.user.name
    assert f"Alert mail goes to: {name} &lt;admin@alpha.example&gt;." in page
    assert "Nobody receives alert mail yet" not in page
