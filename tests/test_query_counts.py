"""Query-count baselines for every list view and endpoint (NetBox's ``query_counts.json`` in spirit).

Each page and endpoint is read twice: with the fixed cast, and again after more rows of everything
it lists were added. Both counts must equal the baseline in ``query_counts.json``: a query per row
(an N+1) changes the second count and fails here, and so does any new query on a hot page.

After a deliberate change, rewrite the baselines with ``MAMORI_QUERY_COUNTS_UPDATE=1 make test``
and review the diff of ``tests/query_counts.json``.
"""

from __future__ import annotations

import json
import os
import pathlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mamori.accounts.models import PermissionScheme
from mamori.accounts.services.tokens import api_token_create
from mamori.alerts.models import (
    Alert,
    AlertEvent,
    AlertKind,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from mamori.android.inventory.services import device_note_set
from mamori.android.models import (
    Command,
    Device,
    EnrollmentToken,
    Enterprise,
    PersonalUsage,
    Profile,
    UsageLogEvent,
)
from mamori.android.policy.defaults import initial_policy
from mamori.android.services import profile_assign, profile_create, profile_save
from mamori.audit.partitions import log_partitioned
from mamori.audit.selectors import PAGE_WINDOWS
from mamori.audit.services import Target, log_record
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User
from mamori.directory.services import organization_create
from mamori.support.models import Inquiry
from tests.alerts_data import alert_of
from tests.android.devices import make_device
from tests.conftest import (
    OrgCast,
    api_client,
    logged_in,
    make_account,
    make_user,
    shared_orgs,
    shared_orgs_cast,
)

pytestmark = pytest.mark.django_db

BASELINES = pathlib.Path(__file__).with_name("query_counts.json")
UPDATE = os.environ.get("MAMORI_QUERY_COUNTS_UPDATE") == "1"

PAGES = [
    "/alpha/users/",
    "/alpha/users/?org={sales}",
    "/alpha/users/?q=サトウ",
    "/alpha/users/{sato}/",
    "/alpha/users/{a3_user}/account/",
    "/alpha/users/{a3_user}/account/tokens/",
    "/alpha/users/import/",
    "/alpha/logs/",
    "/alpha/logs/{sales_entry}/",
    "/alpha/settings/",
    "/alpha/settings/schemes/",
    "/alpha/settings/security/",
    "/alpha/support/",
    "/alpha/account/",
    "/alpha/settings/android/",
    "/alpha/devices/profiles/",
    "/alpha/devices/profiles/{profile}/",
    "/alpha/devices/profiles/assignments/",
    "/alpha/devices/enrollment/",
    "/alpha/devices/",
    "/alpha/devices/?org={sales}&sort=-last_report&compliance=yes",
    "/alpha/devices/?q=ツイカ",
    "/alpha/devices/{device}/",
    "/alpha/devices/commands/{command}/",
    "/alpha/devices/jobs/{job}/",
    "/alpha/devices/jobs/{job}/?status=registered",
    "/alpha/devices/alerts/",
    "/alpha/devices/alerts/?state=all&org={sales}",
    "/alpha/devices/alerts/?state=all&device={device}",
    "/alpha/devices/alerts/{alert}/",
    "/alpha/settings/alerts/",
    "/alpha/settings/webhooks/",
    "/alpha/settings/webhooks/{webhook}/",
]

ENDPOINTS = [
    "/api/v1/me",
    "/api/v1/logs",
    "/api/v1/logs/{sales_entry}",
    "/api/v1/organizations",
    "/api/v1/organizations/{sales}",
    "/api/v1/users",
    "/api/v1/users?organization_id={sales}",
    "/api/v1/users/{sato}",
    "/api/v1/users/{a3_user}/account",
    "/api/v1/users/{a3_user}/account/tokens",
    "/api/v1/schemes",
    "/api/v1/inquiries",
    "/api/v1/android/enterprise",
    "/api/v1/profiles",
    "/api/v1/profiles/{profile}",
    "/api/v1/profiles/{profile}/versions",
    "/api/v1/enrollment-tokens",
    "/api/v1/devices",
    "/api/v1/devices?sort=model",
    "/api/v1/devices/{device}",
    "/api/v1/devices/{device}/commands",
    "/api/v1/jobs/{job}",
    "/api/v1/alerts",
    "/api/v1/alerts?state=all&organization_id={sales}",
    "/api/v1/alerts?state=all&device_id={device}",
    "/api/v1/alerts/{alert}",
    "/api/v1/settings/alerts",
    "/api/v1/webhooks",
    "/api/v1/webhooks/{webhook}",
]


def ids(orgs: OrgCast) -> dict[str, int]:
    from mamori.audit.models import LogEntry

    return {
        "sato": orgs.sato.pk,
        "sales": orgs.sales.pk,
        "a3_user": orgs.a3.user_id,
        "sales_entry": LogEntry.objects.get(
            action="organization.created", target_id=str(orgs.sales.pk)
        ).pk,
        "profile": Profile.objects.get(contract=orgs.cast.a, name="プロファイル 0").pk,
        **command_ids(orgs),
        "device": Device.objects.get(contract=orgs.cast.a, serial_number="QC-0").pk,
        "alert": Alert.objects.get(device__serial_number="QC-0", kind=AlertKind.NO_REPORT).pk,
        "webhook": Webhook.objects.filter(contract=orgs.cast.a).order_by("pk").first().pk,
    }


def grow(orgs: OrgCast, n: int, start: int = 0) -> None:
    """``n`` more of every row a list shows: users with accounts, organizations, log entries,
    schemes, inquiries, API tokens, and Android's profiles with their versions and assignments
    and enrollment tokens."""
    a1 = orgs.cast.a1
    enterprise, _ = Enterprise.objects.get_or_create(
        contract=orgs.cast.a, defaults={"name": "enterprises/LCalpha", "bound_by": a1}
    )
    for i in range(start, start + n):
        user = make_user(orgs.tokyo, f"追加 {i}", f"more{i}@alpha.example", "ツイカ")
        make_account(user, f"more{i}", "operator")
        section = organization_create(actor=Actor.operator(), parent=orgs.sales, name=f"課 {i}")
        grow_android(orgs, enterprise, section, user, i)
        grow_commands(orgs, section, i)
        grow_webhooks(orgs, i)
        log_record(
            contract=orgs.cast.a,
            actor=Actor(account=a1),
            action="account.login",
            target=Target("account", a1.pk, a1.name),
            organization_id=orgs.sales.pk,
        )
        PermissionScheme.objects.create(contract=orgs.cast.a, name=f"scheme {i}", permissions=[])
        api_token_create(
            actor=Actor(account=orgs.a3), account=orgs.a3, name=f"token {i}", expires_in_days=7
        )
        Inquiry.objects.create(
            contract=orgs.cast.a,
            account=a1,
            sender_name="a",
            sender_email="a@alpha.example",
            category="other",
            subject=f"s{i}",
            body="b",
        )


def grow_android(
    orgs: OrgCast, enterprise: Enterprise, section: Organization, user: User, i: int
) -> None:
    """A profile (assigned to ``section``, which sees it in the tree and the assignments), a
    version more of the first profile, and an enrollment token for ``user``."""
    actor = Actor(account=orgs.cast.a1)
    profile = profile_create(
        actor=actor, contract=orgs.cast.a, name=f"プロファイル {i}", policy=initial_policy()
    )
    profile_assign(actor=actor, organization=section, profile=profile)
    first = Profile.objects.get(contract=orgs.cast.a, name="プロファイル 0")
    profile_save(actor=actor, profile=first, policy=initial_policy(), note=f"版 {i}")
    grow_devices(orgs, section, user, profile, i)
    EnrollmentToken.objects.create(
        contract=orgs.cast.a,
        enterprise=enterprise,
        public_id=f"public{i}",
        name=f"{enterprise.name}/enrollmentTokens/T{i}",
        value=f"TOKENVALUE{i:06d}",
        qr_code="{}",
        organization=section,
        user=user,
        allow_personal_usage=PersonalUsage.DISALLOWED,
        created_by=orgs.cast.a1,
    )


def grow_devices(
    orgs: OrgCast, section: Organization, user: User, profile: Profile, i: int
) -> None:
    """A device of ``user`` in ``section`` (on the list, on the user's page), and one more
    command, usage-log event and log entry of the device whose page is counted."""
    listed = make_device(section, user=user, profile_id=profile.pk, version=i, compliant=True)
    device = Device.objects.filter(contract=orgs.cast.a, serial_number="QC-0").first()
    if device is None:
        device = make_device(orgs.tokyo, user=orgs.sato, serial="QC-0", profile_id=profile.pk)
    # An alert more on the lists, and an event more in the history of the page counted.
    alert_of(listed, AlertKind.NON_COMPLIANT, 2)
    alert_of(device, AlertKind.NO_REPORT, 1 + i % 2)
    Command.objects.create(contract=orgs.cast.a, device=device, type="LOCK", issued_by=orgs.cast.a1)
    UsageLogEvent.objects.create(
        contract=orgs.cast.a,
        device=device,
        event_id=i,
        event_type="KEYGUARD_SECURED",
        event_time=device.last_status_report_at,
    )
    device_note_set(actor=Actor(account=orgs.cast.a1), device=device, note=f"note {i}")


def grow_commands(orgs: OrgCast, section: Organization, i: int) -> None:
    """A command more to the first device (its list), a device more in the first bulk job
    (its progress), and a command's chain one entry longer."""
    from mamori.android.commands import services as commands
    from mamori.android.models import Command, CommandJob, Device
    from tests.android.command_devices import make_device

    actor = Actor(account=orgs.cast.a1)
    first = Device.objects.filter(contract=orgs.cast.a).order_by("pk").first()
    if first is None:
        first = make_device(orgs.tokyo)
    if not CommandJob.objects.filter(contract=orgs.cast.a).exists():
        commands.command_job_create(actor=actor, contract=orgs.cast.a, code="lock", devices=[first])
    commands.command_issue(actor=actor, device=first, code="lock")
    job = CommandJob.objects.filter(contract=orgs.cast.a).order_by("pk").first()
    Command.objects.create(contract=orgs.cast.a, device=make_device(section), job=job, type="LOCK")


def grow_webhooks(orgs: OrgCast, i: int) -> None:
    """A webhook more, and a delivery more with two attempts to the first one (its page)."""
    contract = orgs.cast.a
    Webhook.objects.create(contract=contract, url=f"https://93.184.216.34/h{i}", secret="s")
    first = Webhook.objects.filter(contract=contract).order_by("pk").first()
    device = Device.objects.get(contract=contract, serial_number="QC-0")
    now = timezone.now()
    alert = Alert.objects.create(
        contract=contract,
        device=device,
        kind="command_failed",
        level=1,
        opened_at=now,
        level_changed_at=now,
        cleared_at=now,
    )
    event = AlertEvent.objects.create(
        contract=contract, alert=alert, action="opened", level=1, at=now
    )
    delivery = WebhookDelivery.objects.create(
        contract=contract, webhook=first, event=event, url=first.url, body="{}"
    )
    WebhookAttempt.objects.bulk_create(
        [WebhookAttempt(delivery=delivery, status_code=code) for code in (500, 200)]
    )


def command_ids(orgs: OrgCast) -> dict[str, int]:
    from mamori.android.models import Command, CommandJob

    command = Command.objects.filter(contract=orgs.cast.a).order_by("pk").first()
    job = CommandJob.objects.filter(contract=orgs.cast.a).order_by("pk").first()
    return {
        "command": command.pk if command else 0,
        "device": command.device_id if command else 0,
        "job": job.pk if job else 0,
    }


WINDOWED = ("page /alpha/logs/", "api /api/v1/logs")


def count(client: Client, url: str) -> int:
    client.get(url)  # warm: the session's once-a-minute touch and the token's last use
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return len(queries.captured_queries)


def measure(orgs: OrgCast) -> dict[str, int]:
    a1 = orgs.cast.a1
    a1.support_option = True
    a1.save(update_fields=["support_option"])
    urls = {f"page {p}": p for p in PAGES} | {f"api {e}": e for e in ENDPOINTS}
    page_client, api = logged_in(a1), api_client(a1)
    result = {}
    for key, url in urls.items():
        client = page_client if key.startswith("page") else api
        result[key] = count(client, url.format(**ids(orgs)))
    return result


def test_every_list_view_and_endpoint_runs_its_baseline_number_of_queries(
    orgs: OrgCast,
) -> None:
    grow(orgs, 1)  # one of everything: an empty list may skip its query
    small = measure(orgs)
    grow(orgs, 4, start=1)
    large = measure(orgs)
    if log_partitioned():
        # The partitioned log's pages look for their rows in growing time windows first
        # (mamori.audit.selectors._newest): a short log takes up to that many more queries,
        # whatever the number of rows, which is no N+1; the baseline is the one-window count.
        for key in WINDOWED:
            if 0 < small[key] - large[key] <= len(PAGE_WINDOWS):
                small[key] = large[key]
    grown = {key: (small[key], large[key]) for key in small if small[key] != large[key]}
    assert not grown, f"queries grow with the rows shown (an N+1): {grown}"
    if UPDATE:
        BASELINES.write_text(json.dumps(small, indent=2, ensure_ascii=False) + "\n")
    baselines = json.loads(BASELINES.read_text())
    changed = {k: (baselines.get(k), v) for k, v in small.items() if baselines.get(k) != v}
    assert not changed, (
        f"query counts differ from tests/query_counts.json (baseline, now): {changed}; "
        "if that is intended, run with MAMORI_QUERY_COUNTS_UPDATE=1 and review the diff"
    )


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
