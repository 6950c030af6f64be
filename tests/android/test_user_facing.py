"""AMAPI's UserFacingMessage in the viewer's language: one function picks the text, and the
device page shows a security posture's advice and ``disabledReason`` through it."""

from __future__ import annotations

from typing import Any

import pytest

from mamori.accounts.models import Account
from mamori.android.models import Device
from mamori.android.sandbox.controls import COMPROMISED
from mamori.android.user_facing import user_facing_text
from tests.android.devices import make_device
from tests.conftest import OrgCast, logged_in

MESSAGE = {
    "defaultMessage": "Default",
    "localizedMessages": {"en-US": "English (US)", "ja-JP": "日本語", "fr": "Français"},
}


@pytest.mark.parametrize(
    ("message", "language", "text"),
    [
        (MESSAGE, "ja", "日本語"),  # any ja-* for ja
        (MESSAGE, "ja-JP", "日本語"),
        (MESSAGE, "ja_jp", "日本語"),
        (MESSAGE, "en", "English (US)"),
        (MESSAGE, "en-us", "English (US)"),
        (MESSAGE, "en-GB", "English (US)"),  # the same primary language
        (MESSAGE, "fr-CA", "Français"),  # the primary language itself
        (MESSAGE, "de", "Default"),
        ({"defaultMessage": "D", "localizedMessages": {"ja": "素", "ja-JP": "地"}}, "ja-JP", "地"),
        ({"defaultMessage": "D", "localizedMessages": {"ja": "素", "ja-JP": "地"}}, "ja-KS", "素"),
        ({"defaultMessage": "D", "localizedMessages": {"ja": "  "}}, "ja", "D"),  # blank
        ({"defaultMessage": "D", "localizedMessages": ["ja"]}, "ja", "D"),
        ({"defaultMessage": "D", "localizedMessages": {"ja": 7, "en": "E"}}, "ja", "D"),
        ({"localizedMessages": {"en": "E"}}, "ja", ""),
        ({"defaultMessage": 3}, "en", ""),
        ("text", "en", ""),
        (None, "en", ""),
    ],
)
def test_the_viewers_language_is_picked_else_the_default(
    message: Any, language: str, text: str
) -> None:
    assert user_facing_text(message, language) == text


def test_the_active_language_is_the_default_choice() -> None:
    from django.utils import translation

    with translation.override("ja"):
        assert user_facing_text(MESSAGE) == "日本語"
    with translation.override("en"):
        assert user_facing_text(MESSAGE) == "English (US)"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "advice", "reason"),
    [
        ("ja", "デバイスのオペレーティング システムが改変されている可能性があります。", "停止中"),
        ("en", "The device&#x27;s operating system may have been modified.", "Stopped"),
    ],
)
def test_the_device_page_shows_googles_advice_and_disabled_reason_in_the_viewers_language(
    orgs: OrgCast, language: str, advice: str, reason: str
) -> None:
    device = make_device(orgs.tokyo, posture="POTENTIALLY_COMPROMISED")
    report = {
        **device.report,
        "securityPosture": COMPROMISED,  # what `amapi-sandbox device NAME --compromised` sends
        "disabledReason": {
            "defaultMessage": "Stopped by IT",
            "localizedMessages": {"ja-JP": "停止中", "en": "Stopped"},
        },
    }
    Device.objects.filter(pk=device.pk).update(report=report, applied_state="DISABLED")
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language=language)
    orgs.cast.a1.refresh_from_db()
    text = logged_in(orgs.cast.a1).get(f"/alpha/devices/{device.pk}/").content.decode()
    assert advice in text and f"({reason})" in text
    other = "Factory reset the device." if language == "ja" else "出荷時の状態"
    assert other not in text and "Stopped by IT" not in text
