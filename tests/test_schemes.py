"""Settings → custom permission schemes, and what a Custom administrator can do with one."""

import pytest

from mamori.accounts.models import PermissionScheme
from mamori.audit.models import LogEntry
from tests.conftest import OrgCast, logged_in, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db


def test_a_scheme_is_made_from_check_boxes_per_screen_and_action(orgs: OrgCast) -> None:
    client = logged_in(orgs.cast.a1)
    html = client.get("/alpha/settings/schemes/new/").content.decode()
    assert 'value="users.import"' in html and 'value="logs.export"' in html
    response = client.post(
        "/alpha/settings/schemes/new/",
        {"name": "監査", "permissions": ["logs.view", "logs.export"]},
    )
    assert response.status_code == 302
    scheme = PermissionScheme.objects.get(name="監査")
    assert scheme.permissions == ["logs.export", "logs.view"]
    assert LogEntry.objects.get(action="scheme.created").after == {
        "name": "監査",
        "permissions": ["logs.export", "logs.view"],
    }


def test_a_custom_administrator_gets_exactly_its_schemes_permissions(orgs: OrgCast) -> None:
    client = logged_in(orgs.a4)  # users.* and organizations.view, scoped to 開発部
    assert client.get(f"/alpha/users/{orgs.suzuki.pk}/").status_code == 200
    assert client.get("/alpha/logs/").status_code == 403
    orgs.a4.scheme.permissions = [*orgs.a4.scheme.permissions, "logs.view"]
    orgs.a4.scheme.save()
    assert client.get("/alpha/logs/").status_code == 200


def test_a_scheme_in_use_cannot_be_deleted(orgs: OrgCast) -> None:
    orgs.cast.a1.language = "en"
    orgs.cast.a1.save()
    response = logged_in(orgs.cast.a1).post(
        f"/alpha/settings/schemes/{orgs.a4.scheme_id}/delete/", follow=True
    )
    assert (
        "1 account uses “User managers”. Give it another scheme first." in response.content.decode()
    )
    assert PermissionScheme.objects.filter(pk=orgs.a4.scheme_id).exists()


def test_a_scheme_name_is_unique_in_the_contract(orgs: OrgCast) -> None:
    orgs.cast.a1.language = "en"
    orgs.cast.a1.save()
    response = logged_in(orgs.cast.a1).post(
        "/alpha/settings/schemes/new/", {"name": "User managers", "permissions": []}
    )
    assert response.context["form"].errors["name"] == [
        "A scheme named “User managers” already exists."
    ]
    assert PermissionScheme.objects.filter(contract=orgs.cast.a).count() == 1


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
