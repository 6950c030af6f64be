"""The order of organizations among their siblings: the one an administrator set, then reading
order (not code-point order)."""

from __future__ import annotations

import functools
import unicodedata


@functools.lru_cache(maxsize=65536)  # a contract's names recur on every page view
def reading_key(name: str) -> tuple[bytes, str]:
    """A sort key that puts names in the order a Japanese reader expects rather than code-point
    order: width and case folded (Ｅ = e), hiragana and katakana together, and kanji in JIS X
    0208 order, which for the common (level 1) kanji follows their reading (Shift_JIS bytes).
    Characters outside Shift_JIS follow all others, in code-point order."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)
    encoded = b"".join(_sjis(c) for c in text)
    return encoded, text


def _sjis(char: str) -> bytes:
    try:
        return char.encode("cp932")
    except UnicodeEncodeError:
        return b"\xff" + char.encode("utf-8")


def sibling_key(position: int, name: str, pk: int) -> tuple[bool, int, tuple[bytes, str], int]:
    """Siblings in the tree: those an administrator placed first, in their set order; the others
    after them in reading order."""
    return (position == 0, position, reading_key(name), pk)
