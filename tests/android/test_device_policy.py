"""A device's policy follows its organization: assigning a profile to an organization gives
its subtree's devices that policy (one durable ``devices.patch`` each), an organization below
with its own profile keeps its own, and the patch waits for a profile's first publication."""

from __future__ import annotations

import pytest

from mamori.android import services
from mamori.android.device_policy import devices_policy_sync
from mamori.android.models import Device, DeviceKind, Enterprise, Profile
from mamori.core.actor import Actor
from mamori.core.models import Work
from tests.android.fake_amapi import FakeAmapi
from tests.android.test_app import bind
from tests.conftest import OrgCast, logged_in, run_work

pytestmark = pytest.mark.django_db


def device(orgs: OrgCast, organization, n: int, policy: str = "") -> Device:
    cast = orgs.cast
    return Device.objects.create(
        contract=cast.a,
        enterprise=Enterprise.objects.get(contract=cast.a),
        name=f"enterprises/E/devices/D{n}",
        organization=organization,
        kind=DeviceKind.FULLY_MANAGED,
        policy_name=policy,
    )


def test_assigning_a_profile_moves_the_subtrees_devices_to_its_policy(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    assert run_work("android.") == ["done"]
    enterprise = Enterprise.objects.get(contract=cast.a)
    actor = Actor(account=cast.a1)
    initial = Profile.objects.get(contract=cast.a, is_initial=True)
    sales_profile = services.profile_create(actor=actor, contract=cast.a, name="営業", policy={})
    dev_profile = services.profile_create(actor=actor, contract=cast.a, name="開発", policy={})
    first = initial.policy_name(enterprise)
    in_tokyo = device(orgs, orgs.tokyo, 1, first)
    in_dev = device(orgs, orgs.dev, 2, first)
    services.profile_assign(actor=actor, organization=orgs.dev, profile=dev_profile)
    services.profile_assign(actor=actor, organization=orgs.sales, profile=sales_profile)
    in_tokyo.refresh_from_db(), in_dev.refresh_from_db()
    assert in_tokyo.policy_name == sales_profile.policy_name(enterprise)
    assert in_dev.policy_name == dev_profile.policy_name(enterprise)
    # Both profiles are published first (assigning publishes them); the patches then go.
    run_work("android.policy_publish")
    assert run_work("android.device_policy") == ["done", "done"]
    patched = {
        args[0]: args[1]["policyName"] for m, args in fake_amapi.calls if m == "device_patch"
    }
    assert patched == {in_dev.name: in_dev.policy_name, in_tokyo.name: in_tokyo.policy_name}
    # Assigning the root a profile again changes nothing below organizations with their own.
    calls = len(fake_amapi.calls)
    assert devices_policy_sync(actor, cast.a.pk, [in_tokyo.pk, in_dev.pk]) == 0
    assert run_work("android.") == [] and len(fake_amapi.calls) == calls


def test_a_patch_waits_for_its_profiles_first_publication(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    run_work("android.")
    actor = Actor(account=cast.a1)
    draft = services.profile_create(actor=actor, contract=cast.a, name="営業", policy={})
    in_sales = device(orgs, orgs.sales, 3)
    services.profile_assign(actor=actor, organization=orgs.sales, profile=draft)
    assert run_work("android.device_policy") == ["retry"]
    assert "device_patch" not in fake_amapi.methods()
    run_work("android.policy_publish")
    Work.objects.filter(kind="android.device_policy").update(next_attempt_at="2000-01-01T00:00Z")
    assert run_work("android.device_policy") == ["done"]
    in_sales.refresh_from_db()
    assert in_sales.policy_name == draft.policy_name(Enterprise.objects.get(contract=cast.a))
    assert fake_amapi.calls[-1] == (
        "device_patch",
        (in_sales.name, {"policyName": in_sales.policy_name}, "policyName"),
    )
