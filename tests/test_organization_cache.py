"""The cached organization tree (``contracts.versions``) is never stale and never another
contract's: after every kind of write to organizations and users (panel, API, CSV import, bulk
actions, a bare ``QuerySet.update``), the users page, the Add User page, the log page's filter
and the API show what a fresh read gives.

Transactional tests: the version is raised at commit, and nothing is cached inside a transaction.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mamori.accounts.models import Account
from mamori.audit.selectors import log_organizations_of
from mamori.contracts.versions import ORGANIZATIONS, cached, version_of
from mamori.core.widgets import FastSelect, Options
from mamori.directory.forms import organization_choices
from mamori.directory.models import Organization, User
from mamori.directory.selectors import OrgNode, organization_tree, tree_opened_at
from tests.conftest import OrgCast, api_client, logged_in, make_user, orgs_create
from tests.test_directory import add_user_form
from tests.test_users_csv import HEADER, csv_text, import_all

pytestmark = pytest.mark.django_db(transaction=True)


def fields(nodes: list[OrgNode]) -> list[tuple[object, ...]]:
    return [dataclasses.astuple(n) for n in nodes]


def fresh(account: Account) -> tuple[list[OrgNode], list[tuple[int, str, str]]]:
    """The tree and the log filter's organizations read from the tables (in a transaction the
    cache is neither read nor written)."""
    with transaction.atomic():
        return organization_tree(account, "users.view"), log_organizations_of(account)


def assert_fresh(account: Account, client: Client, api: Client) -> None:
    """Every cached view of the organizations shows what a fresh read gives; read twice, so that
    the second read comes from the cache."""
    tree, log_organizations = fresh(account)
    for _ in range(2):
        assert fields(organization_tree(account, "users.view")) == fields(tree)
        for node in tree:
            page = client.get(f"/alpha/users/?org={node.id}")
            assert page.status_code == 200
            selected = Organization.objects.get(pk=node.id)
            assert fields(page.context["tree"]) == fields(tree_opened_at(tree, selected))
            assert f"{node.subtree_count}</span></li>" in page.content.decode()
        add = client.get("/alpha/users/add/").context["form"]
        assert list(add.fields["organization"].choices) == organization_choices(tree)
        log = client.get("/alpha/logs/").context["form"]
        assert list(log.fields["organization"].choices)[1:] == [
            (pk, name) for pk, name, _path in log_organizations
        ]
        assert log.paths == {pk: path for pk, _name, path in log_organizations}
        listed = api.get("/api/v1/organizations").json()
        assert [(o["id"], o["name"], o["user_count"], o["subtree_user_count"]) for o in listed] == [
            (n.id, n.name, n.user_count, n.subtree_count) for n in tree
        ]


@pytest.fixture
def org_cast(cast) -> OrgCast:  # type: ignore[no-untyped-def]
    return orgs_create(cast)


def _post_json(api: Client, url: str, body: dict, method: str = "post"):  # type: ignore[no-untyped-def]
    return getattr(api, method)(url, body, content_type="application/json")


def test_every_write_path_shows_at_once_on_every_cached_page(org_cast: OrgCast) -> None:
    orgs = org_cast
    admin = orgs.cast.a1
    admin.language = "en"
    admin.save()
    client, api = logged_in(admin), api_client(admin)
    assert_fresh(admin, client, api)
    before = version_of(admin.contract_id, ORGANIZATIONS)

    def check(response_status: int, expected: int) -> None:
        assert response_status == expected
        assert_fresh(admin, client, api)

    # The panel: users.
    check(
        client.post("/alpha/users/add/", add_user_form(orgs.tokyo, name="新人 一")).status_code, 302
    )
    newcomer = User.objects.get(name="新人 一")
    edit = add_user_form(
        orgs.dev, name="新人 一", **{"emails-TOTAL_FORMS": "1", "emails-1-address": ""}
    )
    check(client.post(f"/alpha/users/{newcomer.pk}/edit/", edit).status_code, 302)
    check(client.post(f"/alpha/users/{newcomer.pk}/delete/").status_code, 302)
    # The panel: bulk actions.
    one = make_user(orgs.dev, "一括 一", "ikkatsu1@alpha.example")
    two = make_user(orgs.dev, "一括 二", "ikkatsu2@alpha.example")
    assert_fresh(admin, client, api)
    move = {"action": "move", "user": [one.pk, two.pk], "organization": orgs.tokyo.pk}
    check(client.post("/alpha/users/bulk/", move).status_code, 302)
    delete = {"action": "delete", "user": [one.pk, two.pk]}
    check(client.post("/alpha/users/bulk/", delete).status_code, 302)
    # The panel: organizations.
    check(client.post(f"/alpha/orgs/{orgs.dev.pk}/add/", {"name": "基盤"}).status_code, 302)
    infra = Organization.objects.get(name="基盤")
    check(client.post(f"/alpha/orgs/{infra.pk}/rename/", {"name": "基盤チーム"}).status_code, 302)
    check(client.post(f"/alpha/orgs/{infra.pk}/move/", {"parent": orgs.sales.pk}).status_code, 302)
    check(client.post(f"/alpha/orgs/{infra.pk}/up/").status_code, 302)
    check(client.post(f"/alpha/orgs/{infra.pk}/down/").status_code, 302)
    check(client.post(f"/alpha/orgs/{infra.pk}/delete/").status_code, 302)
    # The API.
    created = _post_json(api, "/api/v1/organizations", {"parent_id": orgs.dev.pk, "name": "API部"})
    check(created.status_code, 201)
    pk = created.json()["id"]
    renamed = _post_json(api, f"/api/v1/organizations/{pk}", {"name": "API課"}, "patch")
    check(renamed.status_code, 200)
    moved = _post_json(api, f"/api/v1/organizations/{pk}", {"parent_id": orgs.sales.pk}, "patch")
    check(moved.status_code, 200)
    body = {
        "organization_id": pk,
        "name": "山本 恵",
        "emails": [{"address": "megumi@alpha.example", "category": "main"}],
    }
    user = _post_json(api, "/api/v1/users", body)
    check(user.status_code, 201)
    body["organization_id"] = orgs.tokyo.pk
    check(_post_json(api, f"/api/v1/users/{user.json()['id']}", body, "put").status_code, 200)
    check(api.delete(f"/api/v1/users/{user.json()['id']}").status_code, 204)
    check(api.delete(f"/api/v1/organizations/{pk}").status_code, 204)
    # The CSV import: new organizations, new users, users moved (counts recounted in bulk).
    rows = [
        ["アルファ株式会社 / 営業部 / 大阪", "大阪 一", "", "", "osaka1@alpha.example:main"],
        ["アルファ株式会社 / 営業部 / 大阪", "大阪 二", "", "", "osaka2@alpha.example:main"],
        ["アルファ株式会社 / 開発部", "佐藤 花子", "", "", "sato@alpha.example:main"],
    ]
    assert import_all(admin, csv_text(rows, HEADER), mode="upsert").status == "done"
    assert Organization.objects.get(name="大阪").user_count == 2
    assert User.objects.get(pk=orgs.sato.pk).organization_id == orgs.dev.pk
    assert_fresh(admin, client, api)
    # A write that no service makes: the database raises the version all the same.
    Organization.objects.filter(pk=orgs.tokyo.pk).update(name="東京支店")
    assert_fresh(admin, client, api)
    Organization.objects.filter(pk=orgs.tokyo.pk).update(user_count=41)
    assert_fresh(admin, client, api)
    assert version_of(admin.contract_id, ORGANIZATIONS) > before


def test_a_cached_tree_costs_one_query_and_a_change_rereads_it(org_cast: OrgCast) -> None:
    admin = org_cast.cast.a1
    organization_tree(admin, "users.view")
    with CaptureQueriesContext(connection) as hit:
        organization_tree(admin, "users.view")
    assert len(hit) == 1 and "contracts_dataversion" in hit[0]["sql"]
    Organization.objects.filter(pk=org_cast.dev.pk).update(name="開発本部")
    with CaptureQueriesContext(connection) as miss:
        tree = organization_tree(admin, "users.view")
    assert len(miss) == 2
    assert "開発本部" in [n.name for n in tree]


def test_a_rolled_back_change_is_never_served(org_cast: OrgCast) -> None:
    admin = org_cast.cast.a1
    organization_tree(admin, "users.view")
    with pytest.raises(RuntimeError), transaction.atomic():
        Organization.objects.filter(pk=org_cast.dev.pk).update(name="幻の部")
        assert "幻の部" in [n.name for n in organization_tree(admin, "users.view")]
        raise RuntimeError
    assert "幻の部" not in [n.name for n in organization_tree(admin, "users.view")]
    assert "幻の部" not in logged_in(admin).get("/alpha/users/add/").content.decode()


def test_one_contract_is_never_shown_another_contracts_cached_tree(org_cast: OrgCast) -> None:
    a1, b1 = org_cast.cast.a1, org_cast.cast.b1
    # Same scope (all organizations), same counts of changes: only the contract tells them apart.
    a_tree, b_tree = organization_tree(a1, "users.view"), organization_tree(b1, "users.view")
    assert {n.id for n in a_tree}.isdisjoint({n.id for n in b_tree})
    client = logged_in(b1)
    for _ in range(2):
        html = "".join(
            client.get(url).content.decode() for url in ("/bravo/users/", "/bravo/users/add/")
        )
        html += client.get("/bravo/logs/").content.decode()
        assert "営業部" not in html and "開発部" not in html
        assert fields(organization_tree(b1, "users.view")) == fields(b_tree)
    assert fields(organization_tree(a1, "users.view")) == fields(a_tree)


def test_each_scope_has_its_own_cached_tree(org_cast: OrgCast) -> None:
    """A Department administrator of 営業部 and a Custom administrator of 開発部 share the
    contract and its version, not their trees."""
    whole = organization_tree(org_cast.cast.a1, "users.view")
    sales = organization_tree(org_cast.a2, "users.view")
    dev = organization_tree(org_cast.a4, "users.view")
    assert len(whole) == 4
    assert [n.name for n in sales] == ["営業部", "東京"]
    assert [n.name for n in dev] == ["開発部"]
    add = logged_in(org_cast.a4).get("/alpha/users/add/").content.decode()
    assert "営業部" not in add and "開発部" in add


@pytest.mark.parametrize("selected", [None, "", "2", "x&y", "missing"])
def test_written_out_options_render_as_the_choices_do(selected: str | None) -> None:
    """``Options`` (cached text, selection marked afterwards) gives the very HTML of the same
    choices written out on each render, optgroups and escaping included."""
    choices = [("", "All"), (1, "営業部"), (2, "\u3000東京 <&>"), ("g", [("x&y", 'a"b'), (3, "c")])]
    plain = FastSelect(choices=choices).render("organization", selected)
    options = Options.of(choices[1:]).with_first("", "All")
    assert FastSelect(choices=options).render("organization", selected) == plain
    assert options.values == {"", "1", "2", "x&y", "3"}


def test_this_process_keeps_its_recent_entries_unpickled(orgs: OrgCast) -> None:
    """The second read of a version is the very value the first made (no unpickling), and a
    new version is built again."""
    contract_id = orgs.cast.a.pk
    made: list[int] = []

    def build() -> tuple[int, ...]:
        made.append(1)
        return (len(made),)

    first = cached(contract_id, ORGANIZATIONS, "k", build)
    assert cached(contract_id, ORGANIZATIONS, "k", build) is first
    Organization.objects.filter(pk=orgs.tokyo.pk).update(name="東京二")  # raises the version
    assert cached(contract_id, ORGANIZATIONS, "k", build) == (2,)
