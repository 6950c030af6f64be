"""The sandbox's virtual devices at work: commands executed as ANDROID.md 2.2 says, status reports
on an interval and on change, and the controls of ``mamori amapi-sandbox device``.

Everything is observed as Mamori would: through the AMAPI client and the Pub/Sub pushes a
``Receiver`` gets over real HTTP. Devices pick commands up at once here (``command_delay`` 0).
"""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mamori.android.sandbox.controls import ControlRefused, Controls, device_control
from mamori.android.sandbox.store import SCHEMA, Store
from mamori.android.sandbox.virtual import DeviceLoop
from tests.android.push_receiver import Receiver, receiver, wait_until
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox import bind, refused, token_make

__all__ = ["receiver"]

ALL_KINDS = ["ENROLLMENT", "STATUS_REPORT", "COMMAND", "USAGE_LOGS"]
EVERY_REPORT = {
    "softwareInfoEnabled": True,
    "applicationReportsEnabled": True,
    "powerManagementEventsEnabled": True,
    "deviceSettingsEnabled": True,
}
FULLY_MANAGED = {"allowPersonalUsage": "PERSONAL_USAGE_DISALLOWED"}
WORK_PROFILE = {"allowPersonalUsage": "PERSONAL_USAGE_ALLOWED"}
LOST = {"startLostModeParams": {"lostMessage": {"defaultMessage": "Please call us."}}}


class Fleet:
    """An enterprise pushing every notification type to ``receiver``, and its helpers."""

    def __init__(self, sandbox: AmapiSandbox, receiver: Receiver) -> None:
        self.sandbox, self.receiver = sandbox, receiver
        self.amapi = sandbox.client()
        self.enterprise = bind(sandbox, self.amapi)
        self.amapi.enterprises().patch(
            name=self.enterprise["name"],
            updateMask="enabledNotificationTypes",
            body={"enabledNotificationTypes": ALL_KINDS},
        ).execute()
        self.amapi.enterprises().policies().patch(
            name=f"{self.enterprise['name']}/policies/default",
            body={
                "passwordPolicies": [{"passwordQuality": "NUMERIC", "passwordMinimumLength": 6}],
                "statusReportingSettings": EVERY_REPORT,
                "applications": [
                    {"packageName": "jp.co.example.app", "installType": "FORCE_INSTALLED"}
                ],
            },
        ).execute()
        self.devices = self.amapi.enterprises().devices()
        sandbox.tune(command_delay=0)
        sandbox.push_to(receiver.url)

    def enroll(self, token: dict[str, str], **kw: Any) -> str:
        """One device enrolled with a token made of ``token``; waits for its first report."""
        (name,) = self.sandbox.enroll(
            token_make(self.amapi, self.enterprise, **token)["value"], **kw
        )
        wait_until(lambda: self.reports(name))
        return name

    def reports(self, name: str) -> list[dict[str, Any]]:
        """The STATUS_REPORTs of ``name`` received so far, oldest first."""
        return [d for _, d, _ in self.receiver.messages("STATUS_REPORT") if d["name"] == name]

    def run(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Issue a command and wait for its COMMAND notification; the Operation it carries,
        checked to be what ``operations.get`` answers."""
        issued = self.devices.issueCommand(name=name, body=body).execute()
        done = wait_until(lambda: self.finished(issued["name"]))
        assert done["done"] is True
        stored = self.devices.operations().get(name=issued["name"]).execute()
        assert stored == done
        return done

    def finished(self, operation: str) -> dict[str, Any] | None:
        """The operation's COMMAND notification, or None."""
        for _, resource, _ in self.receiver.messages("COMMAND"):
            if resource["name"] == operation:
                return resource
        return None

    def usage(self, name: str) -> list[dict[str, Any]]:
        """The usage-log events of ``name`` received so far."""
        return [
            event
            for _, batch, _ in self.receiver.messages("USAGE_LOGS")
            if batch["device"] == name
            for event in batch["usageLogEvents"]
        ]


@pytest.fixture
def fleet(amapi_sandbox: AmapiSandbox, receiver: Receiver) -> Fleet:
    return Fleet(amapi_sandbox, receiver)


def failed_with(operation: dict[str, Any], error_code: str, rpc: int) -> bool:
    """Whether the operation failed with ``errorCode`` and ``error.code``."""
    return (
        operation["metadata"].get("errorCode") == error_code and operation["error"]["code"] == rpc
    )


# ── commands ─────────────────────────────────────────────────────────────────────────────────


def test_lock_completes_and_the_device_reports_at_once(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    before = len(fleet.reports(name))
    done = fleet.run(name, {"type": "LOCK"})
    assert "error" not in done and "errorCode" not in done["metadata"]
    assert done["metadata"]["type"] == "LOCK"
    wait_until(lambda: len(fleet.reports(name)) > before)  # at once: the interval is 900 s


def test_reset_password_meets_the_password_policy_and_is_never_echoed(
    fleet: Fleet, amapi_sandbox: AmapiSandbox
) -> None:
    name = fleet.enroll(FULLY_MANAGED, model="Pixel 8")
    assert fleet.devices.get(name=name).execute()["policyCompliant"] is False
    done = fleet.run(name, {"type": "RESET_PASSWORD", "newPassword": "246810"})
    assert "error" not in done
    device = fleet.devices.get(name=name).execute()
    assert device["policyCompliant"] is True and "nonComplianceDetails" not in device
    assert device["appliedPasswordPolicies"][0]["passwordQuality"] == "NUMERIC"
    wait_until(lambda: fleet.reports(name)[-1]["policyCompliant"])

    short = fleet.run(name, {"type": "RESET_PASSWORD", "newPassword": "1234"})
    assert failed_with(short, "INVALID_VALUE", 3)

    pushed = [base64.b64decode(item.body["message"]["data"]) for item in fleet.receiver.received]
    stored = amapi_sandbox.store.read("SELECT body, verdict FROM operation")
    for text in [*pushed, *(row["body"].encode() for row in stored)]:
        assert b"246810" not in text and b'1234"' not in text and b"newPassword" not in text
    assert sorted(row["verdict"] for row in stored) == ["set", "short"]


def test_reboot_sends_an_os_startup_event_on_fully_managed_devices_of_api_24_and_up(
    fleet: Fleet,
) -> None:
    managed = fleet.enroll(FULLY_MANAGED, model="Pixel 8")
    done = fleet.run(managed, {"type": "REBOOT"})
    assert "error" not in done
    (event,) = wait_until(lambda: fleet.usage(managed))
    assert event["eventType"] == "OS_STARTUP" and event["eventId"].isdigit()
    assert event["osStartupEvent"] == {"verifiedBootState": "GREEN", "verityMode": "ENFORCING"}

    profile = fleet.enroll(WORK_PROFILE)
    assert failed_with(fleet.run(profile, {"type": "REBOOT"}), "MANAGEMENT_MODE", 9)
    old = fleet.enroll(FULLY_MANAGED, model="aquos-ever")
    assert failed_with(fleet.run(old, {"type": "REBOOT"}), "API_LEVEL", 9)
    assert fleet.usage(profile) == fleet.usage(old) == []


def test_lost_mode_starts_and_stops_on_company_owned_devices_only(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    device_control(fleet.sandbox.store, name, Controls(battery=41))
    started = fleet.run(name, LOST)
    assert started["metadata"]["startLostModeStatus"] == {"status": "SUCCESS"}
    assert "error" not in started
    device = fleet.devices.get(name=name).execute()
    assert device["state"] == device["appliedState"] == "LOST"
    (event,) = wait_until(lambda: fleet.usage(name))
    assert event["eventType"] == "LOST_MODE_LOCATION"
    assert event["lostModeLocationEvent"]["batteryLevel"] == 41
    assert set(event["lostModeLocationEvent"]["location"]) == {"latitude", "longitude"}
    wait_until(lambda: fleet.reports(name)[-1]["appliedState"] == "LOST")

    again = fleet.run(name, LOST)
    assert again["metadata"]["startLostModeStatus"] == {"status": "ALREADY_IN_LOST_MODE"}
    stopped = fleet.run(name, {"type": "STOP_LOST_MODE"})
    assert stopped["metadata"]["stopLostModeStatus"] == {"status": "SUCCESS"}
    assert fleet.devices.get(name=name).execute()["appliedState"] == "ACTIVE"
    not_lost = fleet.run(name, {"stopLostModeParams": {}})
    assert not_lost["metadata"]["stopLostModeStatus"] == {"status": "NOT_IN_LOST_MODE"}

    only_organization = {"startLostModeParams": {"lostOrganization": {"defaultMessage": "ACME"}}}
    assert failed_with(fleet.run(name, only_organization), "INVALID_VALUE", 3)
    fleet.run(name, {"type": "RESET_PASSWORD", "newPassword": "135790"})
    recent = fleet.run(name, LOST)
    assert recent["metadata"]["startLostModeStatus"] == {"status": "RESET_PASSWORD_RECENTLY"}
    assert recent["error"]["code"] == 9
    assert fleet.devices.get(name=name).execute()["appliedState"] == "ACTIVE"

    personal = fleet.sandbox.enroll(
        token_make(fleet.amapi, fleet.enterprise, **WORK_PROFILE)["value"], personal=True
    )[0]
    assert failed_with(fleet.run(personal, LOST), "MANAGEMENT_MODE", 9)
    assert failed_with(fleet.run(personal, {"type": "STOP_LOST_MODE"}), "MANAGEMENT_MODE", 9)


def test_clear_app_data_answers_for_each_package_on_api_28_and_up(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    packages = ["jp.co.example.app", "com.android.chrome", "com.example.absent",
                "com.google.android.apps.work.clouddpc"]  # fmt: skip
    done = fleet.run(name, {"clearAppsDataParams": {"packageNames": packages}})
    assert done["metadata"]["type"] == "CLEAR_APP_DATA" and "error" not in done
    assert done["metadata"]["clearAppsDataStatus"] == {
        "results": {
            "jp.co.example.app": {"clearingResult": "SUCCESS"},
            "com.android.chrome": {"clearingResult": "SUCCESS"},
            "com.example.absent": {"clearingResult": "APP_NOT_FOUND"},
            "com.google.android.apps.work.clouddpc": {"clearingResult": "APP_PROTECTED"},
        }
    }
    assert failed_with(fleet.run(name, {"clearAppsDataParams": {}}), "INVALID_VALUE", 3)
    old = fleet.enroll(FULLY_MANAGED, model="SH-02J")
    clear = {"clearAppsDataParams": {"packageNames": ["com.android.chrome"]}}
    assert failed_with(fleet.run(old, clear), "API_LEVEL", 9)


def test_relinquish_ownership_removes_a_company_owned_work_profile_after_its_final_report(
    fleet: Fleet,
) -> None:
    cope = fleet.enroll(WORK_PROFILE)
    done = fleet.run(cope, {"type": "RELINQUISH_OWNERSHIP"})
    assert "error" not in done
    final = wait_until(lambda: [r for r in fleet.reports(cope) if r["appliedState"] == "DELETED"])
    assert len(final) == 1
    assert final[0]["managementMode"] == "PROFILE_OWNER"
    about = [
        kind
        for kind, res, _ in fleet.receiver.messages()
        if res.get("name") in (done["name"], cope)
    ]
    assert about[-2:] == ["COMMAND", "STATUS_REPORT"]  # acknowledged, then gone
    assert refused(fleet.devices.get(name=cope)).status_code == 404

    managed = fleet.enroll(FULLY_MANAGED)
    assert failed_with(fleet.run(managed, {"type": "RELINQUISH_OWNERSHIP"}), "MANAGEMENT_MODE", 9)
    old = fleet.enroll(WORK_PROFILE, model="aquos-ever")
    assert failed_with(fleet.run(old, {"type": "RELINQUISH_OWNERSHIP"}), "API_LEVEL", 9)
    assert fleet.devices.get(name=managed).execute()["appliedState"] == "ACTIVE"


def test_wipe_and_devices_delete_end_with_a_final_deleted_report(fleet: Fleet) -> None:
    wiped = fleet.enroll(FULLY_MANAGED)
    done = fleet.run(wiped, {"wipeParams": {"wipeDataFlags": ["WIPE_EXTERNAL_STORAGE"]}})
    assert done["metadata"]["type"] == "WIPE" and "error" not in done
    (final,) = wait_until(
        lambda: [r for r in fleet.reports(wiped) if r["appliedState"] == "DELETED"]
    )
    assert final["lastStatusReportTime"] >= fleet.reports(wiped)[0]["lastStatusReportTime"]
    assert refused(fleet.devices.get(name=wiped)).status_code == 404

    deleted = fleet.enroll(FULLY_MANAGED)
    fleet.devices.delete(name=deleted).execute()
    (gone,) = wait_until(
        lambda: [r for r in fleet.reports(deleted) if r["appliedState"] == "DELETED"]
    )
    assert gone["name"] == deleted
    assert refused(fleet.devices.get(name=deleted)).status_code == 404


def test_a_command_past_its_duration_expires_and_a_cancelled_one_never_runs(
    fleet: Fleet,
) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    device_control(fleet.sandbox.store, name, Controls(stop_reporting=True))
    expiring = fleet.devices.issueCommand(name=name, body={"type": "LOCK", "duration": "0.3s"})
    issued = expiring.execute()
    expired = wait_until(lambda: fleet.finished(issued["name"]))
    assert expired["done"] is True and expired["error"]["code"] == 4
    assert "errorCode" not in expired["metadata"]

    pending = fleet.devices.issueCommand(name=name, body={"type": "REBOOT"}).execute()
    fleet.devices.operations().cancel(name=pending["name"]).execute()
    cancelled = wait_until(lambda: fleet.finished(pending["name"]))
    assert cancelled["error"]["code"] == 1 and "errorCode" not in cancelled["metadata"]
    device_control(fleet.sandbox.store, name, Controls(resume_reporting=True))
    reports = len(fleet.reports(name))
    wait_until(lambda: len(fleet.reports(name)) > reports)
    fleet.sandbox.devices.turn()
    again = fleet.devices.operations().get(name=pending["name"]).execute()
    assert again == cancelled and fleet.usage(name) == []  # never rebooted
    commands = [r["name"] for _, r, _ in fleet.receiver.messages("COMMAND")]
    assert commands.count(pending["name"]) == 1


# ── reports ──────────────────────────────────────────────────────────────────────────────────


def test_devices_report_on_their_interval_with_an_advancing_time(fleet: Fleet) -> None:
    fleet.sandbox.tune(report_interval=0.25)
    names = fleet.sandbox.enroll(
        token_make(fleet.amapi, fleet.enterprise, **FULLY_MANAGED)["value"], count=2
    )
    for name in names:
        wait_until(lambda name=name: len(fleet.reports(name)) >= 3)
        times = [report["lastStatusReportTime"] for report in fleet.reports(name)]
        assert times == sorted(times) and len(set(times)) == len(times)
        report = fleet.reports(name)[-1]
        assert report["powerManagementEvents"][0]["batteryLevel"] == 87.0
        assert "networkInfo" not in report  # only the sections the policy enables
        assert report["softwareInfo"]["androidVersion"]


def test_the_next_report_is_an_interval_away_jittered_by_ten_percent(
    amapi_sandbox: AmapiSandbox,
) -> None:
    loop = DeviceLoop(amapi_sandbox.store, report_interval=900)
    gaps = [loop.next_report(1000.0) - 1000.0 for _ in range(200)]
    assert all(810 <= gap <= 990 for gap in gaps)
    assert max(gaps) - min(gaps) > 60


def test_a_new_policy_version_is_reported_at_once(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    assert fleet.reports(name)[-1]["appliedPolicyVersion"] == "1"
    fleet.amapi.enterprises().policies().patch(
        name=f"{fleet.enterprise['name']}/policies/default",
        updateMask="cameraDisabled",
        body={"cameraDisabled": True},
    ).execute()
    wait_until(lambda: fleet.reports(name)[-1]["appliedPolicyVersion"] == "2")
    fleet.devices.patch(name=name, updateMask="state", body={"state": "DISABLED"}).execute()
    wait_until(lambda: fleet.reports(name)[-1]["appliedState"] == "DISABLED")


# ── controls ─────────────────────────────────────────────────────────────────────────────────


def test_controls_change_what_the_device_reports(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    said = device_control(fleet.sandbox.store, name, Controls(battery=12.5, compromised=True))
    assert said.endswith("potentially compromised, battery 12.5 %, reports now.")
    report = wait_until(
        lambda: [
            r for r in fleet.reports(name) if r["securityPosture"]["devicePosture"] != "SECURE"
        ]
    )[0]
    assert report["securityPosture"]["devicePosture"] == "POTENTIALLY_COMPROMISED"
    assert report["securityPosture"]["postureDetails"][0]["securityRisk"] == "COMPROMISED_OS"
    assert report["powerManagementEvents"] == [
        {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": report["lastStatusReportTime"],
         "batteryLevel": 12.5}
    ]  # fmt: skip
    count = len(fleet.reports(name))
    device_control(fleet.sandbox.store, name, Controls(report_now=True))
    wait_until(lambda: len(fleet.reports(name)) == count + 1)


def test_a_posture_control_sets_the_device_at_risk_and_secure_again(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    assert device_control(fleet.sandbox.store, name, Controls(compromised=True)).endswith(
        "potentially compromised, reports now."
    )

    def posture() -> dict:
        return fleet.reports(name)[-1]["securityPosture"]

    wait_until(lambda: posture()["devicePosture"] == "POTENTIALLY_COMPROMISED")
    said = device_control(fleet.sandbox.store, name, Controls(posture="at_risk"))
    assert said.endswith("at risk, reports now.")
    wait_until(lambda: posture()["devicePosture"] == "AT_RISK")
    assert posture()["postureDetails"][0]["securityRisk"] == "UNKNOWN_OS"
    said = device_control(fleet.sandbox.store, name, Controls(posture="secure"))
    assert said.endswith("secure, reports now.")
    wait_until(lambda: posture() == {"devicePosture": "SECURE"})


def test_a_silent_device_neither_reports_nor_runs_commands_until_it_resumes(
    fleet: Fleet,
) -> None:
    fleet.sandbox.tune(report_interval=0.1)
    name = fleet.enroll(FULLY_MANAGED)
    device_control(fleet.sandbox.store, name, Controls(stop_reporting=True))
    fleet.sandbox.devices.turn()
    fleet.sandbox.pusher.deliver_due()
    count = len(fleet.reports(name))
    issued = fleet.devices.issueCommand(name=name, body={"type": "LOCK"}).execute()
    for _ in range(5):
        fleet.sandbox.devices.turn()
    assert fleet.devices.operations().get(name=issued["name"]).execute()["done"] is False
    assert len(fleet.reports(name)) == count
    device_control(fleet.sandbox.store, name, Controls(resume_reporting=True))
    wait_until(lambda: fleet.finished(issued["name"]))
    wait_until(lambda: len(fleet.reports(name)) > count)


def test_removing_the_work_profile_leaves_the_server_uninformed(fleet: Fleet) -> None:
    name = fleet.enroll(WORK_PROFILE, personal=True)
    issued = fleet.devices.issueCommand(name=name, body={"type": "LOCK"})
    device_control(fleet.sandbox.store, name, Controls(stop_reporting=True))
    pending = issued.execute()
    said = device_control(fleet.sandbox.store, name, Controls(remove_work_profile=True))
    assert "the server is not told" in said
    fleet.sandbox.devices.turn()
    fleet.sandbox.pusher.deliver_due()
    assert all(report["appliedState"] != "DELETED" for report in fleet.reports(name))
    assert fleet.finished(pending["name"]) is None
    assert refused(fleet.devices.get(name=name)).status_code == 404


def test_controls_refuse_unknown_devices_and_bad_values(fleet: Fleet) -> None:
    name = fleet.enroll(FULLY_MANAGED)
    with pytest.raises(ControlRefused, match="No device"):
        device_control(fleet.sandbox.store, "enterprises/LC0x/devices/nope", Controls())
    with pytest.raises(ControlRefused, match="between 0 and 100"):
        device_control(fleet.sandbox.store, name, Controls(battery=101))
    with pytest.raises(ControlRefused, match="cannot be combined"):
        device_control(fleet.sandbox.store, name, Controls(stop_reporting=True, report_now=True))
    with pytest.raises(ControlRefused, match="--posture must be one of secure, at_risk"):
        device_control(fleet.sandbox.store, name, Controls(posture="rooted"))
    with pytest.raises(ControlRefused, match="--compromised cannot be combined"):
        device_control(fleet.sandbox.store, name, Controls(compromised=True, posture="secure"))
    bare = name.rsplit("/", 1)[1]
    assert device_control(fleet.sandbox.store, bare, Controls()) == f"{bare}: unchanged."


def test_a_state_file_of_issue_8_gains_the_new_columns_and_its_devices_report(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)  # issue 8's tables: issue 9's columns are added on open
    old.execute(
        "INSERT INTO device (enterprise_id, id, user_id, policy_id, state, management_mode, "
        "ownership, model, serial, imei, wifi_mac, token_id, token_data, enrolled) "
        "VALUES ('LC0old', 'd1', 'u1', 'default', 'ACTIVE', 'DEVICE_OWNER', 'COMPANY_OWNED', "
        "'pixel-8', 'S1', '1', 'm', 't', '', '2026-01-01T00:00:00Z')"
    )
    old.commit()
    old.close()
    store = Store(path)
    columns = {row["name"] for row in store.read("PRAGMA table_info(operation)")}
    assert {"due", "expires", "done", "verdict"} <= columns
    (row,) = store.read("SELECT next_report, reported FROM device")
    assert row["next_report"] is not None and row["reported"] is None
    Store(path)  # opening it again changes nothing
