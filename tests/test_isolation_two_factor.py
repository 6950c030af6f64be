"""Two-step verification pages of contract A, tried with contract B's session: 404, nothing changed."""

import pyotp
import pytest

from mamori.accounts.models import Account, BackupCode
from mamori.accounts.services.two_factor import two_factor_begin, two_factor_confirm
from mamori.audit.models import LogEntry
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from tests.conftest import Cast, OrgCast, logged_in, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_user} for a user of contract A whose account has it on)
PANEL = [
    ("login_verify", "get", "/alpha/login/verify/"),
    ("login_verify", "post", "/alpha/login/verify/"),
    ("two_factor", "get", "/alpha/account/two-factor/"),
    ("two_factor_setup", "get", "/alpha/account/two-factor/setup/"),
    ("two_factor_setup", "post", "/alpha/account/two-factor/setup/"),
    ("two_factor_disable", "post", "/alpha/account/two-factor/disable/"),
    ("backup_codes_regenerate", "post", "/alpha/account/two-factor/backup-codes/"),
    ("two_factor_reset", "post", "/alpha/users/{a_user}/account/two-factor/reset/"),
    ("two_factor_reset", "post", "/bravo/users/{a_user}/account/two-factor/reset/"),
    ("settings_security", "get", "/alpha/settings/security/"),
    ("settings_security", "post", "/alpha/settings/security/"),
]


@pytest.fixture
def a_objects(orgs: OrgCast) -> dict[str, object]:
    """A2 of contract A with two-step verification on, and a code its app shows now."""
    account = orgs.a2
    setup = two_factor_begin(account=account)
    two_factor_confirm(
        actor=Actor(account=account),
        account=account,
        secret=setup.secret,
        code=pyotp.TOTP(setup.secret).now(),
    )
    Account.objects.filter(pk=account.pk).update(totp_last_step=None)
    return {"a_user": account.user_id, "code": pyotp.TOTP(setup.secret).now()}


def snapshot() -> tuple:
    return (
        list(LogEntry.objects.order_by("pk").values_list("pk", "digest")),
        list(
            Account.objects.order_by("pk").values_list(
                "pk", "totp_secret", "totp_confirmed_at", "totp_last_step"
            )
        ),
        list(BackupCode.objects.order_by("pk").values_list("pk", "digest", "used_at")),
        list(Contract.objects.order_by("pk").values_list("pk", "require_two_factor")),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot()
    code = a_objects["code"]
    data = {"code": code, "off-code": code, "codes-code": code, "require_two_factor": "on"}
    response = getattr(client, method)(path.format(**a_objects), data if method == "post" else None)
    assert response.status_code == 404
    assert snapshot() == before


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
