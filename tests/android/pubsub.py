"""Pub/Sub push bodies and AMAPI resources for the notifications' tests."""

from __future__ import annotations

import base64
import datetime
import itertools
import json
from typing import Any

from mamori.android.models import Enterprise

SECRET = "push-secret-0123456789abcdef"
PUSH_URL = f"/pubsub/amapi/{SECRET}"
ENTERPRISE = "enterprises/LC00test"
_ids = itertools.count(1_000_000)


def stamp(minutes: float) -> str:
    """An RFC 3339 time ``minutes`` after 2026-11-30 10:00 UTC, with nanoseconds as Google's."""
    base = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=datetime.UTC)
    when = base + datetime.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def body(
    kind: str, resource: Any, message_id: str | None = None, publish: str | None = None
) -> bytes:
    """A wrapped Pub/Sub push (ANDROID.md 3.1) carrying ``resource`` as ``kind``."""
    message_id = message_id or str(next(_ids))
    data = base64.b64encode(json.dumps(resource).encode()).decode()
    return json.dumps(
        {
            "message": {
                "attributes": {"notificationType": kind},
                "data": data,
                "messageId": message_id,
                "message_id": message_id,
                "publishTime": publish or stamp(0),
                "publish_time": publish or stamp(0),
            },
            "subscription": "projects/p/subscriptions/mamori",
        }
    ).encode()


def device(
    n: int = 1,
    *,
    minutes: float = 0,
    state: str = "ACTIVE",
    token: str = "",
    token_data: str = "",
    mode: str = "DEVICE_OWNER",
    ownership: str = "COMPANY_OWNED",
    battery: float | None = None,
    enterprise: str = ENTERPRISE,
    **extra: Any,
) -> dict[str, Any]:
    """A ``Device`` resource (ANDROID.md 2.3) reported ``minutes`` after 10:00."""
    resource: dict[str, Any] = {
        "name": f"{enterprise}/devices/D{n}",
        "userName": f"{enterprise}/users/u{n}",
        "managementMode": mode,
        "ownership": ownership,
        "state": state,
        "appliedState": state,
        "policyName": f"{enterprise}/policies/p1",
        "appliedPolicyName": f"{enterprise}/policies/p1",
        "appliedPolicyVersion": str(int(minutes) + 1),
        "policyCompliant": True,
        "enrollmentTime": stamp(0),
        "lastStatusReportTime": stamp(minutes),
        "apiLevel": 34,
        "hardwareInfo": {
            "brand": "google",
            "manufacturer": "Google",
            "model": "Pixel 8",
            "serialNumber": f"SER{n:05d}",
        },
        "softwareInfo": {"androidVersion": "14", "securityPatchLevel": "2026-11-05"},
        "securityPosture": {"devicePosture": "SECURE"},
        "networkInfo": {
            "imei": "358240051111110",
            "meid": "A00000292788E1",
            "wifiMacAddress": "7c:11:11:11:11:11",
            "telephonyInfos": [
                {"carrierName": "docomo", "phoneNumber": "+81-90-1234-5678", "iccId": "8981"}
            ],
        },
    }
    if token:
        resource["enrollmentTokenName"] = token
    if token_data:
        resource["enrollmentTokenData"] = token_data
    if battery is not None:
        resource["powerManagementEvents"] = [
            {
                "eventType": "BATTERY_LEVEL_COLLECTED",
                "createTime": stamp(minutes),
                "batteryLevel": battery,
            }
        ]
    resource.update(extra)
    return resource


def enterprise_bind(contract: Any, name: str = ENTERPRISE) -> Enterprise:
    """The contract's enterprise, made directly (the signup is tested elsewhere)."""
    return Enterprise.objects.create(contract=contract, name=name, display_name="Alpha")
