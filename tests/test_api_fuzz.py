"""schemathesis against the OpenAPI document: every operation, with data generated from its schema
(boundary values, then random ones; valid and invalid), sent through the Django WSGI application
as a System administrator of a contract with data, on SQLite and on PostgreSQL alike.

Each answer must be no server error, a status the document lists for the operation, JSON of the
documented content type matching its schema, and a refusal of every request that breaks the schema.
Not checked: that every schema-valid request is accepted (``positive_data_acceptance``): business
rules JSON Schema cannot say (a name in use, exactly one main address, the permission catalogue, a
user already having an account) refuse some with a documented 422.

Deterministic (derandomized Hypothesis, no example database) and short: ``MAX_EXAMPLES`` random
cases per operation after the boundary cases of the coverage phase. Each case runs in a savepoint
rolled back afterwards, so every case meets the same data.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mamori.accounts.models import ApiToken, PermissionScheme
from mamori.accounts.services.tokens import api_token_create, token_digest
from mamori.api.api import api
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.support.services import inquiry_send
from tests.android.devices import make_device
from tests.conftest import OrgCast, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 8
SEED = 20261130
# MAMORI_FUZZ_SURVEY=1: print every failing case and go on (a survey), with the totals at the end.
SURVEY = os.environ.get("MAMORI_FUZZ_SURVEY") == "1"

schema = schemathesis.openapi.from_dict(
    api.get_openapi_schema(),
    config=schemathesis.config.SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)
schema.app = WSGIHandler()

# The System administrator's token, stored as any token is (only its digest).
RAW_TOKEN = "mamori_schemathesis-token-of-the-system-administrator"


@schema.auth()
class Bearer:
    """The token on every generated case (schemathesis leaves it off where it tests without)."""

    def get(self, case: Any, context: Any) -> str:
        return RAW_TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


TALLY: Counter[str] = Counter()


@pytest.fixture
def real_ids(orgs: OrgCast) -> Iterator[dict[str, int]]:
    """Contract A with data (A1 with the support option, an inquiry, a scheme, tokens, log
    entries) and its ids, which generated ids are replaced by every other case."""
    a1 = orgs.cast.a1
    a1.support_option = True
    a1.save(update_fields=["support_option"])
    token, _raw = api_token_create(
        actor=Actor(account=a1), account=a1, name="schemathesis", expires_in_days=1
    )
    ApiToken.objects.filter(pk=token.pk).update(digest=token_digest(RAW_TOKEN))
    operator_token, _raw = api_token_create(
        actor=Actor(account=orgs.a3), account=orgs.a3, name="ci", expires_in_days=7
    )
    inquiry = inquiry_send(actor=Actor(account=a1), category="usage", subject="件名", body="本文")
    commands = command_ids(orgs)
    # The WSGI handler would close the test's connection at each request's start and end.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {
        "user_id": orgs.a3.user_id,
        "organization_id": orgs.sales.pk,
        "parent_id": orgs.root.pk,
        "scheme_id": PermissionScheme.objects.get(contract=orgs.cast.a).pk,
        "entry_id": LogEntry.objects.filter(contract=orgs.cast.a).latest("seq").pk,
        "inquiry_id": inquiry.pk,
        "token_id": operator_token.pk,
        "import_id": 0,
        "device_id": make_device(orgs.tokyo, user=orgs.sato, serial="FUZZ-1").pk,
        **commands,
    }
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def command_ids(orgs: OrgCast) -> dict[str, int]:
    """A device in 営業部 with a command and a bulk job (sending is work: no AMAPI call)."""
    from mamori.android.commands import services as commands
    from tests.android.command_devices import make_device

    actor = Actor(account=orgs.cast.a1)
    device = make_device(orgs.sales)
    command = commands.command_issue(actor=actor, device=device, code="lock")
    job = commands.command_job_create(
        actor=actor, contract=orgs.cast.a, code="lock", devices=[device]
    )
    return {"device_id": device.pk, "command_id": command.pk, "job_id": job.pk}


def _with_real_ids(values: dict[str, Any] | None, ids: dict[str, int]) -> None:
    """Every other generated id (the even ones) becomes an id of contract A's data."""
    for key, value in (values or {}).items():
        if key in ids and type(value) is int and value % 2 == 0 and ids[key]:
            values[key] = ids[key]  # type: ignore[index]
        elif key == "scope_organization_ids" and isinstance(value, list) and value:
            values[key] = [ids["organization_id"], *value[1:]]  # type: ignore[index]


@schema.parametrize()
@settings(
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_no_answer_outside_the_document(
    case: Any, real_ids: dict[str, int]
) -> None:
    _with_real_ids(case.path_parameters, real_ids)
    if isinstance(case.body, dict):
        _with_real_ids(case.body, real_ids)
    with transaction.atomic():
        response = case.call()
        TALLY["cases"] += 1
        TALLY[f"status {response.status_code}"] += 1
        if SURVEY:
            print("CASE", case.method, case.path, response.status_code)  # noqa: T201
        try:
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup is the latter
            TALLY["failures"] += 1
            if not SURVEY:
                raise
            for failure in getattr(exc, "exceptions", [exc]):
                first = " | ".join(str(failure).strip().splitlines()[:8])
                print("FAILURE", case.method, case.path, response.status_code, first)  # noqa: T201
                print("   ", case.path_parameters, case.query, repr(case.body)[:300])  # noqa: T201
        finally:
            transaction.set_rollback(True)


@pytest.fixture(autouse=True, scope="module")
def _survey_totals() -> Iterator[None]:
    yield
    if SURVEY:
        print("TOTALS", dict(TALLY))  # noqa: T201


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
