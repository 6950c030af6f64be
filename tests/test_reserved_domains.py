"""Reserved usage domains come from the URL configuration, and the checks that guard them."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from mamori.contracts.checks import shadowed_contracts_check, top_level_paths_check
from mamori.contracts.models import Contract, reserved_domains
from mamori.core.actor import Actor
from mamori.provider.services import contract_create
from tests.conftest import Cast


def create(domain: str) -> Contract:
    return contract_create(
        actor=Actor.operator(),
        domain=domain,
        company_name="Status Inc.",
        contact_name="Admin",
        contact_furigana="カンリシャ",
        contact_email="admin@status.example",
    )


def test_reserved_domains_are_the_top_level_paths_and_a_few_for_later() -> None:
    assert reserved_domains() == {
        # mamori/urls.py
        "login",
        "i18n",
        "api",
        # mamori/public_urls.py
        "healthz",
        "metrics",
        "pubsub",
        "readyz",
        # STATIC_URL
        "static",
        # kept for later
        "admin",
        "logout",
        "media",
        "www",
    }


def test_a_new_top_level_path_is_reserved_by_itself(settings, db: None) -> None:
    settings.ROOT_URLCONF = "tests.urlconfs.extra_root"
    settings.PUBLIC_URLCONF = "tests.urlconfs.public"
    assert {"status", "alpha", "door-test"} <= reserved_domains()

    with pytest.raises(ValidationError) as refused:
        create("status")
    # The existing message, in the default language.
    assert refused.value.message_dict["domain"] == [
        "「status」は予約されているため、利用ドメインには使用できません。"
    ]
    assert not Contract.objects.exists()


def test_the_public_door_path_cannot_be_a_usage_domain(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        create("healthz")
    assert refused.value.message_dict["domain"] == [
        "「healthz」は予約されているため、利用ドメインには使用できません。"
    ]


def test_a_static_url_on_another_host_reserves_no_path(settings) -> None:
    settings.STATIC_URL = "https://cdn.example/mamori/"
    assert "static" not in reserved_domains()
    assert "mamori" not in reserved_domains()


def test_the_url_configuration_passes_the_top_level_paths_check() -> None:
    assert top_level_paths_check() == []


def test_top_level_paths_check_reports_what_would_shadow_or_escape(settings) -> None:
    settings.ROOT_URLCONF = "tests.urlconfs.broken_root"
    settings.PUBLIC_URLCONF = "tests.urlconfs.broken_public"
    errors = top_level_paths_check()
    assert [(e.id, e.msg) for e in errors] == [
        (
            "contracts.E002",
            "The top-level pattern '^(?P<code>[a-z]+)-x/$' of ROOT_URLCONF does not start with "
            "a fixed word, so it cannot be reserved from usage domains.",
        ),
        (
            "contracts.E003",
            "The top-level pattern 'late/' comes after '<slug:domain>/' in ROOT_URLCONF, which "
            "matches its paths first.",
        ),
        ("contracts.E001", "'<slug:domain>/' appears twice in ROOT_URLCONF."),
        (
            "contracts.E005",
            "'login/' is served by both PUBLIC_URLCONF and ROOT_URLCONF; the public door "
            "answers it first.",
        ),
        (
            "contracts.E004",
            "The pattern '<slug:device>/report' of PUBLIC_URLCONF does not start with a fixed "
            "word: the public door routes on the first path segment.",
        ),
    ]


def test_top_level_paths_check_reports_a_path_left_out_of_the_reserved_set() -> None:
    with mock.patch("mamori.contracts.checks.reserved_domains", return_value=frozenset()):
        errors = top_level_paths_check()
    assert {e.id for e in errors} == {"contracts.E006"}
    assert [e.msg for e in errors] == [
        f"The top-level path '{segment}/' is not reserved."
        for segment in ("api", "healthz", "i18n", "login", "metrics", "pubsub", "readyz")
    ]


def test_a_contract_shadowed_by_a_new_top_level_path_is_a_database_check_error(
    settings, cast: Cast
) -> None:
    assert shadowed_contracts_check(databases=["default"]) == []
    settings.ROOT_URLCONF = "tests.urlconfs.extra_root"  # adds alpha/: contract A's domain

    [error] = shadowed_contracts_check(databases=["default"])
    assert error.id == "contracts.E007"
    assert error.msg == (
        "The contract 'alpha' has a usage domain that is now a reserved top-level path: "
        "'/alpha/' no longer reaches its panel (database 'default')."
    )
    # Only when asked for a database, as Django runs database checks.
    assert shadowed_contracts_check() == []
    with pytest.raises(SystemCheckError, match=r"contracts\.E007.*'alpha'"):
        call_command("check", "--database", "default")
    call_command("check")


CORE_DOOR_MODULES = ["door.py", "env.py", "public_views.py", "toplevel.py"]


@pytest.mark.parametrize("module", CORE_DOOR_MODULES)
def test_the_door_and_settings_helpers_of_core_import_no_domain_app(module: str) -> None:
    source = (Path(__file__).resolve().parent.parent / "mamori" / "core" / module).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {
        name
        for name in imported
        if name.startswith("mamori") and not name.startswith("mamori.core")
    } == set()
