"""Writes to Users/Org."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_KATAKANA = re.compile(r"^[\u30a1-\u30fe\u3000]*$")


def normalize_furigana(value: str) -> str:
    """Full-width katakana from katakana, half-width katakana or hiragana; refuse anything else.

    Spaces (either width) are kept as single full-width spaces between words.
    """
    text = unicodedata.normalize("NFKC", value)  # half-width katakana -> full-width
    text = "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch for ch in text)
    text = text.replace("ゝ", "ヽ").replace("ゞ", "ヾ")
    text = re.sub(r"[\s\u3000]+", "\u3000", text).strip("\u3000")
    if not _KATAKANA.match(text):
        raise ValidationError(
            _(
                "Furigana must be written in katakana (hiragana and half-width katakana are converted)."
            ),
            code="invalid_furigana",
        )
    return text
