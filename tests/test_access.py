"""The permission catalogue and the one read rule (``mamori.core.access``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError

from mamori.accounts.selectors import accounts_visible_to, scheme_get
from mamori.audit.selectors import log_entries_visible_to
from mamori.core.access import (
    NotFound,
    PermissionCatalogue,
    catalogue,
    has_permission,
)
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from mamori.directory.selectors import organization_get, user_get, users_visible_to
from mamori.directory.services import organization_create
from tests.conftest import Cast, OrgCast, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db


class TestCatalogue:
    def test_every_app_contributes_its_screens(self) -> None:
        screens = [s.code for s in catalogue.screens()]
        assert screens == [
            "users",
            "organizations",
            "accounts",
            "settings",
            "logs",
            "android",
            "profiles",
            "enrollment_tokens",
            "devices",
            "commands",
            "alerts",
        ]

    def test_a_screen_registered_twice_is_a_configuration_error(self) -> None:
        registry = PermissionCatalogue()
        registry.register("things", "Things", {"view": "View"})
        with pytest.raises(ImproperlyConfigured, match="twice"):
            registry.register("things", "Things", {"view": "View"})

    def test_an_operator_action_must_be_one_of_the_screens_actions(self) -> None:
        with pytest.raises(ImproperlyConfigured, match="unknown actions"):
            PermissionCatalogue().register("things", "Things", {"view": "View"}, operator=["x"])

    def test_contract_wide_permissions_are_not_offered_to_custom_schemes(self) -> None:
        offered = {code for code, _label in catalogue.choices()}
        assert "settings.change" not in offered
        assert "accounts.reset_two_factor" not in offered
        assert {"users.view", "logs.export", "settings.view"} <= offered

    def test_an_unregistered_permission_is_a_programming_error_not_a_silent_no(
        self, cast: Cast
    ) -> None:
        with pytest.raises(ValueError, match="Unknown permission"):
            has_permission(cast.a1, "users.fly")


class TestPrivileges:
    def test_a_department_administrator_has_everything_but_the_contract_wide_permissions(
        self, orgs: OrgCast
    ) -> None:
        assert orgs.a2.permissions == catalogue.grantable()
        assert "settings.change" not in orgs.a2.permissions
        assert orgs.cast.a1.permissions == catalogue.codes()

    def test_an_operator_has_what_the_apps_mark_for_operators(self, orgs: OrgCast) -> None:
        assert orgs.a3.permissions == {
            "users.view",
            "organizations.view",
            "profiles.view",
            "devices.view",
            "commands.lock",
            "commands.reboot",
            "commands.lost_mode",
            "alerts.view",
        }

    def test_a_custom_scheme_cannot_smuggle_in_a_contract_wide_permission(
        self, orgs: OrgCast
    ) -> None:
        orgs.a4.scheme.permissions = [*orgs.a4.scheme.permissions, "settings.change"]
        orgs.a4.scheme.save()
        assert "settings.change" not in orgs.a4.permissions


class TestReadRule:
    def test_another_contracts_object_is_a_404_even_without_the_permission(
        self, orgs: OrgCast
    ) -> None:
        # Checking the permission first would answer 403 and confirm the user exists.
        b_root = Organization.objects.get(contract=orgs.cast.b, parent=None)
        with pytest.raises(NotFound):
            organization_get(orgs.a3, b_root.pk, "delete")

    def test_in_scope_without_the_permission_is_a_403(self, orgs: OrgCast) -> None:
        with pytest.raises(PermissionDenied):
            user_get(orgs.a3, orgs.a3.user_id, "delete")

    def test_outside_the_scope_is_a_404(self, orgs: OrgCast) -> None:
        with pytest.raises(NotFound):
            user_get(orgs.a2, orgs.suzuki.pk)

    def test_a_list_without_the_permission_is_refused_not_empty(self, orgs: OrgCast) -> None:
        with pytest.raises(PermissionDenied):
            log_entries_visible_to(orgs.a3)
        with pytest.raises(PermissionDenied):
            users_visible_to(orgs.a3, "add")
        with pytest.raises(PermissionDenied):
            accounts_visible_to(orgs.a4)

    def test_lists_hold_only_the_scope(self, orgs: OrgCast) -> None:
        names = set(users_visible_to(orgs.a2).values_list("name", flat=True))
        assert "佐藤 花子" in names and "鈴木 一郎" not in names
        assert set(users_visible_to(orgs.cast.b1)) == set(
            users_visible_to(orgs.cast.b1).filter(contract=orgs.cast.b)
        )

    def test_a_malformed_id_is_a_404(self, orgs: OrgCast) -> None:
        with pytest.raises(NotFound):
            user_get(orgs.cast.a1, "1; DROP TABLE")

    def test_schemes_are_for_system_administrators(self, orgs: OrgCast) -> None:
        scheme = orgs.a4.scheme
        assert scheme_get(orgs.cast.a1, scheme.pk) == scheme
        with pytest.raises(PermissionDenied):
            scheme_get(orgs.a2, scheme.pk)
        with pytest.raises(NotFound):
            scheme_get(orgs.cast.b1, scheme.pk)


def test_two_siblings_with_one_name_are_refused_even_when_saved_at_once(
    orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if a concurrent save slipped between the check and the insert: the constraint holds,
    # and the person reads the same message as for a name found taken.
    monkeypatch.setattr(
        "mamori.directory.services._clean_org_name", lambda name, parent, exclude=None: name
    )
    with pytest.raises(ValidationError) as caught:
        organization_create(actor=Actor.operator(), parent=orgs.root, name="営業部")
    assert caught.value.message_dict == {
        "name": ["「アルファ株式会社」の下には、すでに「営業部」という組織があります。"]
    }
    assert Organization.objects.filter(contract=orgs.cast.a, name="営業部").count() == 1


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
