"""Alerts that cannot clear by themselves (a newcomer's review of issue 10): a device that left
management, a failed command, anything of a device that is gone.

- an administrator closes one from its page or the API: it counts as cleared (a ``cleared``
  event), names who closed it, and writes one operation-log entry whose values read as words;
- an alert that clears by itself offers no button and is refused (it would open again);
- a device that is gone takes its failed commands' alerts with it;
- a device moved to another organization takes all its alerts along, open and cleared.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from mamori.accounts.models import Account
from mamori.alerts.detect import devices_detect
from mamori.alerts.models import Alert, AlertEvent, AlertKind
from mamori.android.inventory.services import device_move
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.alerts_data import alert_of, cleared_no_report
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, logged_in

pytestmark = pytest.mark.django_db
K = AlertKind


def english(account):  # type: ignore[no-untyped-def]
    account.language = "en"
    account.save()
    return logged_in(account)


def test_an_administrator_closes_an_alert_that_cannot_clear_by_itself(orgs: OrgCast) -> None:
    alert = alert_of(make_device(orgs.tokyo, serial="GONE-1"), K.LEFT_MANAGEMENT)
    japanese = logged_in(orgs.cast.a1).get(f"/alpha/devices/alerts/{alert.pk}/").content.decode()
    assert "このアラートは自動では解除されません。" in japanese
    assert "このアラートをクローズ" in japanese
    client = english(orgs.cast.a1)
    page = client.get(f"/alpha/devices/alerts/{alert.pk}/").content.decode()
    assert 'id="alert-close"' in page
    assert "This alert does not clear by itself." in page

    response = client.post(f"/alpha/devices/alerts/{alert.pk}/close/", follow=True)
    html = response.content.decode()
    assert "The alert has been closed." in html
    assert f"(closed by {orgs.cast.a1.user.name})" in html
    assert 'id="alert-close"' not in html
    alert.refresh_from_db()
    assert alert.cleared_at is not None and alert.closed_by_id == orgs.cast.a1.pk
    assert list(AlertEvent.objects.filter(alert=alert).values_list("action", flat=True)) == [
        "opened",
        "cleared",
    ]
    entry = LogEntry.objects.get(action="alert.closed")
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "alert",
        str(alert.pk),
        "left_management GONE-1",
    )
    assert (entry.before, entry.after) == ({"alert_state": "open"}, {"alert_state": "closed"})
    # Read in each reader's language: the kind by its name, the state in words.
    log = logged_in(orgs.cast.a1).get(f"/alpha/logs/{entry.pk}/").content.decode()
    assert "Left management: GONE-1" in log and "left_management" not in log
    assert "Closed by hand" in log
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language="ja")
    log = logged_in(orgs.cast.a1).get(f"/alpha/logs/{entry.pk}/").content.decode()
    assert "管理外: GONE-1" in log and "手動でクローズ" in log


def test_the_api_closes_and_refuses_what_clears_by_itself_or_is_cleared(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, serial="PHONE-9")
    failed = alert_of(device, K.COMMAND_FAILED, 1)
    risky = alert_of(device, K.COMPROMISED)
    api = api_client(orgs.cast.a1)
    listed = {a["id"]: a["closable"] for a in api.get("/api/v1/alerts").json()["items"]}
    assert listed == {failed.pk: True, risky.pk: False}

    closed = api.post(f"/api/v1/alerts/{failed.pk}/close")
    assert closed.status_code == 200
    assert (closed.json()["state"], closed.json()["closable"]) == ("cleared", False)
    assert closed.json()["closed_by"] == orgs.cast.a1.user.name
    entries = LogEntry.objects.filter(action="alert.closed").count()
    again = api.post(f"/api/v1/alerts/{failed.pk}/close")
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "invalid"
    refused = api.post(f"/api/v1/alerts/{risky.pk}/close")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["message"].startswith(
        "このアラートは状態が解消すると自動で解除されます。"
    )
    assert Alert.objects.get(pk=risky.pk).cleared_at is None
    assert LogEntry.objects.filter(action="alert.closed").count() == entries
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/alerts/{risky.pk}/").content.decode()
    assert 'id="alert-close"' not in page
    posted = english(orgs.cast.a1).post(f"/alpha/devices/alerts/{risky.pk}/close/", follow=True)
    assert "This alert clears by itself when its condition ends" in posted.content.decode()


def test_an_operator_sees_no_close_button(orgs: OrgCast) -> None:
    alert = alert_of(make_device(orgs.sales, serial="GONE-2"), K.LEFT_MANAGEMENT)
    page = logged_in(orgs.a3).get(f"/alpha/devices/alerts/{alert.pk}/").content.decode()
    assert 'id="alert-close"' not in page


def test_a_device_that_is_gone_takes_its_failed_commands_alerts_with_it(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, serial="WIPED-1")
    failed = alert_of(device, K.COMMAND_FAILED, 1)
    device.applied_state = "DELETED"
    device.deleted_at = timezone.now()
    device.save()
    with transaction.atomic():
        devices_detect([device.pk])
    assert Alert.objects.get(pk=failed.pk).cleared_at is not None
    assert Alert.objects.get(device=device, kind=K.LEFT_MANAGEMENT).cleared_at is None


def test_a_moved_device_takes_all_its_alerts_along(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, serial="MOVED-1")
    cleared = cleared_no_report(device)
    failed = alert_of(device, K.COMMAND_FAILED, 1)
    risky = alert_of(device, K.COMPROMISED)
    device_move(actor=Actor(account=orgs.cast.a1), device=device, organization=orgs.dev, user=None)
    assert {
        a.pk: a.organization_id
        for a in Alert.objects.filter(pk__in=[cleared.pk, failed.pk, risky.pk])
    } == {cleared.pk: orgs.dev.pk, failed.pk: orgs.dev.pk, risky.pk: orgs.dev.pk}
    # The new organization's administrator reads its history; the old one's no longer does.
    assert api_client(orgs.a2).get(f"/api/v1/alerts/{cleared.pk}").status_code == 404


def test_settings_android_warns_while_google_refuses_the_enterprise(orgs: OrgCast) -> None:
    from mamori.android.models import Enterprise
    from tests.alerts_data import unbound_alert

    Enterprise.objects.create(contract=orgs.cast.a, name="enterprises/LCbound")
    quiet = logged_in(orgs.cast.a1).get("/alpha/settings/android/").content.decode()
    assert 'id="binding-broken"' not in quiet
    alert = unbound_alert(orgs.cast.a.pk)
    page = logged_in(orgs.cast.a1).get("/alpha/settings/android/").content.decode()
    assert "Google がこの Enterprise に関する Mamori の呼び出しを拒否しています" in page
    assert "登録解除して新たに登録し直さないでください" in page
    assert f'href="/alpha/devices/alerts/{alert.pk}/"' in page
    html = english(orgs.cast.a1).get("/alpha/settings/android/").content.decode()
    assert "Do not unbind and sign up again unless this enterprise is truly gone" in html
