"""Whether a new screen-lock password (RESET_PASSWORD) meets the device's password policies
and Android's own rules, said in the person's language before anything is sent.

The policies are the device's ``appliedPasswordPolicies`` (its newest report), else the
``passwordPolicies`` of its profile's current version (``PasswordRequirements``, ANDROID.md
2.6 item 1). Android's rules: any password has at least 4 characters, all printable ASCII
(full-width digits and Japanese are refused on the device); a numeric password has at least 6
digits ("must be at least 6 characters long if it is numeric in case of Android 14 devices. Else
the command will fail with INVALID_VALUE", ANDROID.md 2.2); NUMERIC_COMPLEX and the MEDIUM/HIGH
complexities refuse repeating or ordered digit runs longer than 3 (Android's
``PasswordMetrics``: 1111, 1234, 9876).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

if TYPE_CHECKING:
    from mamori.android.models import Device

NUMERIC_MIN = 6
# Android's own minimum of any screen lock password (DevicePolicyManager.resetPasswordWithToken
# refuses shorter ones; LockPatternUtils.MIN_LOCK_PASSWORD_SIZE) and its characters: printable
# ASCII only (PasswordMetrics: any other character makes the password invalid).
MIN_LENGTH = 4
ASCII_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
MAX_SEQUENCE = 3


def device_password_policies(device: Device | None) -> list[dict[str, Any]]:
    """The device's password policies: reported as applied, else its profile's current ones."""
    if device is None:
        return []
    applied = (device.report or {}).get("appliedPasswordPolicies")
    if isinstance(applied, list) and applied:
        return [p for p in applied if isinstance(p, dict)]
    from mamori.android.models import Profile

    profile_id = device.policy_name.rsplit("/mamori-", 1)[-1] if device.policy_name else ""
    if not profile_id.isdigit():
        return []
    profile = (
        Profile.objects.filter(pk=int(profile_id), contract_id=device.contract_id)
        .select_related("current")
        .first()
    )
    policy = profile.current.policy if profile and profile.current else {}
    rules = policy.get("passwordPolicies") if isinstance(policy, dict) else None
    return [p for p in rules or [] if isinstance(p, dict)]


def longest_sequence(text: str) -> int:
    """The longest run of characters with a constant step of -1, 0 or +1 (``"1234"`` → 4)."""
    longest = run = 1 if text else 0
    step = None
    for before, after in itertools.pairwise(text):
        difference = ord(after) - ord(before)
        if difference in (-1, 0, 1) and difference == step:
            run += 1
        elif difference in (-1, 0, 1):
            run, step = 2, difference
        else:
            run, step = 1, None
        longest = max(longest, run)
    return longest


def _counts(password: str) -> dict[str, int]:
    return {
        "letters": sum(c.isalpha() for c in password),
        "lower": sum(c.islower() for c in password),
        "upper": sum(c.isupper() for c in password),
        "numeric": sum(c.isdigit() for c in password),
        "symbols": sum(not c.isalnum() for c in password),
        "non_letter": sum(not c.isalpha() for c in password),
    }


def _complex_errors(password: str, rule: dict[str, Any]) -> list[str]:
    counts = _counts(password)
    wanted = (
        ("passwordMinimumLetters", "letters", _("letters")),
        ("passwordMinimumLowerCase", "lower", _("lowercase letters")),
        ("passwordMinimumUpperCase", "upper", _("uppercase letters")),
        ("passwordMinimumNumeric", "numeric", _("digits")),
        ("passwordMinimumSymbols", "symbols", _("symbols")),
        ("passwordMinimumNonLetter", "non_letter", _("characters other than letters")),
    )
    errors = []
    for key, kind, words in wanted:
        minimum = _int(rule.get(key))
        if minimum and counts[kind] < minimum:
            errors.append(
                _("The profile asks for at least %(count)d %(what)s.")
                % {"count": minimum, "what": words}
            )
    return errors


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _quality_errors(password: str, quality: str) -> list[str]:
    digits_only = password.isdigit()
    has_letter = any(c.isalpha() for c in password)
    has_digit = any(c.isdigit() for c in password)
    sequence = longest_sequence(password) > MAX_SEQUENCE
    if quality in ("ALPHABETIC", "COMPLEX") and not has_letter:
        return [_("The profile asks for letters in the password.")]
    if quality == "ALPHANUMERIC" and not (has_letter and has_digit):
        return [_("The profile asks for both letters and digits in the password.")]
    if quality == "NUMERIC_COMPLEX" and sequence:
        return [_("The profile refuses repeating or ordered digits such as 1111 or 1234.")]
    if quality == "COMPLEXITY_MEDIUM" and (len(password) < 4 or (digits_only and sequence)):
        return [
            _("The profile asks for medium complexity: at least 4 characters, no 1111 or 1234.")
        ]
    if quality == "COMPLEXITY_HIGH" and (
        (digits_only and (len(password) < 8 or sequence)) or (not digits_only and len(password) < 6)
    ):
        return [
            _(
                "The profile asks for high complexity: at least 8 digits without 1111 or 1234, "
                "or at least 6 characters with letters."
            )
        ]
    return []


def password_policy_errors(password: str, device: Device | None) -> list[str]:
    """Why ``password`` cannot be the device's new password (sentences); empty when it can."""
    if not password:
        return [_("Enter the new password.")]
    errors: list[str] = []
    if len(password) < MIN_LENGTH:
        errors.append(
            _("Android needs a password of at least %(count)d characters.") % {"count": MIN_LENGTH}
        )
    if any(c not in ASCII_PRINTABLE and ord(c) >= 32 and ord(c) != 127 for c in password):
        errors.append(
            _(
                "Use only ASCII letters, digits, spaces and symbols: Android refuses other "
                "characters, such as full-width digits or Japanese."
            )
        )
    if password.isascii() and password.isdigit() and len(password) < NUMERIC_MIN:
        errors.append(
            _("A password of digits only needs at least %(count)d digits on Android.")
            % {"count": NUMERIC_MIN}
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        errors.append(_("Remove the control characters from the password."))
    for rule in device_password_policies(device):
        minimum = _int(rule.get("passwordMinimumLength"))
        if minimum and len(password) < minimum:
            errors.append(
                ngettext(
                    "The profile asks for at least %(count)d character.",
                    "The profile asks for at least %(count)d characters.",
                    minimum,
                )
                % {"count": minimum}
            )
        quality = str(rule.get("passwordQuality") or "")
        errors += _quality_errors(password, quality)
        if quality == "COMPLEX":
            errors += _complex_errors(password, rule)
    return list(dict.fromkeys(errors))
