"""Policy validation against the discovery document: generated valid policies pass, and each single
mutation (unknown field, wrong enum, wrong type, deprecated field) is refused naming its field."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from django.utils.translation import override
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.android.policy import (
    PolicyError,
    initial_policy,
    policy_errors,
    policy_errors_from_google,
    policy_without_server_fields,
)
from mamori.android.policy.schema import REPLACEMENTS, _Node, policy_schema

# Places whose rules the generator would have to know (description-only limits): left out of
# generated policies, and tested by example below.
SKIPPED = {
    ("Policy", "name"),
    ("Policy", "version"),
    ("SystemUpdate", "freezePeriods"),
    ("PasswordRequirements", "unifiedLockSettings"),
    ("Policy", "setupActions"),
}


@pytest.fixture(autouse=True)
def english() -> Any:
    """These tests read English messages unless one says otherwise (override("ja"))."""
    with override("en"):
        yield


PACKAGES = st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6}){1,2}", fullmatch=True)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)


@cache
def valid(node: _Node, depth: int) -> st.SearchStrategy[Any]:
    """Valid JSON values for ``node``, objects at most ``depth`` levels deep."""
    kind = node.kind
    if kind == "object":
        if depth <= 0:
            return st.builds(dict)
        optional = {
            key: valid(prop.node, depth - 1)
            for key, prop in node.props.items()
            if not prop.deprecated and (node.schema, key) not in SKIPPED
        }
        return _object_rules(node.schema, st.fixed_dictionaries({}, optional=optional))
    if kind == "array":
        assert node.items is not None
        if node.items.kind == "object" and node.items.schema == "ApplicationPolicy":
            return st.lists(
                valid(node.items, depth), max_size=3, unique_by=lambda a: a["packageName"]
            )
        return st.lists(valid(node.items, depth), max_size=2)
    if kind == "map":
        assert node.items is not None
        return st.dictionaries(
            st.sampled_from(["ja", "en", "fr"]), valid(node.items, depth), max_size=2
        )
    return SCALARS[kind](node)


SCALARS: dict[str, Any] = {
    "enum": lambda n: st.sampled_from(sorted(n.enum - n.deprecated_values)),
    "string": lambda n: st.text(max_size=10),
    "bool": lambda n: st.booleans(),
    # Within every description-only range (minutes of a day; maxDaysWithWorkOff 0 or ≥ 3).
    "int32": lambda n: st.just(0) | st.integers(3, 1439),
    "int64": lambda n: st.integers(0, 2**63 - 1).flatmap(lambda i: st.sampled_from([i, str(i)])),
    "duration": lambda n: st.integers(0, 10**6).map(lambda i: f"{i}s") | st.just("1.5s"),
    "datetime": lambda n: st.sampled_from(
        ["2026-04-01T09:00:00Z", "2026-12-31T23:59:59.123+09:00", "2000-02-29T00:00:00.5z"]
    ),
    "number": lambda n: st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-10, 10),
    "bytes": lambda n: st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode()),
    "free": lambda n: st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=3),
    "any": lambda n: JSON_SCALARS,
}


def _object_rules(schema: str, objects: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if schema == "ApplicationPolicy":
        return st.tuples(objects, PACKAGES).map(lambda t: {**t[0], "packageName": t[1]})
    if schema == "UserFacingMessage":
        return objects.map(_with_default_message)
    return objects


def _with_default_message(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("localizedMessages") and not message.get("defaultMessage"):
        return {**message, "defaultMessage": "Ask IT"}
    return message


POLICIES = valid(policy_schema(), 3)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def places(node: _Node, value: Any, path: str = "") -> Iterator[tuple[str, _Node, Any]]:
    """Every (path, node, value) of a policy, the policy itself first."""
    yield path, node, value
    if node.kind == "object" and isinstance(value, dict):
        for key, item in value.items():
            if key in node.props:
                yield from places(node.props[key].node, item, f"{path}.{key}" if path else key)
    elif node.kind == "array" and isinstance(value, list):
        assert node.items is not None
        for i, item in enumerate(value):
            yield from places(node.items, item, f"{path}[{i}]")


def set_at(policy: dict[str, Any], path: str, value: Any) -> None:
    from mamori.android.policy import paths

    tokens = paths.tokens(path)
    node: Any = policy
    for token in tokens[:-1]:
        node = node[token]
    node[tokens[-1]] = value


def fields_of(errors: list[PolicyError]) -> list[str]:
    return [e.field for e in errors]


@HYPOTHESIS
@given(POLICIES)
def test_generated_policies_are_valid(policy: dict[str, Any]) -> None:
    assert policy_errors(policy) == []


@HYPOTHESIS
@given(POLICIES, st.data())
def test_an_unknown_field_is_refused_by_its_path(
    policy: dict[str, Any], data: st.DataObject
) -> None:
    objects = [(p, n) for p, n, v in places(policy_schema(), policy) if n.kind == "object"]
    path, _node = data.draw(st.sampled_from(objects))
    mutated = copy.deepcopy(policy)
    target = mutated if not path else _at(mutated, path)
    target["notAPolicyField"] = True
    expected = f"{path}.notAPolicyField" if path else "notAPolicyField"
    assert fields_of(policy_errors(mutated)) == [expected]


@HYPOTHESIS
@given(POLICIES, st.data())
def test_a_wrong_enum_value_is_refused_by_its_path(
    policy: dict[str, Any], data: st.DataObject
) -> None:
    enums = [p for p, n, v in places(policy_schema(), policy) if n.kind == "enum"]
    mutated = copy.deepcopy(policy)
    if enums:
        path = data.draw(st.sampled_from(enums))
        set_at(mutated, path, "NOT_A_VALUE")
    else:
        path = "cameraAccess"
        mutated[path] = "NOT_A_VALUE"
    errors = policy_errors(mutated)
    assert fields_of(errors) == [path]
    assert '"NOT_A_VALUE" is not one of' in errors[0].message


WRONG = {
    "object": [],
    "map": [],
    "array": {},
    "string": 12345,
    "enum": 7,
    "bool": "true",
    "int32": "12",
    "int64": "5 min",
    "duration": "1h",
    "datetime": "2026-13-01T00:00:00Z",
    "number": "1.5",
    "bytes": "not base64!",
    "free": [],
}


@HYPOTHESIS
@given(POLICIES, st.data())
def test_a_wrong_type_is_refused_by_its_path(policy: dict[str, Any], data: st.DataObject) -> None:
    typed = [(p, n) for p, n, v in places(policy_schema(), policy) if p and n.kind in WRONG]
    mutated = copy.deepcopy(policy)
    if typed:
        path, node = data.draw(st.sampled_from(typed))
        set_at(mutated, path, WRONG[node.kind])
    else:
        path = "maximumTimeToLock"
        mutated[path] = "5 min"
    assert fields_of(policy_errors(mutated)) == [path]


@HYPOTHESIS
@given(POLICIES, st.data())
def test_a_deprecated_field_is_refused_naming_its_replacement(
    policy: dict[str, Any], data: st.DataObject
) -> None:
    objects = [
        (p, n)
        for p, n, v in places(policy_schema(), policy)
        if n.kind == "object" and any(prop.deprecated for prop in n.props.values())
    ]
    path, node = data.draw(st.sampled_from(objects))  # the policy itself is always there
    key = data.draw(st.sampled_from(sorted(k for k, p in node.props.items() if p.deprecated)))
    mutated = copy.deepcopy(policy)
    (mutated if not path else _at(mutated, path))[key] = True
    field = f"{path}.{key}" if path else key
    errors = policy_errors(mutated)
    assert fields_of(errors) == [field]
    assert "deprecated" in errors[0].message
    replacement = REPLACEMENTS.get((node.schema, key))
    if replacement:
        assert f"use {replacement} instead" in errors[0].message


def _at(policy: dict[str, Any], path: str) -> Any:
    from mamori.android.policy import paths

    node: Any = policy
    for token in paths.tokens(path):
        node = node[token]
    return node


def test_the_initial_policy_is_valid_and_turns_on_every_report_the_devices_tab_needs() -> None:
    policy = initial_policy()
    assert policy_errors(policy) == []
    assert policy["statusReportingSettings"] == {
        "softwareInfoEnabled": True,
        "hardwareStatusEnabled": True,
        "networkInfoEnabled": True,
        "memoryInfoEnabled": True,
        "applicationReportsEnabled": True,
        "deviceSettingsEnabled": True,
        "powerManagementEventsEnabled": True,
    }


def test_the_examples_of_android_md_are_refused_each_with_its_path() -> None:
    policy = {
        "screenCaptureDisable": True,
        "cameraAccess": "OFF",
        "applications": [{"packageName": "com.example.app", "installType": "FORCE"}],
        "systemUpdate": {"startMinutes": "120"},
        "passwordPolicies": {"passwordQuality": "NUMERIC"},
        "maximumTimeToLock": "5 min",
        "cameraDisabled": True,
    }
    assert [(e.field, e.message) for e in policy_errors(policy)] == [
        (
            "screenCaptureDisable",
            "screenCaptureDisable: unknown field; did you mean screenCaptureDisabled?",
        ),
        (
            "cameraAccess",
            'cameraAccess: "OFF" is not one of CAMERA_ACCESS_USER_CHOICE, CAMERA_ACCESS_DISABLED, '
            "CAMERA_ACCESS_ENFORCED.",
        ),
        (
            "applications[0].installType",
            'applications[0].installType: "FORCE" is not one of PREINSTALLED, FORCE_INSTALLED, '
            "BLOCKED, AVAILABLE, REQUIRED_FOR_SETUP, CUSTOM.",
        ),
        (
            "systemUpdate.startMinutes",
            'systemUpdate.startMinutes: expected a whole number, not "120".',
        ),
        ("passwordPolicies", "passwordPolicies: expected a list, not an object."),
        (
            "maximumTimeToLock",
            'maximumTimeToLock: expected a whole number, as a string of digits (for example "300000"), '
            'not "5 min".',
        ),
        ("cameraDisabled", "cameraDisabled is deprecated: use cameraAccess instead."),
    ]


def test_messages_are_in_japanese_when_the_person_reads_japanese() -> None:
    with override("ja"):
        errors = policy_errors({"cameraDisabled": True, "cameraAccess": "OFF", "version": "3"})
    assert [e.message for e in errors] == [
        "version は Google が設定する項目です。指定しないでください。",
        "cameraDisabled は非推奨です。代わりに cameraAccess を使ってください。",
        "cameraAccess: 「OFF」は使えません。使える値: CAMERA_ACCESS_USER_CHOICE, CAMERA_ACCESS_DISABLED, CAMERA_ACCESS_ENFORCED",
    ]


def test_deprecated_enum_values_are_refused_naming_the_current_ones() -> None:
    errors = policy_errors(
        {
            "locationMode": "HIGH_ACCURACY",
            "applications": [{"packageName": "a.b", "installType": "KIOSK"}],
        }
    )
    assert [e.message for e in errors] == [
        'locationMode: "HIGH_ACCURACY" is deprecated; use one of LOCATION_USER_CHOICE, '
        "LOCATION_ENFORCED, LOCATION_DISABLED.",
        'applications[0].installType: "KIOSK" is deprecated; use one of PREINSTALLED, '
        "FORCE_INSTALLED, BLOCKED, AVAILABLE, REQUIRED_FOR_SETUP, CUSTOM.",
    ]


def test_formats_are_checked() -> None:
    good = {
        "maximumTimeToLock": 300000,
        "passwordPolicies": [{"passwordExpirationTimeout": "1.5s"}],
        "kioskCustomization": {},
        "openNetworkConfiguration": {"NetworkConfigurations": []},
        "applications": [{"packageName": "a.b", "managedConfiguration": {"x": [1, {"y": None}]}}],
    }
    assert policy_errors(good) == []
    bad = {
        "maximumTimeToLock": "99999999999999999999",
        "passwordPolicies": [{"passwordExpirationTimeout": "3600", "passwordMinimumLength": 2**31}],
        "screenCaptureDisabled": 1,
        "openNetworkConfiguration": [],
        "applications": [{"packageName": "a.b", "managedConfiguration": "x=1"}],
    }
    assert fields_of(policy_errors(bad)) == [
        "maximumTimeToLock",
        "passwordPolicies[0].passwordExpirationTimeout",
        "passwordPolicies[0].passwordMinimumLength",
        "screenCaptureDisabled",
        "openNetworkConfiguration",
        "applications[0].managedConfiguration",
    ]


def test_limits_stated_only_in_descriptions_are_checked() -> None:
    policy = {
        "systemUpdate": {
            "type": "WINDOWED",
            "startMinutes": 1440,
            "endMinutes": -1,
            "freezePeriods": [
                {"startDate": {"month": 1, "day": 1}, "endDate": {"month": 4, "day": 30}},
            ],
        },
        "shortSupportMessage": {"localizedMessages": {"ja": "あ" * 4097}},
        "applications": [{"packageName": "1bad"}, {"installType": "AVAILABLE"}],
        "passwordPolicies": [{"unifiedLockSettings": "REQUIRE_SEPARATE_WORK_LOCK"}],
    }
    assert fields_of(policy_errors(policy)) == [
        "systemUpdate.startMinutes",
        "systemUpdate.endMinutes",
        "systemUpdate.freezePeriods[0]",
        "shortSupportMessage.defaultMessage",
        "shortSupportMessage.localizedMessages.ja",
        "applications[0].packageName",
        "applications[1].packageName",
        "passwordPolicies[0].unifiedLockSettings",
    ]


def test_freeze_periods_must_be_60_days_apart_and_may_wrap_the_year() -> None:
    def periods(*spans: tuple[int, int, int, int]) -> dict[str, Any]:
        return {
            "systemUpdate": {
                "freezePeriods": [
                    {"startDate": {"month": a, "day": b}, "endDate": {"month": c, "day": d}}
                    for a, b, c, d in spans
                ]
            }
        }

    assert policy_errors(periods((12, 28, 1, 3), (6, 1, 6, 30))) == []
    assert fields_of(policy_errors(periods((1, 1, 1, 10), (2, 1, 2, 10)))) == [
        "systemUpdate.freezePeriods[1]"
    ]
    assert fields_of(policy_errors(periods((2, 30, 3, 1)))) == [
        "systemUpdate.freezePeriods[0].startDate"
    ]


def test_three_thousand_apps_are_valid_and_one_more_is_refused() -> None:
    apps = [
        {"packageName": f"com.example.app{i}", "installType": "FORCE_INSTALLED"}
        for i in range(3000)
    ]
    assert policy_errors({"applications": apps}) == []
    apps.append({"packageName": "com.example.one.more"})
    assert [e.message for e in policy_errors({"applications": apps})] == [
        "applications: at most 3,000 entries (now 3,001)."
    ]


def test_an_app_listed_twice_is_refused() -> None:
    apps = [{"packageName": "com.example.app"}, {"packageName": "com.example.app"}]
    assert [e.message for e in policy_errors({"applications": apps})] == [
        "applications[1].packageName: com.example.app is listed more than once."
    ]


def test_anything_json_gives_is_answered_without_raising() -> None:
    for value in (None, [], "x", 1, 1.5, True, {"": None}, {"applications": [None, 1, "x"]}):
        assert isinstance(policy_errors(value), list)
    assert fields_of(policy_errors(None)) == [""]


def test_fields_google_sets_are_refused_and_can_be_stripped() -> None:
    answer = {
        "name": "enterprises/e/policies/p",
        "version": "4",
        "cameraAccess": "CAMERA_ACCESS_DISABLED",
    }
    assert fields_of(policy_errors(answer)) == ["name", "version"]
    assert policy_without_server_fields(answer) == {"cameraAccess": "CAMERA_ACCESS_DISABLED"}


def test_googles_field_violations_are_shown_like_ours() -> None:
    errors = policy_errors_from_google(
        [("applications[0].install_type", "Invalid value."), ("", "Policy is invalid.")]
    )
    assert errors == [
        PolicyError(
            "applications[0].installType",
            "applications[0].installType: Google refused it: Invalid value.",
        ),
        PolicyError("", "Google refused the policy: Policy is invalid."),
    ]
    with override("ja"):
        assert policy_errors_from_google([("camera_access", "Bad.")])[0].message == (
            "cameraAccess: Google に拒否されました: Bad."
        )


def test_negative_counts_and_too_few_work_off_days_are_refused() -> None:
    policy = {
        "passwordPolicies": [{"passwordMinimumLength": -5, "passwordHistoryLength": 3}],
        "maximumTimeToLock": "-1",
        "personalUsagePolicies": {"maxDaysWithWorkOff": 1},
    }
    assert fields_of(policy_errors(policy)) == [
        "passwordPolicies[0].passwordMinimumLength",
        "maximumTimeToLock",
        "personalUsagePolicies.maxDaysWithWorkOff",
    ]
    fine = {"personalUsagePolicies": {"maxDaysWithWorkOff": 0}, "maximumTimeToLock": "0"}
    assert policy_errors(fine) == []
    assert policy_errors({"personalUsagePolicies": {"maxDaysWithWorkOff": 3}}) == []


@pytest.mark.parametrize("depth", [33, 1500, 100_000])
def test_a_managed_configuration_nested_too_deep_is_refused_not_walked(depth: int) -> None:
    nested: Any = 1
    for _ in range(depth):
        nested = [nested]
    policy = {
        "applications": [{"packageName": "com.example.app", "managedConfiguration": {"k": nested}}]
    }
    errors = policy_errors(policy)
    assert len(errors) == 1 and errors[0].field.startswith("applications[0].managedConfiguration.k")
    assert "32" in errors[0].message
    shallow = {
        "applications": [{"packageName": "com.example.app", "managedConfiguration": {"k": [[1]]}}]
    }
    assert policy_errors(shallow) == []
