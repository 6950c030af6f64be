"""The device command registry (``mamori.core.commands``), with commands declared as the Android
app will declare them."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from pydantic import BaseModel, ValidationError

from mamori.core.commands import CommandRegistry, DeviceCommand


class ResetPasswordParameters(BaseModel):
    new_password: str = ""
    lock_now: bool = False


class Lock(DeviceCommand):
    code = "lock"
    amapi_type = "LOCK"
    label = "Lock"
    permission = "devices.command"


class ResetPassword(DeviceCommand):
    code = "reset_password"
    amapi_type = "RESET_PASSWORD"
    label = "Reset password"
    parameters = ResetPasswordParameters
    loggable = frozenset({"lock_now"})


class Reboot(DeviceCommand):
    code = "reboot"
    amapi_type = "REBOOT"
    label = "Reboot"
    management_modes = frozenset({"DEVICE_OWNER"})
    min_api_level = 24


class Relinquish(DeviceCommand):
    code = "relinquish_ownership"
    amapi_type = "RELINQUISH_OWNERSHIP"
    label = "Relinquish ownership"
    ownerships = frozenset({"COMPANY_OWNED"})


@dataclasses.dataclass
class Device:
    management_mode: str = "DEVICE_OWNER"
    ownership: str = "COMPANY_OWNED"
    api_level: int | None = 34


@pytest.fixture
def registry() -> CommandRegistry:
    registry = CommandRegistry()
    for command in (Lock, ResetPassword, Reboot, Relinquish):
        registry.register(command)
    return registry


def test_commands_are_found_by_code_in_registration_order(registry: CommandRegistry) -> None:
    assert registry.get("reboot") is Reboot
    assert [c.code for c in registry.all()] == [
        "lock",
        "reset_password",
        "reboot",
        "relinquish_ownership",
    ]


def test_operators_get_only_the_commands_marked_for_them(registry: CommandRegistry) -> None:
    assert registry.allowed(frozenset({"devices.command"})) == [Lock]
    assert len(registry.allowed(frozenset({"devices.command", "devices.manage"}))) == 4


def test_a_code_or_an_amapi_type_registered_twice_is_a_configuration_error(
    registry: CommandRegistry,
) -> None:
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register(Lock)

    class AnotherLock(DeviceCommand):
        code = "lock2"
        amapi_type = "LOCK"
        label = "Lock"

    with pytest.raises(ImproperlyConfigured, match="LOCK is registered twice"):
        registry.register(AnotherLock)


def test_a_command_may_log_only_its_own_parameters() -> None:
    class Leaky(DeviceCommand):
        code = "leaky"
        amapi_type = "WIPE"
        label = "Wipe"
        loggable = frozenset({"reason"})

    with pytest.raises(ImproperlyConfigured, match="not its parameters"):
        CommandRegistry().register(Leaky)


def test_only_loggable_arguments_reach_the_log() -> None:
    params = ResetPassword.parameters(new_password="123456", lock_now=True)
    assert ResetPassword.log_arguments(params.model_dump()) == {"lock_now": True}


def test_parameters_are_checked_by_their_schema() -> None:
    with pytest.raises(ValidationError):
        ResetPassword.parameters(lock_now="sometimes")


def test_preconditions_name_what_the_device_lacks() -> None:
    with translation.override("en"):
        assert Reboot.unmet(Device()) == []
        assert Reboot.unmet(Device(api_level=23)) == [
            "It needs Android API level 24 or newer; this device has 23."
        ]
        assert len(Reboot.unmet(Device(management_mode="PROFILE_OWNER"))) == 1
        assert Relinquish.unmet(Device(ownership="PERSONALLY_OWNED")) == [
            "It works only on company-owned devices."
        ]
        # No report yet: AMAPI, not Mamori, decides about the API level.
        assert Reboot.unmet(Device(api_level=None)) == []
