"""AMAPI's ``UserFacingMessage`` as the person reading it sees it: in their language.

A ``UserFacingMessage`` is ``{"localizedMessages": {locale: text}, "defaultMessage": text}``
(ANDROID.md 2.3 and 5: a security posture's ``advice``, a device's ``disabledReason``; AMAPI's
reference: "localizedMessages: A map containing <locale, message> pairs, where locale is a
well-formed BCP 47 language code, e.g. en-US, es-ES, or fr"). Every page that shows one calls
``user_facing_text``; nothing else picks a text out of such a message.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import get_language


def _tag(locale: str) -> str:
    """A BCP 47 tag compared case-insensitively, ``_`` taken as ``-`` (``ja_JP`` is ``ja-jp``)."""
    return locale.strip().replace("_", "-").lower()


def user_facing_text(message: Any, language: str | None = None) -> str:
    """The text of ``message`` for ``language`` (default: the active language, e.g. ``ja`` or
    ``en-us``): the localized message of exactly that tag, else of its primary language
    (``ja`` for ``ja-JP``), else of any tag of that primary language (``ja-JP`` for ``ja``),
    else ``defaultMessage``; ``""`` when ``message`` is no such object or holds no text.
    Never raises, whatever the shape Google (or a forged report) sent."""
    if not isinstance(message, dict):
        return ""
    default = message.get("defaultMessage")
    default = default if isinstance(default, str) else ""
    localized = message.get("localizedMessages")
    if not isinstance(localized, dict):
        return default
    texts = {
        _tag(locale): text
        for locale, text in localized.items()
        if isinstance(locale, str) and isinstance(text, str) and text.strip()
    }
    wanted = _tag(language or get_language() or settings.LANGUAGE_CODE)
    primary = wanted.split("-")[0]
    if wanted in texts:
        return texts[wanted]
    if primary in texts:
        return texts[primary]
    for tag in sorted(texts):
        if tag.split("-")[0] == primary:
            return texts[tag]
    return default
