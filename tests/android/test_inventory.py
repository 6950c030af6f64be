"""The Devices tab (issue 9, points 1, 2, 7 and 8): the list's filters, sorts, keyset pages,
search and counts; scoping for department administrators and operators; a device's page;
moving, annotating and removing a device; the API; the CSV; users and organizations with
devices cannot be deleted."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.utils import timezone, translation

from mamori.android.inventory import selectors
from mamori.android.inventory.services import device_move, device_note_set, device_remove
from mamori.android.models import Device, DeviceKind, DeviceState, Enterprise, Profile
from mamori.android.models import OrganizationProfile as Assignment
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.directory.models import Organization, User
from mamori.directory.services import organization_delete, user_delete, users_delete
from tests.android.devices import make_device
from tests.android.fake_amapi import FakeAmapi, fake_amapi
from tests.conftest import OrgCast, api_client, logged_in, make_user, run_work

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(orgs: OrgCast):
    """A1 reads English here (its Japanese is tried once, below), and so do the services."""
    from mamori.accounts.models import Account

    Account.objects.filter(pk=orgs.cast.a1.pk).update(language="en")
    with translation.override("en"):
        yield


@pytest.fixture
def fleet(orgs: OrgCast) -> dict[str, Device]:
    """A profile published at version 7 on the top organization, and devices around the tree."""
    cast = orgs.cast
    Enterprise.objects.create(contract=cast.a, name="enterprises/LCA")
    profile = Profile.objects.create(
        contract=cast.a, name="標準", published_number=1, published_version="7"
    )
    Assignment.objects.create(contract=cast.a, organization=orgs.root, profile=profile)
    return {
        "current": make_device(
            orgs.tokyo, user=orgs.sato, serial="AAA001", profile_id=profile.pk, version=7
        ),
        "behind": make_device(
            orgs.sales,
            serial="AAA002",
            profile_id=profile.pk,
            version=6,
            model="Galaxy S24",
            android="14",
            compliant=False,
            hours_ago=30,
            posture="AT_RISK",
            kind=DeviceKind.PERSONAL_WORK_PROFILE,
            non_compliance=[
                {
                    "settingName": "passwordPolicies",
                    "nonComplianceReason": "USER_ACTION",
                    "specificNonComplianceReason": "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT",
                },
                {
                    "settingName": "applications",
                    "packageName": "com.example.app",
                    "nonComplianceReason": "APP_NOT_INSTALLED",
                    "installationFailureReason": "NOT_APPROVED",
                },
            ],
        ),
        "dev": make_device(
            orgs.dev, user=orgs.suzuki, serial="BBB001", profile_id=profile.pk, version=7
        ),
        "lost": make_device(orgs.dev, serial="BBB002", state=DeviceState.LOST, compliant=None),
        "removed": make_device(orgs.tokyo, serial="ZZZ999", state=DeviceState.DELETED),
    }


def listed(client, query: str = "") -> list[str]:
    page = client.get(f"/alpha/devices/{query}")
    assert page.status_code == 200, page.content[:500]
    return [row.label for row in page.context["page"].rows]


# The list ---------------------------------------------------------------------------------


def test_system_administrator_sees_every_device_but_removed_ones(orgs, fleet) -> None:
    assert sorted(listed(logged_in(orgs.cast.a1))) == ["AAA001", "AAA002", "BBB001", "BBB002"]


def test_each_row_names_its_organization_first_and_the_parent_below(orgs, fleet) -> None:
    page = logged_in(orgs.cast.a1).get("/alpha/devices/")
    rows = {row.label: row for row in page.context["page"].rows}
    # 東京 under 営業部 under the top: its own name first, then its parent; the path on hover.
    tokyo = rows["AAA001"]
    assert (tokyo.organization, tokyo.organization_parent) == ("東京", "営業部")
    assert tokyo.organization_path.endswith("営業部 / 東京")
    assert (rows["AAA002"].organization, rows["AAA002"].organization_parent)[0] == "営業部"
    text = page.content.decode()
    assert f'title="{tokyo.organization_path}">東京</span>' in text


def test_department_administrator_and_operator_see_their_organizations_devices_only(
    orgs, fleet
) -> None:
    assert sorted(listed(logged_in(orgs.a2))) == ["AAA001", "AAA002"]
    assert sorted(listed(logged_in(orgs.a3))) == ["AAA001", "AAA002"]
    # Outside: the device's page is a 404, as another contract's.
    assert logged_in(orgs.a2).get(f"/alpha/devices/{fleet['dev'].pk}/").status_code == 404
    assert logged_in(orgs.a3).get(f"/alpha/devices/{fleet['dev'].pk}/").status_code == 404
    # A custom administrator without devices.view is refused the list, not shown it empty.
    assert logged_in(orgs.a4).get("/alpha/devices/").status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?state=LOST", ["BBB002"]),
        ("?state=DELETED", ["ZZZ999"]),
        ("?compliance=no", ["AAA002"]),
        ("?compliance=unknown", ["BBB002"]),
        ("?kind=personal_work_profile", ["AAA002"]),
        ("?model=Galaxy+S24", ["AAA002"]),
        ("?android=14", ["AAA002"]),
        ("?silent=24", ["AAA002"]),
        ("?q=aaa001", ["AAA001"]),
        ("?q=サトウ", ["AAA001"]),
        ("?q=佐藤", ["AAA001"]),
        ("?q=鈴木", ["BBB001"]),
        ("?org={sales}", ["AAA001", "AAA002"]),
        ("?org={sales}&sub=0", ["AAA002"]),
        ("?org={sales}&compliance=yes", ["AAA001"]),
        (
            "?state=NOPE&compliance=maybe&kind=x&silent=-3&sort=bogus",
            ["AAA001", "AAA002", "BBB001", "BBB002"],
        ),
    ],
)
def test_filters_narrow_the_list(orgs, fleet, query: str, expected: list[str]) -> None:
    url = query.format(sales=orgs.sales.pk)
    assert sorted(listed(logged_in(orgs.cast.a1), url)) == expected


def test_search_by_device_id_finds_the_device(orgs, fleet) -> None:
    device_id = fleet["lost"].name.rsplit("/", 1)[-1]
    assert listed(logged_in(orgs.cast.a1), f"?q={device_id}") == ["BBB002"]


@pytest.mark.parametrize("sort", sorted(selectors.DEVICE_SORTS))
def test_every_sort_pages_through_every_device_once_in_order(orgs, sort: str) -> None:
    for n in range(23):
        make_device(
            [orgs.tokyo, orgs.sales, orgs.dev][n % 3],
            user=[orgs.sato, None, orgs.suzuki][n % 3],
            serial=f"S{(n * 7) % 23:03d}",
            model=f"Model {n % 4}",
            android=str(12 + n % 3),
            battery=None if n % 5 == 0 else n * 3,
            hours_ago=None if n % 6 == 0 else n,
            compliant=[True, False, None][n % 3],
            kind=list(DeviceKind)[n % 4],
        )
    client = logged_in(orgs.cast.a1)
    for direction in ("", "-"):
        seen: list[int] = []
        url = f"/alpha/devices/?sort={direction}{sort}&size=25"
        while url:
            page = client.get(url).context["page"]
            seen += [row.pk for row in page.rows]
            url = (
                f"/alpha/devices/?sort={direction}{sort}&size=25&after={page.next_cursor}"
                if page.next_cursor
                else ""
            )
        assert len(seen) == 23 and len(set(seen)) == 23, (sort, direction)
        order = selectors.device_order(f"{direction}{sort}")
        expected = list(
            selectors.devices_ordered(
                Device.objects.filter(contract=orgs.cast.a), order
            ).values_list("pk", flat=True)
        )
        assert seen == expected


def test_first_page_is_newest_first_and_a_mangled_cursor_starts_over(orgs, fleet) -> None:
    client = logged_in(orgs.cast.a1)
    assert listed(client) == ["BBB002", "BBB001", "AAA002", "AAA001"]
    assert listed(client, "?after=%%%garbage") == ["BBB002", "BBB001", "AAA002", "AAA001"]


def test_counts_per_state_and_compliance_link_to_the_filtered_list(orgs, fleet) -> None:
    page = logged_in(orgs.cast.a1).get("/alpha/devices/?kind=fully_managed")
    counts = {f"{c['count'].key}={c['count'].value}": c for c in page.context["counts"]}
    assert {k: c["count"].count for k, c in counts.items()} == {
        "state=ACTIVE": 2,
        "state=PROVISIONING": 0,
        "state=LOST": 1,
        "state=DISABLED": 0,
        "state=DELETED": 1,
        "compliance=yes": 2,
        "compliance=no": 0,
    }
    assert counts["state=LOST"]["url"] == "?kind=fully_managed&state=LOST"
    assert 'data-count="state-LOST"' in page.content.decode()


def test_counts_above_the_limit_say_more_than(orgs, monkeypatch) -> None:
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 2)
    for _ in range(4):
        make_device(orgs.sales)
    page = logged_in(orgs.cast.a1).get("/alpha/devices/")
    text = page.content.decode()
    assert "More than 1,000 devices" not in text  # the label is the view's, formatted once
    assert page.context["page"].total == 3 and not page.context["page"].total_exact
    active = next(c for c in page.context["counts"] if c["count"].value == "ACTIVE")
    assert active["count"].more


def test_each_row_says_whether_the_newest_profile_version_is_applied(orgs, fleet) -> None:
    rows = {r.label: r for r in logged_in(orgs.cast.a1).get("/alpha/devices/").context["page"].rows}
    assert rows["AAA001"].profile_status == "current"
    assert rows["AAA002"].profile_status == "behind"
    assert rows["BBB002"].profile_status == "unknown"


def test_last_report_is_shown_in_the_viewers_timezone_with_how_long_ago(orgs) -> None:
    moment = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=3, minutes=5)
    make_device(orgs.sales, serial="TZ1", reported=moment)
    page = logged_in(orgs.cast.a1).get("/alpha/devices/")  # A1 lives in Asia/Tokyo
    row = page.context["page"].rows[0]
    tokyo = moment.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert row.last_report == tokyo.strftime("%Y-%m-%d %H:%M")
    assert row.last_report_ago == "3 hours ago"
    assert "Last status report (Asia/Tokyo)" in page.content.decode()


def test_the_selection_button_appears_only_when_the_bulk_page_exists(orgs, fleet) -> None:
    text = logged_in(orgs.cast.a1).get("/alpha/devices/").content.decode()
    assert ('id="bulk-command"' in text) == _bulk_page_exists()
    assert ('name="device"' in text) == _bulk_page_exists()


def _bulk_page_exists() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("panel:device_bulk_command", kwargs={"domain": "alpha"})
    except NoReverseMatch:
        return False
    return True


# CSV ----------------------------------------------------------------------------------------


def test_csv_export_is_utf8_with_bom_in_the_viewers_timezone(orgs, fleet) -> None:
    response = logged_in(orgs.cast.a1).get("/alpha/devices/export.csv?org=" + str(orgs.sales.pk))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "Device name", "Serial number"]
    by_serial = {r[2]: r for r in rows[1:]}
    assert sorted(by_serial) == ["AAA001", "AAA002"]
    current = by_serial["AAA001"]
    assert current[3] == "佐藤 花子"
    assert current[5].endswith("営業部 / 東京")
    reported = fleet["current"].last_status_report_at
    assert current[15] == reported.astimezone(
        datetime.timezone(datetime.timedelta(hours=9))
    ).isoformat(timespec="seconds")
    assert current[15].endswith("+09:00")


def test_csv_export_is_scoped_and_refused_without_the_permission(orgs, fleet) -> None:
    body = b"".join(logged_in(orgs.a2).get("/alpha/devices/export.csv").streaming_content)
    assert b"BBB001" not in body and b"AAA001" in body
    assert logged_in(orgs.a4).get("/alpha/devices/export.csv").status_code == 403


# A device's page ------------------------------------------------------------------------------


def test_device_page_shows_reports_and_reasons_in_words(orgs, fleet) -> None:
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/{fleet['behind'].pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    for expected in (
        "Galaxy S24",
        "2026-10-05",
        "128.0 GB",
        "Chrome",
        "com.android.chrome",
        "The password does not meet the profile&#x27;s password requirements.",
        "The app has not been approved by the administrator.",
        'Behind</span> <span class="small">version 6</span>',
        "newest: version 7",
        "At risk",
    ):
        assert expected in text, expected


def test_device_page_in_japanese_translates_every_reason(orgs, fleet) -> None:
    from mamori.accounts.models import Account

    Account.objects.filter(pk=orgs.cast.a1.pk).update(language="ja")
    orgs.cast.a1.refresh_from_db()
    text = logged_in(orgs.cast.a1).get(f"/alpha/devices/{fleet['behind'].pk}/").content.decode()
    assert "The password does not meet" not in text
    assert "パスワード" in text


def test_device_page_lists_commands_usage_events_and_log_entries(orgs, fleet) -> None:
    from mamori.android.models import Command, CommandStatus, CommandType, UsageLogEvent

    device = fleet["current"]
    Command.objects.create(
        contract=orgs.cast.a,
        device=device,
        type=CommandType.LOCK,
        status=CommandStatus.FAILED,
        error_code="MANAGEMENT_MODE",
        issued_by=orgs.cast.a1,
    )
    UsageLogEvent.objects.create(
        contract=orgs.cast.a,
        device=device,
        event_id=1,
        event_type="WIPE_FAILURE",
        event_time=timezone.now(),
        security=True,
    )
    device_note_set(actor=Actor(account=orgs.cast.a1), device=device, note="棚 3")
    text = logged_in(orgs.cast.a1).get(f"/alpha/devices/{device.pk}/").content.decode()
    assert "The command does not apply to how this device is managed." in text  # MANAGEMENT_MODE
    assert "Wipe failed" in text and "table-warning" in text
    assert "Device note changed" in text


def test_commands_card_names_each_registered_command_or_says_none(orgs, fleet) -> None:
    from mamori.core.commands import commands

    page = logged_in(orgs.a3).get(f"/alpha/devices/{fleet['current'].pk}/")
    card = page.context["commands_card"]
    assert [c["label"] for c in card] == [str(c.label) for c in commands.all()]
    if not card:
        assert "No commands are available yet." in page.content.decode()


# Move, note, remove ---------------------------------------------------------------------------


def test_moving_a_device_makes_its_profile_follow_and_logs_it(orgs, fleet) -> None:
    cast = orgs.cast
    Enterprise.objects.filter(contract=cast.a)
    dev_profile = Profile.objects.create(
        contract=cast.a, name="開発", published_number=1, published_version="3"
    )
    Assignment.objects.create(contract=cast.a, organization=orgs.dev, profile=dev_profile)
    device = fleet["current"]
    response = logged_in(cast.a1).post(
        f"/alpha/devices/{device.pk}/move/",
        {"organization": orgs.dev.pk, "user": "suzuki@alpha.example"},
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.organization_id, device.user_id) == (orgs.dev.pk, orgs.suzuki.pk)
    assert device.policy_name == f"enterprises/LCA/policies/mamori-{dev_profile.pk}"
    assert (
        Work.objects.filter(kind="android.device_policy", payload={"device_id": device.pk}).count()
        == 1
    )
    entry = LogEntry.objects.filter(contract=cast.a, action="device.moved").get()
    assert entry.before == {"organization": "東京", "user": "佐藤 花子"}
    assert entry.after == {"organization": "開発部", "user": "鈴木 一郎"}
    assert entry.target_type == "device" and entry.target_id == str(device.pk)


def test_department_administrator_cannot_move_a_device_out_of_its_organizations(
    orgs, fleet
) -> None:
    from mamori.core.access import OutOfScope

    device = fleet["current"]
    before = LogEntry.objects.count()
    response = logged_in(orgs.a2).post(
        f"/alpha/devices/{device.pk}/move/", {"organization": orgs.dev.pk}
    )
    assert response.status_code == 200 and response.context["form"].errors["organization"]
    with pytest.raises(OutOfScope):
        device_move(actor=Actor(account=orgs.a2), device=device, organization=orgs.dev, user=None)
    device.refresh_from_db()
    assert device.organization_id == orgs.tokyo.pk and LogEntry.objects.count() == before


def test_operator_cannot_move_or_remove(orgs, fleet) -> None:
    device = fleet["current"]
    client = logged_in(orgs.a3)
    assert (
        client.post(
            f"/alpha/devices/{device.pk}/move/", {"organization": orgs.sales.pk}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/alpha/devices/{device.pk}/remove/", {"confirm": "AAA001"}).status_code == 403
    )
    device.refresh_from_db()
    assert device.deleted_at is None and device.organization_id == orgs.tokyo.pk


def test_a_note_with_a_line_break_is_refused(orgs, fleet) -> None:
    device = fleet["current"]
    with pytest.raises(Exception) as error:
        device_note_set(actor=Actor(account=orgs.cast.a1), device=device, note="a\nb")
    assert "note" in error.value.message_dict
    device.refresh_from_db()
    assert device.note == ""


def test_removing_needs_the_serial_and_then_marks_and_tells_google(
    orgs, fleet, fake_amapi: FakeAmapi
) -> None:
    device = fleet["current"]
    client = logged_in(orgs.cast.a1)
    client.post(f"/alpha/devices/{device.pk}/remove/", {"confirm": "AAA002"})
    device.refresh_from_db()
    assert (
        device.deleted_at is None and not Work.objects.filter(kind="android.device_delete").exists()
    )
    client.post(f"/alpha/devices/{device.pk}/remove/", {"confirm": "aaa001"})
    device.refresh_from_db()
    assert device.deleted_at is not None and device.applied_state == DeviceState.DELETED
    entry = LogEntry.objects.filter(action="device.removed").get()
    assert entry.before["serial_number"] == "AAA001"
    assert run_work("android.device_delete") == ["done"]
    assert fake_amapi.calls == [("device_delete", device.name)]
    assert run_work("android.device_delete") == []
    # Removed: gone from the list, shown with "state=DELETED", no second removal.
    assert "AAA001" not in listed(client)
    with pytest.raises(Exception, match="removed"):
        device_remove(actor=Actor(account=orgs.cast.a1), device=device, confirm="AAA001")


def test_the_removal_work_survives_google_not_knowing_the_device(orgs, fleet, fake_amapi) -> None:
    from mamori.android import amapi

    device = fleet["current"]
    device_remove(actor=Actor(account=orgs.cast.a1), device=device, confirm="AAA001")
    fake_amapi.fail["device_delete"] = amapi.AmapiNotFound("gone", status=404)
    assert run_work("android.device_delete") == ["done"]


# Users and organizations with devices ---------------------------------------------------------


def test_user_page_lists_the_users_devices(orgs, fleet) -> None:
    text = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.sato.pk}/").content.decode()
    assert f'href="/alpha/devices/{fleet["current"].pk}/">AAA001</a>' in text
    assert "ZZZ999" not in text


def test_a_user_with_devices_cannot_be_deleted_single_bulk_or_api(orgs, fleet) -> None:
    cast = orgs.cast
    api = api_client(cast.a1)
    before = LogEntry.objects.count()
    actor = Actor(account=cast.a1)
    with pytest.raises(Exception, match="Move it to another user or remove it first"):
        user_delete(actor=actor, user=orgs.sato)
    with pytest.raises(Exception, match="佐藤 花子 has 1 device"):
        users_delete(actor=actor, users=[orgs.suzuki, orgs.sato])
    response = api.delete(f"/api/v1/users/{orgs.sato.pk}")
    assert response.status_code == 422
    assert "remove it first" in response.json()["error"]["details"][0]["message"]
    page = logged_in(cast.a1).post(f"/alpha/users/{orgs.sato.pk}/delete/", follow=True)
    assert "remove it first" in page.content.decode()
    assert User.objects.filter(pk__in=[orgs.sato.pk, orgs.suzuki.pk]).count() == 2
    assert LogEntry.objects.count() == before


def test_a_user_whose_devices_were_removed_can_be_deleted(orgs, fleet) -> None:
    lone = make_user(orgs.sales, "一人 太郎", "hitori@alpha.example")
    removed = make_device(orgs.sales, user=lone, state=DeviceState.DELETED)
    user_delete(actor=Actor(account=orgs.cast.a1), user=lone)
    removed.refresh_from_db()
    assert removed.user_id is None and not User.objects.filter(pk=lone.pk).exists()


def test_an_organization_with_devices_cannot_be_deleted(orgs) -> None:
    from mamori.directory.services import organization_create

    actor = Actor(account=orgs.cast.a1)
    empty = organization_create(actor=actor, parent=orgs.sales, name="空")
    make_device(empty)
    with pytest.raises(Exception, match=r"has 1 device\. Move it to another organization"):
        organization_delete(actor=actor, organization=empty)
    assert Organization.objects.filter(pk=empty.pk).exists()
    Device.objects.filter(organization=empty).update(applied_state=DeviceState.DELETED)
    organization_delete(actor=actor, organization=empty)
    assert Device.objects.get(organization=orgs.sales).applied_state == DeviceState.DELETED


# API ----------------------------------------------------------------------------------------


def test_api_lists_devices_with_filters_and_cursor(orgs, fleet) -> None:
    client = api_client(orgs.cast.a1)
    first = client.get("/api/v1/devices?limit=3").json()
    assert [d["serial_number"] for d in first["items"]] == ["BBB002", "BBB001", "AAA002"]
    rest = client.get(f"/api/v1/devices?limit=3&after={first['next_cursor']}").json()
    assert [d["serial_number"] for d in rest["items"]] == ["AAA001"] and rest["next_cursor"] is None
    item = client.get("/api/v1/devices?q=AAA001").json()["items"][0]
    assert item["state"] == "ACTIVE" and item["profile_status"] == "current"
    assert item["user_id"] == orgs.sato.pk and item["organization_id"] == orgs.tokyo.pk
    assert set(item) >= {
        "id",
        "name",
        "serial_number",
        "model",
        "android_version",
        "state",
        "policy_compliant",
        "organization_id",
        "user_id",
        "last_status_report_at",
        "enrolled_at",
        "kind",
        "security_posture",
        "battery_level",
        "security_patch_level",
        "applied_policy_version",
        "note",
    }
    sorted_ = client.get("/api/v1/devices?sort=-serial_number").json()["items"]
    assert [d["serial_number"] for d in sorted_] == ["BBB002", "BBB001", "AAA002", "AAA001"]
    silent = client.get("/api/v1/devices?silent_hours=24").json()["items"]
    assert [d["serial_number"] for d in silent] == ["AAA002"]


@pytest.mark.parametrize(
    "query",
    [
        "state=NOPE",
        "compliance=maybe",
        "kind=x",
        "sort=bogus",
        "silent_hours=0",
        "after=%25%25",
        "q=" + "x" * 101,
    ],
)
def test_api_refuses_a_filter_it_cannot_read_with_a_code(orgs, fleet, query: str) -> None:
    response = api_client(orgs.cast.a1).get(f"/api/v1/devices?{query}")
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["code"] in ("invalid", "invalid_request")


def test_api_patch_moves_annotates_and_delete_removes(orgs, fleet, fake_amapi) -> None:
    client = api_client(orgs.cast.a1)
    device = fleet["current"]
    response = client.patch(
        f"/api/v1/devices/{device.pk}",
        {"organization_id": orgs.sales.pk, "user_id": None, "note": "予備機"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["organization_id"], body["user_id"], body["note"]) == (
        orgs.sales.pk,
        None,
        "予備機",
    )
    assert list(
        LogEntry.objects.filter(action__startswith="device.")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["device.moved", "device.note_set"]
    assert client.delete(f"/api/v1/devices/{device.pk}").status_code == 204
    assert client.delete(f"/api/v1/devices/{device.pk}").json()["error"]["code"] == "invalid"
    assert client.get(f"/api/v1/devices/{device.pk}").json()["removed_at"] is not None


def test_api_export_is_the_csv(orgs, fleet) -> None:
    response = api_client(orgs.a2).get("/api/v1/devices/export?state=ACTIVE")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert re.findall(r"AAA00\d", body) == ["AAA002", "AAA001"]
    assert "BBB" not in body


__all__ = ["fake_amapi"]


def test_home_counts_devices_by_state_and_compliance_once_bound(orgs: OrgCast, fleet) -> None:
    """The Devices card says what the list's counts say, each a link to the filtered list; an
    Operator sees only its organizations' devices, an unbound contract the setup sentence."""
    page = logged_in(orgs.cast.a1).get("/alpha/").content.decode()
    card = page[page.index('id="home-devices"') :]
    active = Device.objects.filter(contract=orgs.cast.a, applied_state=DeviceState.ACTIVE).count()
    assert (
        f'href="/alpha/devices/?state=ACTIVE">Active <span class="badge ms-1 bg-secondary-lt">{active}<'
        in card
    )
    assert "/alpha/devices/?compliance=no" in card
    Enterprise.objects.filter(contract=orgs.cast.a).delete()
    page = logged_in(orgs.cast.a1).get("/alpha/").content.decode()
    assert 'id="home-devices"' not in page and "once Android Enterprise is set up" in page


def test_a_list_narrowed_to_an_organization_offers_a_command_to_all_of_its_devices(
    orgs: OrgCast, fleet
) -> None:
    client = logged_in(orgs.cast.a1)
    page = client.get(f"/alpha/devices/?org={orgs.sales.pk}&sub=0").content.decode()
    link = f'href="/alpha/devices/commands/bulk/?organization={orgs.sales.pk}&amp;subtree=0"'
    assert 'id="bulk-organization"' in page and link in page
    bulk = client.get(f"/alpha/devices/commands/bulk/?organization={orgs.sales.pk}&subtree=0")
    assert bulk.status_code == 200
    assert 'id="bulk-organization"' not in client.get("/alpha/devices/").content.decode()
