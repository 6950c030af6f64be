"""The profile form (round trip of the settings, apps without JSON, the advanced JSON, errors on
their fields, warnings) and the comparison of two versions."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from django.utils.translation import override
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.android.policy import (
    Change,
    ProfileForm,
    initial_policy,
    policy_diff,
    policy_errors,
)
from mamori.android.policy.fields import BY_PATH, SETTINGS, Setting
from mamori.android.policy.paths import put


@pytest.fixture(autouse=True)
def english() -> Any:
    """These tests read English messages unless one says otherwise (override("ja"))."""
    with override("en"):
        yield


PACKAGES = st.from_regex(r"[a-z][a-z0-9]{0,5}\.[a-z][a-z0-9]{0,5}", fullmatch=True)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=20
)


def browser_data(form: ProfileForm, **changes: Any) -> QueryDict:
    """What a browser sends for ``form`` as shown, with ``changes`` applied (None removes)."""
    values: dict[str, Any] = {}
    for name in form.fields:
        value = form.initial.get(name)
        if value is True:
            values[name] = "on"
        elif value is not None and value is not False and value not in ("", []):
            values[name] = value if isinstance(value, list) else str(value)
    values.update(changes)
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, list):
            data.setlist(name, value)
        else:
            data[name] = value
    return data


def submitted(policy: dict[str, Any], **changes: Any) -> ProfileForm:
    form = ProfileForm(browser_data(ProfileForm(policy=policy), **changes), policy=policy)
    form.is_valid()
    return form


def value_of(setting: Setting) -> st.SearchStrategy[Any]:
    kind = setting.kind
    if kind in ("enum",):
        return st.sampled_from([v for v, _ in setting.choices])
    if kind == "multi":
        return st.lists(st.sampled_from([v for v, _ in setting.choices]), min_size=1, unique=True)
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        if setting.path == "personalUsagePolicies.maxDaysWithWorkOff":  # 0, or at least 3 days
            return st.just(0) | st.integers(3, setting.maximum)
        return st.integers(0, setting.maximum)
    if kind == "minutes":
        return st.integers(0, setting.maximum).map(lambda m: str(m * 60_000))
    if kind == "days":
        return st.integers(0, setting.maximum).map(lambda d: f"{d * 86_400}s")
    if kind == "time":
        return st.integers(0, 1439)
    if kind == "text":
        return TEXT
    return st.just([{"startDate": {"month": 12, "day": 28}, "endDate": {"month": 1, "day": 3}}])


APPS = st.lists(
    st.fixed_dictionaries(
        {"packageName": PACKAGES},
        optional={
            "installType": st.sampled_from(["AVAILABLE", "FORCE_INSTALLED", "BLOCKED", "KIOSK"]),
            "defaultPermissionPolicy": st.sampled_from(["PROMPT", "GRANT", "DENY"]),
            "managedConfiguration": st.dictionaries(
                st.text(max_size=4), st.integers() | TEXT, max_size=2
            ),
            "autoUpdateMode": st.just("AUTO_UPDATE_POSTPONED"),
        },
    ),
    max_size=4,
    unique_by=lambda app: app["packageName"],
)


@st.composite
def form_policies(draw: st.DrawFn) -> dict[str, Any]:
    """Policies over the form's settings (each present or not), apps, and a few other fields."""
    policy: dict[str, Any] = {}
    for setting in SETTINGS:
        if draw(st.booleans()):
            put(policy, setting.path, draw(value_of(setting)))
    for key in ("shortSupportMessage", "longSupportMessage"):
        texts = policy.get(key, {}).get("localizedMessages", {})
        if texts:
            policy[key]["defaultMessage"] = draw(
                st.sampled_from([texts.get("en") or texts["ja"], "Ask IT"])
            )
    if draw(st.booleans()):
        policy["applications"] = draw(APPS)
    if draw(st.booleans()):
        policy["microphoneAccess"] = "MICROPHONE_ACCESS_DISABLED"
    if draw(st.booleans()):
        policy.setdefault("passwordPolicies", [{}]).append({"passwordScope": "SCOPE_PROFILE"})
    return policy


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(form_policies())
def test_a_policy_submitted_unchanged_comes_back_unchanged(policy: dict[str, Any]) -> None:
    form = submitted(policy)
    if any(a.get("installType") == "KIOSK" for a in policy.get("applications", [])):
        assert "deprecated" in str(form.errors)  # shown, then refused on the row's JSON
        return
    assert form.errors == {}
    assert form.policy() == policy


def test_every_setting_of_the_form_round_trips() -> None:
    policy: dict[str, Any] = initial_policy()
    for setting in SETTINGS:
        example = {
            "enum": setting.choices[-1][0] if setting.choices else None,
            "multi": ["CAMERA", "FACE"],
            "bool": True,
            "int": 3,
            "minutes": "300000",
            "days": "7776000s",
            "time": 150,
            "text": "情報システム部へ",
            "freeze": [{"startDate": {"month": 12, "day": 28}, "endDate": {"month": 1, "day": 3}}],
        }[setting.kind]
        put(policy, setting.path, example)
    for key in ("shortSupportMessage", "longSupportMessage"):
        policy[key]["defaultMessage"] = "情報システム部へ"
    assert policy_errors(policy) == []
    form = ProfileForm(policy=policy)
    assert form.initial["advanced"] == ""
    assert form.initial["maximum_time_to_lock"] == 5
    assert form.initial["password_expiry_days"] == 90
    assert form.initial["system_update_start"] == "02:30"
    assert form.initial["system_update_freeze_periods"] == "12/28-01/03"
    assert submitted(policy).policy() == policy
    assert len(SETTINGS) == 40


def test_a_force_installed_app_is_added_without_json() -> None:
    form = submitted(
        initial_policy(),
        **{"app-0-package_name": "com.example.app", "app-0-install_type": "FORCE_INSTALLED"},
    )
    assert form.policy()["applications"] == [
        {"packageName": "com.example.app", "installType": "FORCE_INSTALLED"}
    ]


def test_an_app_row_error_is_shown_on_its_field() -> None:
    policy = {"applications": [{"packageName": "com.a.b"}]}
    form = submitted(policy, **{"app-1-package_name": "com.a.b", "app-1-install_type": "BLOCKED"})
    assert form.errors == {
        "app-1-package_name": ["applications[1].packageName: com.a.b is listed more than once."]
    }
    form = submitted(policy, **{"app-0-package_name": "1bad"})
    assert list(form.errors) == ["app-0-package_name"]


def test_minutes_days_and_times_become_amapi_values() -> None:
    form = submitted(
        {},
        maximum_time_to_lock="5",
        password_expiry_days="30",
        system_update_type="WINDOWED",
        system_update_start="２:００",
        system_update_end="04:30",
        usb_data_access="ALLOW_USB_DATA_TRANSFER",
        short_support_message_ja="情報システム部へ",
    )
    assert form.policy() == {
        "maximumTimeToLock": "300000",
        "passwordPolicies": [{"passwordExpirationTimeout": "2592000s"}],
        "systemUpdate": {"type": "WINDOWED", "startMinutes": 120, "endMinutes": 270},
        "deviceConnectivityManagement": {"usbDataAccess": "ALLOW_USB_DATA_TRANSFER"},
        "shortSupportMessage": {
            "localizedMessages": {"ja": "情報システム部へ"},
            "defaultMessage": "情報システム部へ",
        },
    }


def test_the_advanced_json_is_merged_and_may_not_set_a_field_of_the_form() -> None:
    form = submitted(
        {},
        camera_access="CAMERA_ACCESS_DISABLED",
        advanced='{"microphoneAccess": "MICROPHONE_ACCESS_DISABLED"}',
    )
    assert form.policy() == {
        "microphoneAccess": "MICROPHONE_ACCESS_DISABLED",
        "cameraAccess": "CAMERA_ACCESS_DISABLED",
    }
    form = submitted(
        {},
        camera_access="CAMERA_ACCESS_DISABLED",
        advanced='{"cameraAccess": "CAMERA_ACCESS_ENFORCED"}',
    )
    assert form.errors == {
        "advanced": ["cameraAccess is set both above and in the JSON: keep one."]
    }
    form = submitted({}, advanced='{"cameraDisabled": true}')
    assert form.errors == {"advanced": ["cameraDisabled is deprecated: use cameraAccess instead."]}
    form = submitted({}, advanced="[1]")
    assert form.errors == {"advanced": ["Other settings (JSON) must be a JSON object ({…})."]}


def test_a_value_the_form_cannot_show_stays_in_the_advanced_json() -> None:
    policy = {"maximumTimeToLock": "90000", "locationMode": "LOCATION_ENFORCED"}
    form = ProfileForm(policy=policy)
    assert form.initial["advanced"] == '{\n  "maximumTimeToLock": "90000"\n}'
    assert form.initial["location_mode"] == "LOCATION_ENFORCED"


def test_the_groups_have_translated_legends() -> None:
    with override("ja"):
        form = ProfileForm(policy=initial_policy())
        legends = [legend for legend, _fields in form.groups]
    assert legends[0] == "パスワードポリシー"
    assert form.groups[-1][1][0].name == "advanced"


def test_warnings_say_what_turning_a_setting_off_or_on_does() -> None:
    form = submitted(
        initial_policy(), report_memory_info=None, play_store_mode="", factory_reset_disabled="on"
    )
    assert form.warnings == [
        "Status reports turned off: Memory information. The Devices tab will not show what they report.",
        "Play Store mode is “only apps in the list”: every app not listed is uninstalled from the devices.",
        "Disabling factory reset may not be applied by Google while the project is under its initial device quota.",
    ]
    assert ProfileForm(policy=initial_policy()).warnings == []


def test_the_comparison_names_settings_and_shows_values_as_people_read_them() -> None:
    old = {
        "cameraAccess": "CAMERA_ACCESS_DISABLED",
        "maximumTimeToLock": "300000",
        "screenCaptureDisabled": True,
        "applications": [
            {"packageName": "com.a.b", "installType": "FORCE_INSTALLED"},
            {"packageName": "com.c.d"},
        ],
    }
    new = {
        "cameraAccess": "CAMERA_ACCESS_USER_CHOICE",
        "screenCaptureDisabled": False,
        "applications": [
            {"packageName": "com.c.d"},
            {"packageName": "com.a.b", "installType": "BLOCKED"},
        ],
        "microphoneAccess": "MICROPHONE_ACCESS_DISABLED",
    }
    with override("ja"):
        changes = sorted(policy_diff(old, new), key=lambda change: change.path)
    assert changes == [
        Change(
            "applications[com.a.b].installType",
            "アプリ com.a.b: インストール方法",
            "自動インストール（削除不可）",
            "ブロック",
            "FORCE_INSTALLED",
            "BLOCKED",
        ),
        Change(
            "cameraAccess",
            "カメラ",
            "無効",
            "ユーザーが選択",
            "CAMERA_ACCESS_DISABLED",
            "CAMERA_ACCESS_USER_CHOICE",
        ),
        Change("maximumTimeToLock", "画面ロックまでの時間（分）", "5 分", "未設定", "300000", None),
        Change(
            "microphoneAccess",
            "microphoneAccess",
            "未設定",
            "MICROPHONE_ACCESS_DISABLED",
            None,
            "MICROPHONE_ACCESS_DISABLED",
        ),
        Change("screenCaptureDisabled", "画面キャプチャを禁止", "はい", "いいえ", True, False),
    ]
    assert policy_diff(old, old) == []
    assert BY_PATH["cameraAccess"].label


def test_the_first_version_compares_with_nothing_setting_by_setting() -> None:
    """Version 1 against an empty policy: one row per setting, no row for the empty policy."""
    changes = policy_diff({}, {"cameraAccess": "CAMERA_ACCESS_DISABLED"})
    assert [(c.path, c.old_value, c.new_value) for c in changes] == [
        ("cameraAccess", None, "CAMERA_ACCESS_DISABLED")
    ]
    assert policy_diff({}, {}) == []


def test_the_comparison_follows_the_forms_order_and_names_what_the_form_derives() -> None:
    new = {
        "systemUpdate": {"type": "WINDOWED", "startMinutes": 60, "endMinutes": 120},
        "shortSupportMessage": {"defaultMessage": "Ask IT", "localizedMessages": {"en": "Ask IT"}},
        "applications": [{"packageName": "com.a.b", "managedConfiguration": {"url": "x", "n": 3}}],
    }
    with override("en"):
        changes = policy_diff({}, new)
    paths = [c.path for c in changes]
    assert paths.index("systemUpdate.startMinutes") < paths.index("systemUpdate.endMinutes")
    labels = {c.path: c.label for c in changes}
    assert labels["shortSupportMessage.defaultMessage"] == "Short support message (other languages)"
    config = next(c for c in changes if c.path.endswith("managedConfiguration"))
    assert config.new_value == {"url": "x", "n": 3} and '"url"' in config.new
