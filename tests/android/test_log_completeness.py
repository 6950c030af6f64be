"""Every change writes one operation-log entry in its transaction (README "Operation log"):
Google's answer to a publication is the system's entry; saving and renaming a profile in one
PUT is one entry; deleting an organization deletes its enrollment tokens at Google and logs it."""

from __future__ import annotations

import pytest

from mamori.android import amapi, services
from mamori.android.models import EnrollmentToken, Profile, PublishState
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.directory.services import organization_create, organization_delete
from tests.android.fake_amapi import FakeAmapi
from tests.android.test_app import bind
from tests.conftest import OrgCast, api_client, logged_in, run_work

pytestmark = pytest.mark.django_db


def entries(contract, action: str) -> list[LogEntry]:
    return list(LogEntry.objects.filter(contract=contract, action=action).order_by("id"))


def test_googles_acceptance_of_a_publication_is_the_systems_entry(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    assert run_work("android.policy_publish") == ["done"]
    profile = Profile.objects.get(contract=orgs.cast.a)
    assert profile.publish_state == PublishState.PUBLISHED
    [entry] = entries(orgs.cast.a, "profile.publish_accepted")
    assert (entry.actor_kind, entry.result, entry.target_id) == (
        "system",
        "success",
        str(profile.pk),
    )
    assert entry.after == {"version": 1, "google_version": profile.published_version}


def test_googles_refusal_of_a_publication_is_the_systems_entry_with_its_reason(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    fake_amapi.fail["policy_patch"] = amapi.AmapiError(
        "Invalid value at 'policy.camera_access'", status=400
    )
    bind(logged_in(orgs.cast.a1), fake_amapi)
    assert run_work("android.policy_publish") == ["failed"]
    profile = Profile.objects.get(contract=orgs.cast.a)
    assert profile.publish_state == PublishState.FAILED
    assert entries(orgs.cast.a, "profile.publish_accepted") == []
    [entry] = entries(orgs.cast.a, "profile.publish_failed")
    assert (entry.actor_kind, entry.result) == ("system", "failure")
    assert entry.after == {"version": 1, "google_answer": "Invalid value at 'policy.camera_access'"}


def test_saving_and_renaming_a_profile_in_one_put_writes_one_entry(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    profile = Profile.objects.get(contract=orgs.cast.a)
    policy = {**profile.current.policy, "cameraAccess": "CAMERA_ACCESS_DISABLED"}
    client = api_client(orgs.cast.a1)
    before = LogEntry.objects.filter(contract=orgs.cast.a).count()
    response = client.put(
        f"/api/v1/profiles/{profile.pk}",
        {"name": "全社標準", "policy": policy, "note": "カメラ禁止"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["version"]) == ("全社標準", 2)
    assert LogEntry.objects.filter(contract=orgs.cast.a).count() == before + 1
    entry = LogEntry.objects.filter(contract=orgs.cast.a).latest("id")
    assert entry.action == "profile.saved"
    assert entry.before == {"version": 1, "name": profile.name}
    assert entry.after == {"version": 2, "note": "カメラ禁止", "name": "全社標準"}


def test_a_put_that_only_renames_writes_the_rename_alone(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    profile = Profile.objects.get(contract=orgs.cast.a)
    client = api_client(orgs.cast.a1)
    before = LogEntry.objects.filter(contract=orgs.cast.a).count()
    response = client.put(
        f"/api/v1/profiles/{profile.pk}",
        {"name": "全社標準", "policy": profile.current.policy},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert LogEntry.objects.filter(contract=orgs.cast.a).count() == before + 1
    entry = LogEntry.objects.filter(contract=orgs.cast.a).latest("id")
    assert (entry.action, entry.after) == ("profile.renamed", {"name": "全社標準"})


def test_deleting_an_organization_deletes_its_valid_tokens_at_google_and_logs_it(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    a1 = Actor(account=orgs.cast.a1)
    bind(logged_in(orgs.cast.a1), fake_amapi)
    run_work("android.policy_publish")
    section = organization_create(actor=a1, parent=orgs.sales, name="第一課")
    kept = services.enrollment_token_create(actor=a1, organization=section)
    revoked = services.enrollment_token_create(actor=a1, organization=section)
    services.enrollment_token_revoke(actor=a1, token=revoked)
    elsewhere = services.enrollment_token_create(actor=a1, organization=orgs.sales)
    fake_amapi.calls.clear()

    organization_delete(actor=a1, organization=section)

    assert list(EnrollmentToken.objects.values_list("pk", flat=True)) == [elsewhere.pk]
    assert fake_amapi.calls == []  # not inside the transaction: durable work, after commit
    [work] = Work.objects.filter(kind=services.TOKEN_DELETE)
    assert (work.payload, work.contract_id) == ({"name": kept.name}, orgs.cast.a.pk)
    [deleted] = entries(orgs.cast.a, "organization.deleted")
    [logged] = [e for e in entries(orgs.cast.a, "enrollment_token.revoked") if e.id > deleted.id]
    assert (logged.target_id, logged.before) == (
        str(kept.pk),
        {"value_tail": kept.value_tail, "organization": "第一課"},
    )
    assert logged.actor_kind == "account" and logged.actor_id == orgs.cast.a1.pk
    assert run_work(services.TOKEN_DELETE) == ["done"]
    assert fake_amapi.calls == [("enrollment_token_delete", kept.name)]


def test_deleting_an_organization_without_tokens_queues_nothing(orgs: OrgCast) -> None:
    section = organization_create(actor=Actor.operator(), parent=orgs.sales, name="第二課")
    organization_delete(actor=Actor(account=orgs.cast.a1), organization=section)
    assert not Work.objects.filter(kind=services.TOKEN_DELETE).exists()
    assert entries(orgs.cast.a, "enrollment_token.revoked") == []
