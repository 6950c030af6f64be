"""The apply worker: enrollment into the token's organization with its profile, status reports
(clocked, coalesced, PII of personal devices dropped), DELETED final, usage logs, commands that
wait for their row, messages kept aside, a batch that dies half-way, and the counts."""

from __future__ import annotations

import base64
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from mamori.android.audit_actions import AndroidAction
from mamori.android.device_policy import DEVICE_POLICY
from mamori.android.models import (
    Command,
    CommandStatus,
    CommandType,
    Device,
    DeviceKind,
    EnrollmentToken,
    OrganizationProfile,
    PersonalUsage,
    Profile,
    UsageLogEvent,
)
from mamori.android.notifications import apply
from mamori.android.notifications.apply import inbox_batch, inbox_drain
from mamori.android.notifications.models import InboxMessage, InboxState
from mamori.android.notifications.store import push_store
from mamori.android.selectors import token_valid
from mamori.audit.models import LogEntry
from mamori.core.models import Work
from tests.android.pubsub import ENTERPRISE, body, device, enterprise_bind, stamp
from tests.conftest import OrgCast

pytestmark = pytest.mark.django_db


def token_make(orgs: OrgCast, organization: Any, **kw: Any) -> EnrollmentToken:
    enterprise = enterprise_bind(orgs.cast.a) if "enterprise" not in kw else kw.pop("enterprise")
    n = EnrollmentToken.objects.count() + 1
    values = {
        "contract": orgs.cast.a,
        "enterprise": enterprise,
        "public_id": f"pub{n}",
        "name": f"{ENTERPRISE}/enrollmentTokens/T{n}",
        "value": f"VALUE{n:04d}",
        "organization": organization,
        "allow_personal_usage": PersonalUsage.DISALLOWED,
        "one_time": True,
    }
    values.update(kw)
    return EnrollmentToken.objects.create(**values)


def deliver(*messages: tuple[str, dict[str, Any]]) -> None:
    for kind, resource in messages:
        push_store(body(kind, resource))
    inbox_drain(seconds=5)


def states() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for state, reason in InboxMessage.objects.values_list("state", "reason").order_by("pk"):
        out.setdefault(state, []).append(reason)
    return out


def test_enrollment_creates_the_device_in_the_tokens_organization_with_its_profile(
    orgs: OrgCast,
) -> None:
    token = token_make(orgs, orgs.tokyo, user=orgs.sato)
    profile = Profile.objects.create(contract=orgs.cast.a, name="営業", published_number=1)
    OrganizationProfile.objects.create(
        organization=orgs.sales, contract=orgs.cast.a, profile=profile
    )
    deliver(("ENROLLMENT", device(1, token=token.name, state="PROVISIONING")))
    found = Device.objects.get()
    assert (found.contract, found.organization, found.user, found.token) == (
        orgs.cast.a,
        orgs.tokyo,
        orgs.sato,
        token,
    )
    assert found.kind == DeviceKind.FULLY_MANAGED
    assert (found.serial_number, found.model, found.applied_state) == (
        "SER00001",
        "Pixel 8",
        "PROVISIONING",
    )
    # The organization's profile (inherited from 営業部) replaces the token's policy.
    assert found.policy_name == profile.policy_name(token.enterprise)
    patch = Work.objects.get(kind=DEVICE_POLICY)
    assert patch.payload == {"device_id": found.pk}
    # The one-time token is used: no longer valid, not listed.
    token.refresh_from_db()
    assert token.used_at is not None and not token_valid(token)
    entry = LogEntry.objects.get(action=AndroidAction.DEVICE_ENROLLED)
    assert entry.actor_kind == "system"
    assert entry.organization_id == orgs.tokyo.pk
    assert entry.after["organization"] == "東京"
    assert entry.after["value_tail"] == "…" + token.value_tail
    assert InboxMessage.objects.get().state == InboxState.APPLIED
    assert InboxMessage.objects.get().data == ""


def test_the_token_is_found_by_its_data_when_its_name_is_absent(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.dev, allow_personal_usage=PersonalUsage.DISALLOWED_USERLESS)
    token_data = json.dumps({"mamori": token.public_id})
    deliver(("ENROLLMENT", device(1, token_data=token_data)))
    found = Device.objects.get()
    assert (found.organization, found.user, found.kind) == (orgs.dev, None, DeviceKind.DEDICATED)


def test_a_device_of_an_unknown_token_joins_the_top_organization_without_a_user(
    orgs: OrgCast,
) -> None:
    enterprise_bind(orgs.cast.a)
    deliver(("ENROLLMENT", device(1, token=f"{ENTERPRISE}/enrollmentTokens/unknown")))
    found = Device.objects.get()
    assert (found.organization, found.user, found.token) == (orgs.root, None, None)


def test_a_token_of_another_enterprise_decides_nothing(orgs: OrgCast) -> None:
    other = enterprise_bind(orgs.cast.b, "enterprises/LC00other")
    token = token_make(orgs, orgs.tokyo, enterprise=other, contract=orgs.cast.b)
    enterprise_bind(orgs.cast.a)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    found = Device.objects.get()
    assert (found.contract, found.organization) == (orgs.cast.a, orgs.root)


@pytest.mark.parametrize(
    ("mode", "ownership", "usage", "kind"),
    [
        ("DEVICE_OWNER", "COMPANY_OWNED", PersonalUsage.DISALLOWED, DeviceKind.FULLY_MANAGED),
        ("DEVICE_OWNER", "COMPANY_OWNED", PersonalUsage.DISALLOWED_USERLESS, DeviceKind.DEDICATED),
        ("PROFILE_OWNER", "COMPANY_OWNED", PersonalUsage.ALLOWED, DeviceKind.COMPANY_WORK_PROFILE),
        (
            "PROFILE_OWNER",
            "PERSONALLY_OWNED",
            PersonalUsage.ALLOWED,
            DeviceKind.PERSONAL_WORK_PROFILE,
        ),
    ],
)
def test_the_kind_follows_the_management_mode_ownership_and_token(
    orgs: OrgCast, mode: str, ownership: str, usage: str, kind: str
) -> None:
    token = token_make(orgs, orgs.sales, allow_personal_usage=usage, one_time=False)
    deliver(("ENROLLMENT", device(1, token=token.name, mode=mode, ownership=ownership)))
    assert Device.objects.get().kind == kind
    token.refresh_from_db()
    assert token.used_at is None and token_valid(token)  # a reusable token stays valid


def test_a_status_report_updates_the_device_and_an_older_one_changes_nothing(
    orgs: OrgCast,
) -> None:
    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    newer = device(1, minutes=30, battery=55.4, policyCompliant=False)
    newer["securityPosture"] = {"devicePosture": "AT_RISK"}
    newer["softwareInfo"] = {"androidVersion": "15", "securityPatchLevel": "2026-12-01"}
    deliver(("STATUS_REPORT", newer))
    deliver(("STATUS_REPORT", device(1, minutes=10, battery=90)))
    found = Device.objects.get()
    assert found.battery_level == 55
    assert found.policy_compliant is False
    assert found.security_posture == "AT_RISK"
    assert (found.android_version, found.security_patch_level) == ("15", "2026-12-01")
    assert found.last_status_report_at.isoformat().startswith("2026-11-30T10:30:00")
    assert found.report["lastStatusReportTime"] == stamp(30)
    assert found.applied_policy_version == 31
    # Every message was applied (the older one counted as such: nothing to do).
    assert states() == {"applied": ["", "", ""]}
    assert LogEntry.objects.filter(action=AndroidAction.DEVICE_ENROLLED).count() == 1


def test_the_newest_battery_event_wins(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    resource = device(1, token=token.name)
    resource["powerManagementEvents"] = [
        {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": stamp(5), "batteryLevel": 40},
        {"eventType": "BATTERY_LOW", "createTime": stamp(9)},
        {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": stamp(8), "batteryLevel": 38.6},
        {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": stamp(1), "batteryLevel": 90},
    ]
    deliver(("STATUS_REPORT", resource))
    assert Device.objects.get().battery_level == 39


def test_a_report_that_repeats_the_stored_one_but_for_its_times_writes_only_the_times(
    orgs: OrgCast,
) -> None:
    token = token_make(orgs, orgs.sales, one_time=False)
    first = device(1, minutes=5, token=token.name)
    first["lastPolicySyncTime"] = stamp(4)
    deliver(("STATUS_REPORT", first))
    stored = Device.objects.get()
    again = {**first, "lastStatusReportTime": stamp(20), "lastPolicySyncTime": stamp(19)}
    push_store(body("STATUS_REPORT", again))
    inbox_batch()
    found = Device.objects.get()
    assert found.last_status_report_at.isoformat().startswith("2026-11-30T10:20:00")
    assert found.last_policy_sync_at.isoformat().startswith("2026-11-30T10:19:00")
    assert found.report_clock == found.last_status_report_at
    # The report itself was not rewritten: it keeps its own times; its digest is the same.
    assert found.report["lastStatusReportTime"] == stamp(5)
    assert (found.report_digest, found.report) == (stored.report_digest, stored.report)
    assert found.updated_at > stored.updated_at
    # An older report that repeats it changes nothing; a change beyond the times is written.
    deliver(("STATUS_REPORT", {**first, "lastStatusReportTime": stamp(10)}))
    assert Device.objects.get().last_status_report_at == found.last_status_report_at
    changed = {**again, "lastStatusReportTime": stamp(30), "policyCompliant": False}
    deliver(("STATUS_REPORT", changed))
    found = Device.objects.get()
    assert (found.policy_compliant, found.report["lastStatusReportTime"]) == (False, stamp(30))
    assert found.report_digest != stored.report_digest
    assert states() == {"applied": ["", "", "", ""]}


def test_wide_reports_are_stored_with_lz4_on_postgresql(orgs: OrgCast) -> None:
    from django.db import connection

    token = token_make(orgs, orgs.sales)
    resource = device(1, token=token.name)
    resource["applicationReports"] = [
        {"packageName": f"com.example.app{n}", "versionName": f"1.{n}", "state": "INSTALLED"}
        for n in range(200)
    ]
    deliver(("ENROLLMENT", resource))
    found = Device.objects.get()
    assert len(found.report["applicationReports"]) == 200
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_column_compression(report) FROM android_device")
            assert cursor.fetchone() == ("lz4",)
    else:
        assert found.report == resource


def test_the_digest_leaves_out_only_the_top_level_times() -> None:
    from mamori.android.notifications.devices import report_digest

    a = '{"name":"d","lastStatusReportTime":"2026-11-30T10:00:00Z","apiLevel":34}'
    b = '{"name":"d","lastStatusReportTime": "2026-12-01T00:00:00.5Z","apiLevel":34}'
    assert report_digest(a) == report_digest(b)
    assert report_digest(a) != report_digest(a.replace("34", "35"))
    # The same words inside a string value are text, not a time: they count.
    c = '{"name":"d","note":"\\"lastStatusReportTime\\":\\"x\\"","apiLevel":34}'
    d = '{"name":"d","note":"\\"lastStatusReportTime\\":\\"y\\"","apiLevel":34}'
    assert json.loads(c)["note"] == '"lastStatusReportTime":"x"'
    assert report_digest(c) != report_digest(d)
    assert len(report_digest(a)) == 32


def test_imei_meid_and_phone_numbers_of_personal_devices_are_not_stored(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales, allow_personal_usage=PersonalUsage.ALLOWED)
    personal = device(1, token=token.name, mode="PROFILE_OWNER", ownership="PERSONALLY_OWNED")
    company = device(2, token=token.name)
    deliver(("ENROLLMENT", personal), ("STATUS_REPORT", company))
    deliver(("STATUS_REPORT", {**personal, "lastStatusReportTime": stamp(5)}))
    stored = Device.objects.get(name=personal["name"]).report
    text = json.dumps(stored)
    for secret in ("358240051111110", "A00000292788E1", "+81-90-1234-5678", "8981"):
        assert secret not in text
    assert stored["networkInfo"]["wifiMacAddress"] == "7c:11:11:11:11:11"
    assert stored["networkInfo"]["telephonyInfos"] == [{"carrierName": "docomo"}]
    # A company-owned device keeps them.
    assert (
        Device.objects.get(name=company["name"]).report["networkInfo"]["imei"] == "358240051111110"
    )


def test_deleted_is_final_for_a_device_name(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    deliver(("STATUS_REPORT", device(1, minutes=5, state="DELETED")))
    deliver(("STATUS_REPORT", device(1, minutes=60)), ("ENROLLMENT", device(1, minutes=61)))
    found = Device.objects.get()
    assert found.applied_state == "DELETED"
    assert found.deleted_at is not None
    assert found.report["lastStatusReportTime"] == stamp(5)
    entry = LogEntry.objects.get(action=AndroidAction.DEVICE_DELETED)
    assert (entry.actor_kind, entry.after) == ("system", {"how": "reported"})


def test_only_the_newest_report_of_a_device_in_a_batch_is_written(
    orgs: OrgCast, django_assert_max_num_queries: Any
) -> None:
    token = token_make(orgs, orgs.sales, one_time=False)
    deliver(*(("ENROLLMENT", device(n, token=token.name)) for n in range(10)))
    for minutes in (3, 9, 1, 7):
        for n in range(10):
            push_store(body("STATUS_REPORT", device(n, minutes=minutes, battery=minutes)))
    # 40 messages for 10 devices: a fixed number of statements, whatever the count.
    with django_assert_max_num_queries(12):
        assert inbox_batch() == 40
    assert set(Device.objects.values_list("battery_level", flat=True)) == {9}


def test_usage_logs_are_kept_once_with_the_security_events_flagged(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    name = f"{ENTERPRISE}/devices/D1"
    events = {
        "device": name,
        "usageLogEvents": [
            {"eventId": "1", "eventTime": stamp(1), "eventType": "KEYGUARD_DISMISS_AUTH_ATTEMPT",
             "keyguardDismissAuthAttemptEvent": {"success": False, "strongAuthMethodUsed": True}},
            {"eventId": "2", "eventTime": stamp(2), "eventType": "KEYGUARD_DISMISS_AUTH_ATTEMPT",
             "keyguardDismissAuthAttemptEvent": {"success": True}},
            {"eventId": "3", "eventTime": stamp(3), "eventType": "LOST_MODE_LOCATION",
             "lostModeLocationEvent": {"location": {"latitude": 35.68, "longitude": 139.76}, "batteryLevel": 50}},
            {"eventId": "4", "eventTime": stamp(4), "eventType": "OS_STARTUP", "osStartupEvent": {}},
            {"eventId": "5", "eventTime": stamp(5), "eventType": "CERT_AUTHORITY_INSTALLED",
             "certAuthorityInstalledEvent": {"certificate": "MII…", "success": True}},
            {"eventId": "x", "eventTime": stamp(6), "eventType": "OS_SHUTDOWN"},
        ],
    }  # fmt: skip
    deliver(("USAGE_LOGS", events))
    deliver(("USAGE_LOGS", events))  # sent twice by the device: stored once
    rows = list(
        UsageLogEvent.objects.order_by("event_id").values_list("event_id", "event_type", "security")
    )
    assert rows == [
        (1, "KEYGUARD_DISMISS_AUTH_ATTEMPT", True),
        (2, "KEYGUARD_DISMISS_AUTH_ATTEMPT", False),
        (3, "LOST_MODE_LOCATION", True),
        (4, "OS_STARTUP", False),
        (5, "CERT_AUTHORITY_INSTALLED", True),
    ]
    location = UsageLogEvent.objects.get(event_id=3)
    assert location.data["location"] == {"latitude": 35.68, "longitude": 139.76}
    assert location.contract == orgs.cast.a


def test_usage_logs_of_a_device_not_created_yet_wait_for_it(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    events = {
        "device": f"{ENTERPRISE}/devices/D1",
        "usageLogEvents": [{"eventId": "1", "eventTime": stamp(1), "eventType": "OS_STARTUP"}],
    }
    deliver(("USAGE_LOGS", events))
    row = InboxMessage.objects.get()
    assert (row.state, row.attempts) == ("pending", 1) and row.next_attempt_at > timezone.now()
    deliver(("ENROLLMENT", device(1, token=token.name)))
    InboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    inbox_drain(seconds=5)
    assert UsageLogEvent.objects.count() == 1
    assert InboxMessage.objects.get(pk=row.pk).state == InboxState.APPLIED


def _command(orgs: OrgCast, operation: str) -> Command:
    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    return Command.objects.create(
        contract=orgs.cast.a,
        device=Device.objects.get(),
        type=CommandType.LOCK,
        status=CommandStatus.SENT,
        operation_name=operation,
        sent_at=timezone.now(),
    )


def test_a_command_notification_finishes_its_command(orgs: OrgCast) -> None:
    operation = f"{ENTERPRISE}/devices/D1/operations/op1"
    command = _command(orgs, operation)
    deliver(("COMMAND", {"name": operation, "done": True, "metadata": {"type": "LOCK"}}))
    command.refresh_from_db()
    assert command.status == CommandStatus.SUCCEEDED
    # Sticky: a late "failed" for the same operation changes nothing.
    deliver(("COMMAND", {"name": operation, "done": True, "error": {"code": 13}}))
    command.refresh_from_db()
    assert command.status == CommandStatus.SUCCEEDED


def test_a_command_notification_before_its_command_waits_without_blocking_the_batch(
    orgs: OrgCast,
) -> None:
    operation = f"{ENTERPRISE}/devices/D1/operations/op1"
    token = token_make(orgs, orgs.sales)
    push_store(body("COMMAND", {"name": operation, "done": True}))
    push_store(body("ENROLLMENT", device(1, token=token.name)))
    inbox_drain(seconds=5)
    assert Device.objects.count() == 1  # the rest of the batch went on
    waiting = InboxMessage.objects.get(notification_type="COMMAND")
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    command = Command.objects.create(
        contract=orgs.cast.a,
        device=Device.objects.get(),
        type=CommandType.LOCK,
        status=CommandStatus.SENT,
        operation_name=operation,
    )
    InboxMessage.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())
    inbox_drain(seconds=5)
    command.refresh_from_db()
    assert command.status == CommandStatus.SUCCEEDED
    # A COMMAND of an operation Mamori never issued is kept aside after an hour.
    push_store(body("COMMAND", {"name": f"{ENTERPRISE}/devices/D1/operations/foreign"}))
    InboxMessage.objects.filter(state="pending").update(
        received_at=timezone.now() - apply.WAIT_MAX * 2
    )
    inbox_drain(seconds=5)
    assert states()["rejected"] == ["unknown_operation"]


def test_malformed_unknown_and_foreign_messages_are_kept_aside_and_counted(
    orgs: OrgCast,
) -> None:
    enterprise_bind(orgs.cast.a)
    push_store(body("STATUS_REPORT", device(1, enterprise="enterprises/NOT_OURS")))
    push_store(body("ENTERPRISE_UPGRADE", {"enterprise": ENTERPRISE}))
    push_store(body("", device(2)))
    push_store(body("STATUS_REPORT", ["not", "an", "object"]))
    push_store(body("STATUS_REPORT", {"name": "devices/D1"}))
    deep = base64.b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    kind = {"notificationType": "USAGE_LOGS"}
    push_store(
        json.dumps({"message": {"messageId": "d", "data": deep, "attributes": kind}}).encode()
    )
    push_store(body("COMMAND", {"name": f"{ENTERPRISE}/devices/D1"}))
    push_store(b"{}")
    raw = base64.b64encode(b"{not json").decode()
    attributes = {"notificationType": "STATUS_REPORT"}
    push_store(
        json.dumps({"message": {"messageId": "m", "data": raw, "attributes": attributes}}).encode()
    )
    inbox_drain(seconds=5)
    assert sorted(states()["rejected"]) == [
        "malformed",
        "malformed",
        "malformed",
        "malformed",
        "malformed",
        "unknown_enterprise",
        "unknown_type",
        "unknown_type",
    ]
    assert Device.objects.count() == 0
    out = StringIO()
    call_command("pubsub", "stats", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.split() == ["rejected", "malformed", "5"] for line in lines), lines
    assert any(line.split() == ["rejected", "unknown_enterprise", "1"] for line in lines)
    assert any(line.split() == ["rejected_body", "no_message", "1"] for line in lines)


def test_text_a_database_cannot_store_is_replaced_not_fatal(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    resource = device(1, token=token.name)
    resource["hardwareInfo"]["model"] = "Pix\u0000el\ud800"
    resource["hardwareInfo"]["brand"] = "b" * 500
    deliver(("ENROLLMENT", resource))
    found = Device.objects.get()
    assert found.model == "Pix\ufffdel\ufffd"
    assert found.brand == "b" * 100


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing(
    orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_make(orgs, orgs.sales, one_time=False)
    deliver(*(("ENROLLMENT", device(n, token=token.name)) for n in range(3)))
    for n in range(3):
        push_store(body("STATUS_REPORT", device(n, minutes=10, battery=20)))
    real = apply.outcome_record

    def dies(*args: Any) -> None:
        # The devices are written; the worker dies before it marks the messages.
        assert set(Device.objects.values_list("battery_level", flat=True)) == {20}
        raise SystemExit("killed")

    monkeypatch.setattr(apply, "outcome_record", dies)
    with pytest.raises(SystemExit):
        inbox_batch()
    assert set(Device.objects.values_list("battery_level", flat=True)) == {None}
    assert InboxMessage.objects.filter(state="pending").count() == 3
    monkeypatch.setattr(apply, "outcome_record", real)
    assert inbox_batch() == 3
    assert set(Device.objects.values_list("battery_level", flat=True)) == {20}
    assert InboxMessage.objects.filter(state="pending").count() == 0


def test_a_message_the_code_cannot_apply_is_kept_aside_and_the_rest_applied(
    orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_make(orgs, orgs.sales, one_time=False)
    from mamori.android.notifications import usage

    def broken(batch: dict[str, Any], device_id: int, contract_id: int) -> list[Any]:
        raise KeyError("a payload nobody foresaw")

    monkeypatch.setattr(apply, "events_rows", broken)
    assert usage.events_rows is not broken
    push_store(body("ENROLLMENT", device(1, token=token.name)))
    inbox_drain(seconds=5)
    push_store(body("USAGE_LOGS", {"device": f"{ENTERPRISE}/devices/D1", "usageLogEvents": []}))
    push_store(body("STATUS_REPORT", device(1, minutes=3, battery=33)))
    inbox_drain(seconds=5)
    assert states()["rejected"] == ["apply_failed"]
    assert Device.objects.get().battery_level == 33


def test_a_lost_nudge_is_caught_by_the_safety_net(orgs: OrgCast) -> None:
    token = token_make(orgs, orgs.sales)
    push_store(body("ENROLLMENT", device(1, token=token.name)))
    Work.objects.filter(kind="android.notifications.apply").delete()  # its task and work lost
    assert apply.inbox_safety_net() == "a run is alive"  # the flag is fresh: a run may be on
    assert Device.objects.count() == 0
    from mamori.android.notifications.models import InboxNudge

    InboxNudge.objects.update(pending_since=timezone.now() - apply.STALE * 2)
    assert apply.inbox_safety_net() == "applied 1"
    assert Device.objects.count() == 1
    assert InboxNudge.objects.get().pending_since is None
    assert apply.inbox_safety_net() == "nothing due"


def test_old_inbox_rows_rejected_bodies_and_usage_events_are_pruned(orgs: OrgCast) -> None:
    import datetime

    from mamori.android.notifications.models import InboxRejected
    from mamori.android.notifications.work import notifications_prune

    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    events = {
        "device": f"{ENTERPRISE}/devices/D1",
        "usageLogEvents": [
            {"eventId": "1", "eventTime": stamp(0), "eventType": "OS_STARTUP"},
            {"eventId": "2", "eventTime": timezone.now().isoformat(), "eventType": "OS_STARTUP"},
        ],
    }
    deliver(("USAGE_LOGS", events))
    push_store(b"junk")
    push_store(body("COMMAND", {"name": f"{ENTERPRISE}/devices/D1/operations/x"}))  # pending
    old = timezone.now() - datetime.timedelta(days=9)
    InboxMessage.objects.update(received_at=old)
    InboxRejected.objects.update(received_at=old)
    UsageLogEvent.objects.filter(event_id=1).update(
        event_time=timezone.now() - datetime.timedelta(days=31)
    )
    assert notifications_prune() == {"inbox": 2, "rejected": 1, "usage_events": 1}
    assert list(InboxMessage.objects.values_list("state", flat=True)) == ["pending"]
    assert list(UsageLogEvent.objects.values_list("event_id", flat=True)) == [2]


def test_a_report_with_wrong_types_or_from_the_future_is_kept_aside_and_does_not_hold_the_device(
    orgs: OrgCast,
) -> None:
    """A report dated years ahead would hold the device (nothing older than its clock applies)."""
    token = token_make(orgs, orgs.sales)
    deliver(("ENROLLMENT", device(1, token=token.name)))
    future = device(1, battery=20)
    future["lastStatusReportTime"] = "2099-11-30T00:00:00Z"
    wrong = device(1, minutes=5)
    wrong["appliedState"] = 123
    bad_battery = device(1, minutes=6)
    bad_battery["powerManagementEvents"] = [
        {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": stamp(6), "batteryLevel": "abc"}
    ]
    deliver(("STATUS_REPORT", future), ("STATUS_REPORT", wrong), ("STATUS_REPORT", bad_battery))
    assert states()["rejected"] == ["clock_in_future", "malformed", "malformed"]
    found = Device.objects.get()
    assert found.battery_level is None and found.applied_state == "ACTIVE"
    deliver(("STATUS_REPORT", device(1, minutes=10, battery=50)))
    assert Device.objects.get().battery_level == 50
