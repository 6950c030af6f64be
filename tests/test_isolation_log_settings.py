"""Settings → Operation log and ``/api/v1/settings/log`` never reach another contract: contract
B's session on contract A's page is a 404 changing nothing; B's token changes only B's."""

import pytest

from mamori.audit.models import LogChain, LogEntry
from tests.conftest import Cast, api_client, logged_in

pytestmark = pytest.mark.django_db

PANEL = [
    ("log_settings", "get", "/alpha/settings/log/"),
    ("log_settings", "post", "/alpha/settings/log/"),
]
API_OWN_ONLY = [
    ("get", "/api/v1/settings/log"),
    ("put", "/api/v1/settings/log"),
]


def snapshot(cast: Cast) -> tuple:
    return (
        list(
            LogChain.objects.filter(contract=cast.a).values_list(
                "retention_months", "archive", "first_seq"
            )
        ),
        LogEntry.objects.filter(contract=cast.a).count(),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a_log_settings(
    cast: Cast, name: str, method: str, path: str
) -> None:
    before = snapshot(cast)
    data = {"retention_months": "1", "archive": "on"} if method == "post" else None
    response = getattr(logged_in(cast.b1), method)(path, data)
    assert response.status_code == 404
    assert snapshot(cast) == before


def test_contract_b_reads_and_changes_only_its_own_log_settings(cast: Cast) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    body = {"retention_months": 1, "archive": False}
    saved = client.put("/api/v1/settings/log", body, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert client.get("/api/v1/settings/log").json() == body
    assert LogChain.objects.get(contract=cast.b).retention_months == 1
    assert snapshot(cast) == before
    page = logged_in(cast.a1).get("/alpha/settings/log/").content.decode()
    assert 'value="1"' not in page
