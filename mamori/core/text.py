"""What a typed text may hold when the product uses it as an identifier, an address or a mail
header, and how searches and keys compare texts.

A person cannot see a right-to-left mark, a zero-width space or a byte-order mark they pasted
with an address; a line separator (U+2028, U+0085, a vertical tab) ends a mail header as a line
feed does (Python's ``email`` package splits header values on what ``str.splitlines`` splits
on, and refuses them). These rules find such characters so the services can refuse them with a
message instead of storing a value that never works.
"""

from __future__ import annotations

import re
import unicodedata

# What ``str.splitlines`` (and so the mail library) treats as the end of a line.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Unicode general categories nobody sees: controls, format characters (RLM, ZWSP, BOM, the
# bidirectional overrides), private use, surrogates, unassigned, and the line and paragraph
# separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_WHITESPACE = re.compile(r"\s+")


def code_point(ch: str) -> str:
    """``U+200B`` for a zero-width space: how a message names a character nobody can see."""
    return f"U+{ord(ch):04X}"


def invisible_character(text: str, *, spaces: bool = False) -> str | None:
    """The first character of ``text`` nobody sees (a control or format character, a line or
    paragraph separator; with ``spaces``, a space other than the ASCII one too: a no-break or
    ideographic space looks like any other), or None."""
    for ch in text:
        category = unicodedata.category(ch)
        if category in _INVISIBLE_CATEGORIES or (spaces and category == "Zs" and ch != " "):
            return ch
    return None


def line_break(text: str) -> str | None:
    """The first character of ``text`` that ends a line (for a mail header: ends the header),
    or None."""
    return next((ch for ch in text if ch in LINE_BREAKS), None)


def control_character(text: str) -> str | None:
    """The first C0 or C1 control character (NUL, a tab, an escape…) of ``text``, or None."""
    return next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)


def fold(text: str) -> str:
    """The form in which searches and keys compare a text: NFKC (full-width ``Ａ１`` is ``A1``,
    half-width ``ｶ`` is ``カ``), case-folded, without any whitespace (``田中　太郎``, ``田中 太郎``
    and ``田中太郎`` are one name)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def nfkc(text: str) -> str:
    """``text`` in Unicode normalization form NFKC, without surrounding whitespace: the form in
    which codes and identifiers are stored (``Ｅ０００１`` is ``E0001``)."""
    return unicodedata.normalize("NFKC", text).strip()


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: two for each wide or full-width character
    (Unicode East Asian Width W and F, UAX #11), none for combining marks, one otherwise."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )
