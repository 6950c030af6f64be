"""The Users/Org tree names each organization's profile, its own or the one it inherits (issue
8 point 3), through the ``directory.notes`` registry Android fills in its ``ready()``."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mamori.android import services
from mamori.android.models import Profile
from mamori.android.policy.defaults import initial_policy
from mamori.core.actor import Actor
from mamori.directory.services import organization_create
from tests.conftest import OrgCast, logged_in

pytestmark = pytest.mark.django_db


def tree_notes(client: Client, url: str = "/alpha/users/") -> dict[str, tuple[str, str, str]]:
    """``{organization name: (note class, screen-reader label, profile name)}`` of the tree."""
    page = client.get(url).content.decode()
    tree = page[page.index('id="org-tree"') : page.index("</ul>", page.index('id="org-tree"'))]
    found = {}
    for item in re.findall(r"<li[^>]*>(.*?)</li>", tree):
        name = re.search(r"</span>([^<]*)</a>", item)
        note = re.search(
            r'<span class="badge ([^"]*) org-note"[^>]*>'
            r'<span class="visually-hidden">([^<]*) </span>([^<]*)</span>',
            item,
        )
        if name and note:
            found[name.group(1)] = (note.group(1), note.group(2), note.group(3))
    return found


def make_profile(orgs: OrgCast, name: str) -> Profile:
    return services.profile_create(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, name=name, policy=initial_policy()
    )


def assign(orgs: OrgCast, organization, profile: Profile) -> None:
    services.profile_assign(
        actor=Actor(account=orgs.cast.a1), organization=organization, profile=profile
    )


def test_the_tree_shows_each_organizations_own_or_inherited_profile(orgs: OrgCast) -> None:
    assign(orgs, orgs.root, make_profile(orgs, "全社"))
    assign(orgs, orgs.dev, make_profile(orgs, "開発"))
    notes = tree_notes(logged_in(orgs.cast.a1), f"/alpha/users/?org={orgs.tokyo.pk}")
    assert notes == {
        orgs.root.name: ("bg-azure-lt text-truncate", "プロファイル:", "全社"),
        orgs.sales.name: (
            "bg-secondary-lt fw-normal text-truncate",
            "継承したプロファイル:",
            "全社",
        ),
        orgs.tokyo.name: (
            "bg-secondary-lt fw-normal text-truncate",
            "継承したプロファイル:",
            "全社",
        ),
        orgs.dev.name: ("bg-azure-lt text-truncate", "プロファイル:", "開発"),
    }
    page = logged_in(orgs.cast.a1).get(f"/alpha/users/?org={orgs.tokyo.pk}").content.decode()
    assert f"プロファイル: 全社（{orgs.root.name} から継承）" in page  # the account reads Japanese


def test_a_department_administrator_sees_the_profile_inherited_from_above_their_scope(
    orgs: OrgCast,
) -> None:
    assign(orgs, orgs.root, make_profile(orgs, "全社"))
    # A2 reads English (the cast's languages differ: both catalogues are seen).
    inherited = ("bg-secondary-lt fw-normal text-truncate", "Inherited profile:", "全社")
    notes = tree_notes(logged_in(orgs.a2))
    assert notes == {orgs.sales.name: inherited, orgs.tokyo.name: inherited}


def test_an_account_that_may_not_view_profiles_sees_none_in_the_tree(orgs: OrgCast) -> None:
    assign(orgs, orgs.root, make_profile(orgs, "全社"))
    assign(orgs, orgs.dev, make_profile(orgs, "開発"))
    assert "profiles.view" not in orgs.a4.permissions
    page = logged_in(orgs.a4).get("/alpha/users/").content.decode()
    assert page.count("org-note") == 0 and "開発" not in page.replace(orgs.dev.name, "")


def test_without_any_assignment_the_tree_has_no_notes(orgs: OrgCast) -> None:
    assert tree_notes(logged_in(orgs.cast.a1)) == {}


def test_the_tree_costs_one_query_for_profiles_whatever_the_number_of_organizations(
    orgs: OrgCast,
) -> None:
    client = logged_in(orgs.cast.a1)
    url = f"/alpha/users/?org={orgs.sales.pk}"
    client.get(url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured.captured_queries)

    assign(orgs, orgs.root, make_profile(orgs, "全社"))
    few = queries()
    for i in range(6):
        section = organization_create(actor=Actor.operator(), parent=orgs.sales, name=f"課 {i}")
        assign(orgs, section, make_profile(orgs, f"課 {i}"))
    assert queries() == few
    assert len(tree_notes(client, url)) == 4 + 6  # root, sales, tokyo, dev and the six sections
