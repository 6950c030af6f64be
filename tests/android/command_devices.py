"""Devices for the command tests, made directly (the notifications that make them in production
are another part's), and a stand-in for the gateway's command calls that answers like AMAPI."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from mamori.android import amapi
from mamori.android.models import Device, DeviceKind, Enterprise
from mamori.directory.models import Organization

KINDS = {
    "fully_managed": (DeviceKind.FULLY_MANAGED, "DEVICE_OWNER", "COMPANY_OWNED"),
    "company_work_profile": (DeviceKind.COMPANY_WORK_PROFILE, "PROFILE_OWNER", "COMPANY_OWNED"),
    "personal": (DeviceKind.PERSONAL_WORK_PROFILE, "PROFILE_OWNER", "PERSONALLY_OWNED"),
}
_serials = itertools.count(1)


def enterprise_of(contract: Any, name: str = "") -> Enterprise:
    """The contract's enterprise, bound if it is not yet."""
    found = Enterprise.objects.filter(contract=contract).first()
    return found or Enterprise.objects.create(
        contract=contract, name=name or f"enterprises/LC{contract.domain}"
    )


def make_device(
    organization: Organization,
    *,
    kind: str = "fully_managed",
    api_level: int | None = 34,
    serial: str = "",
    name: str = "",
    report: dict[str, Any] | None = None,
    enterprise: Enterprise | None = None,
) -> Device:
    """An enrolled device of ``organization``'s contract, as a notification would leave it."""
    enterprise = enterprise or enterprise_of(organization.contract)
    number = next(_serials)
    device_kind, mode, ownership = KINDS[kind]
    return Device.objects.create(
        contract_id=organization.contract_id,
        enterprise=enterprise,
        name=name or f"{enterprise.name}/devices/D{number:05d}",
        organization=organization,
        kind=device_kind,
        management_mode=mode,
        ownership=ownership,
        applied_state="ACTIVE",
        api_level=api_level,
        serial_number=serial or f"SN{number:05d}",
        model="Pixel 8",
        report=report or {},
    )


@dataclasses.dataclass
class FakeCommands:
    """Records issueCommand / operations calls; answers pending operations, like AMAPI."""

    issued: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    calls: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    operations: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    fail: dict[str, Exception] = dataclasses.field(default_factory=dict)
    counter: itertools.count = dataclasses.field(default_factory=lambda: itertools.count(1))

    def device_issue_command(self, name: str, command: dict[str, Any], **kw: Any) -> dict[str, Any]:
        self.calls.append(("issue", (name, kw.get("inline", False))))
        if "issue" in self.fail:
            raise self.fail["issue"]
        if kw.get("marker"):
            command = amapi.command_marked(command, kw["marker"])
            if kw.get("sent_after") is not None:  # the gateway reconciles first (calls.py)
                for operation in self.operation_list(name):
                    if operation["metadata"].get("duration") == command["duration"]:
                        return operation
        self.issued.append((name, command))
        operation = {
            "name": f"{name}/operations/{next(self.counter)}",
            "metadata": {"@type": "Command", **command},  # echoes newPassword: Mamori strips it
            "done": False,
        }
        self.operations[operation["name"]] = operation
        return operation

    def operation_get(self, name: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("get", name))
        if name not in self.operations:
            raise amapi.AmapiNotFound("gone", status=404)
        return self.operations[name]

    def operation_list(self, device_name: str, **kw: Any) -> list[dict[str, Any]]:
        self.calls.append(("list", device_name))
        return [o for n, o in self.operations.items() if n.startswith(f"{device_name}/")]

    def operation_cancel(self, name: str, **kw: Any) -> None:
        self.calls.append(("cancel", name))
        operation = self.operations[name]
        if not operation.get("done"):
            operation.update(done=True, error={"code": 1, "message": "cancelled"})

    def finish(self, name: str, **fields: Any) -> dict[str, Any]:
        """Mark operation ``name`` done (``metadata`` fields merged in, ``error`` set as given)."""
        operation = self.operations[name]
        metadata = fields.pop("metadata", {})
        operation.update(done=True, **fields)
        operation["metadata"] = {**operation["metadata"], **metadata}
        return operation


@pytest.fixture
def fake_commands(monkeypatch: pytest.MonkeyPatch) -> FakeCommands:
    fake = FakeCommands()
    for method in ("device_issue_command", "operation_get", "operation_list", "operation_cancel"):
        monkeypatch.setattr(amapi, method, getattr(fake, method))
    return fake
