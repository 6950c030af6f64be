"""The one set of timezones a person can choose, and the one way a typed timezone is read.

``timezone_parse`` is what every place that takes a timezone uses (the account form, the API, the
CSV import, ``mamori contract create``, through the services): it accepts an IANA name in any
capitalisation (``asia/tokyo``), the abbreviations people type (``JST``) and UTC offsets
(``UTC+9``, ``+09:00``), and gives back the IANA name that is stored.

``timezone_choices`` is the list a person picks from: "(UTC+09:00) 東京", grouped by region.
"""

from __future__ import annotations

import datetime
import functools
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import get_language, gettext_lazy, override
from django.utils.translation import gettext as _

UTC = "UTC"

# The offsets of real zones run from UTC-12:00 to UTC+14:00 (Kiribati); PostgreSQL refuses some
# beyond them (+16:00) and Python's datetime all beyond ±24:00.
MAX_UTC_OFFSET = datetime.timedelta(hours=14)


@functools.cache
def timezone_names() -> frozenset[str]:
    """Every IANA zone name, read once per process: listing them walks the zone files (~40 ms)."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def timezone_list() -> tuple[str, ...]:
    """``timezone_names()`` sorted."""
    return tuple(sorted(timezone_names()))


def is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA zone such as ``Asia/Tokyo`` (exact spelling)."""
    return name in timezone_names()


@functools.cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in timezone_names()}


# Abbreviations people type, each naming one zone without doubt (CST, IST… name several).
ABBREVIATIONS = {
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "UTC": UTC,
    "GMT": UTC,
    "Z": UTC,
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CET": "Europe/Paris",
    "BST": "Europe/London",
    "AEST": "Australia/Sydney",
}
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


@functools.cache
def _by_city() -> dict[str, str]:
    """Zones by their city as people type it ("new york", "東京", "tokyo"): the last part of
    each "Region/City" name with spaces for underscores, and the cities' labels in Japanese and
    English. A city that names two zones is left out (no guessing)."""
    found: dict[str, set[str]] = {}
    for name in timezone_names():
        region, _sep, city = name.rpartition("/")
        if region and region != "Etc":  # Etc/GMT-9 is no city, and its sign is inverted
            found.setdefault(city.replace("_", " ").casefold(), set()).add(name)
    for zone, label in CITIES.items():
        for language in ("ja", "en"):
            with override(language):
                found.setdefault(str(label).casefold(), set()).add(zone)
    return {city: next(iter(zones)) for city, zones in found.items() if len(zones) == 1}


def timezone_parse(text: str) -> str:
    """The IANA zone ``text`` names: ``Asia/Tokyo``, ``asia/TOKYO``, ``JST``, a city (``tokyo``,
    ``東京``, ``new york``), ``UTC+9``,
    ``UTC+09:00`` and ``+9`` all give a zone; a whole-hour offset gives the fixed zone
    ``Etc/GMT-9`` (IANA writes those signs inverted). ``ValidationError`` (code
    ``invalid_timezone``) for anything else, saying what would do."""
    value = (text or "").strip()
    folded = value.casefold()
    found = (
        _by_folded_name().get(folded)
        or _by_folded_name().get(folded.replace(" ", "_"))
        or ABBREVIATIONS.get(value.upper())
        or _by_city().get(" ".join(folded.split()))
    )
    if found:
        return found
    match = _OFFSET.match(value)
    if match and (match[3] in (None, "00")):
        hours = int(match[2]) * (1 if match[1] == "+" else -1)
        if hours == 0:
            return UTC
        if -12 <= hours <= 14:
            return f"Etc/GMT{-hours:+d}"
    raise ValidationError(
        _(
            "“%(timezone)s” is not a timezone. Give a city (Tokyo), an IANA name (Asia/Tokyo), "
            "an abbreviation (%(abbreviations)s) or a whole-hour UTC offset (UTC+9, -05:00)."
        )
        % {"timezone": value, "abbreviations": abbreviations_text()},
        code="invalid_timezone",
    )


def abbreviations_text() -> str:
    """``JST, KST, …``: the abbreviations ``timezone_parse`` reads, for messages and help."""
    return ", ".join(ABBREVIATIONS)


# What ``timezone_parse`` takes, for the API's descriptions (English, as the document is).
TIMEZONE_INPUT_DOC = (
    "a timezone: an IANA name in any capitalisation (Asia/Tokyo), a city (Tokyo, 東京, "
    f"new york), an abbreviation ({', '.join(ABBREVIATIONS)}) or a whole-hour UTC offset "
    "(UTC+9, +09:00, -5); answered as the IANA name it stands for (UTC+9 as Etc/GMT-9)"
)


def timezone_display(zone: str) -> str:
    """``zone`` as a person writes it where a name is shown as text (the log, CSV files): the
    fixed zones ``Etc/GMT-9`` as ``UTC+09:00`` (IANA inverts their signs, which reads as the
    opposite offset), every other zone as its IANA name. ``timezone_parse`` reads it back."""
    if zone.startswith("Etc/GMT") and is_timezone(zone):
        minutes, _label = _offset_text(zone, datetime.datetime.now(datetime.UTC))
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return zone


# Regions as the picker groups them, and the cities people look for, in the active language.
# A city not listed here shows as IANA writes it ("New York").
REGIONS = {
    "Asia": gettext_lazy("Asia"),
    "America": gettext_lazy("Americas"),
    "Europe": gettext_lazy("Europe"),
    "Africa": gettext_lazy("Africa"),
    "Australia": gettext_lazy("Australia"),
    "Pacific": gettext_lazy("Pacific"),
    "Atlantic": gettext_lazy("Atlantic"),
    "Indian": gettext_lazy("Indian Ocean"),
    "Antarctica": gettext_lazy("Antarctica"),
    "Arctic": gettext_lazy("Arctic"),
}
CITIES = {
    "Asia/Tokyo": gettext_lazy("Tokyo"),
    "Asia/Seoul": gettext_lazy("Seoul"),
    "Asia/Shanghai": gettext_lazy("Shanghai"),
    "Asia/Hong_Kong": gettext_lazy("Hong Kong"),
    "Asia/Taipei": gettext_lazy("Taipei"),
    "Asia/Singapore": gettext_lazy("Singapore"),
    "Asia/Bangkok": gettext_lazy("Bangkok"),
    "Asia/Ho_Chi_Minh": gettext_lazy("Ho Chi Minh City"),
    "Asia/Jakarta": gettext_lazy("Jakarta"),
    "Asia/Manila": gettext_lazy("Manila"),
    "Asia/Kuala_Lumpur": gettext_lazy("Kuala Lumpur"),
    "Asia/Kolkata": gettext_lazy("Kolkata"),
    "Asia/Dubai": gettext_lazy("Dubai"),
    "Europe/London": gettext_lazy("London"),
    "Europe/Paris": gettext_lazy("Paris"),
    "Europe/Berlin": gettext_lazy("Berlin"),
    "Europe/Amsterdam": gettext_lazy("Amsterdam"),
    "Europe/Madrid": gettext_lazy("Madrid"),
    "Europe/Rome": gettext_lazy("Rome"),
    "Europe/Moscow": gettext_lazy("Moscow"),
    "America/New_York": gettext_lazy("New York"),
    "America/Chicago": gettext_lazy("Chicago"),
    "America/Denver": gettext_lazy("Denver"),
    "America/Los_Angeles": gettext_lazy("Los Angeles"),
    "America/Vancouver": gettext_lazy("Vancouver"),
    "America/Toronto": gettext_lazy("Toronto"),
    "America/Mexico_City": gettext_lazy("Mexico City"),
    "America/Sao_Paulo": gettext_lazy("São Paulo"),
    "Pacific/Honolulu": gettext_lazy("Honolulu"),
    "Pacific/Auckland": gettext_lazy("Auckland"),
    "Pacific/Guam": gettext_lazy("Guam"),
    "Australia/Sydney": gettext_lazy("Sydney"),
    "Australia/Melbourne": gettext_lazy("Melbourne"),
    "Australia/Perth": gettext_lazy("Perth"),
    "Africa/Cairo": gettext_lazy("Cairo"),
    "Africa/Johannesburg": gettext_lazy("Johannesburg"),
}


def _offset_text(zone: str, when: datetime.datetime) -> tuple[int, str]:
    offset = when.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or datetime.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return minutes, f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


@functools.cache
def _region_zones() -> dict[str, tuple[str, ...]]:
    """The zones of each region: "Region/City" names only (no legacy aliases such as Japan)."""
    regions: dict[str, list[str]] = {}
    for name in timezone_list():
        region, _sep, city = name.partition("/")
        if region in REGIONS and city:
            regions.setdefault(region, []).append(name)
    return {region: tuple(zones) for region, zones in regions.items()}


def timezone_label(zone: str, when: datetime.datetime | None = None) -> str:
    """ "(UTC+09:00) 東京" in the active language: the offset now, and the city."""
    _minutes, offset = _offset_text(zone, when or datetime.datetime.now(datetime.UTC))
    if zone == UTC:
        return f"{offset} UTC"
    if zone.startswith("Etc/GMT"):
        fixed = _("Fixed offset")
        return f"{offset} {fixed}"
    city = CITIES.get(zone)
    text = str(city) if city else zone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{offset} {text}"


def timezone_choices(current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The picker's groups: the common zones first, then each region's zones by offset and
    name, then UTC and fixed offsets. ``current``, a stored zone in none of these (a legacy
    alias such as ``Japan``), is added to the last group."""
    now = datetime.datetime.now(datetime.UTC)
    groups = list(_choices(get_language() or "", now.strftime("%Y%m%d%H")))
    listed = {zone for _label, zones in groups for zone, _text in zones}
    if current and current not in listed and is_timezone(current):
        label, zones = groups[-1]
        groups[-1] = (label, [*zones, (current, timezone_label(current, now))])
    return groups


@functools.lru_cache(maxsize=8)
def _choices(language: str, hour: str) -> tuple[tuple[str, list[tuple[str, str]]], ...]:
    """The groups in one language, made once an hour (offsets move with summer time)."""
    now = datetime.datetime.now(datetime.UTC)

    def group(zones: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
        keyed = sorted((_offset_text(z, now)[0], timezone_label(z, now), z) for z in zones)
        return [(zone, label) for _minutes, label, zone in keyed]

    groups: list[tuple[str, list[tuple[str, str]]]] = [
        (_("Common"), group([z for z in CITIES if z in timezone_names()]))
    ]
    for region, label in REGIONS.items():
        groups.append((str(label), group(_region_zones().get(region, ()))))
    fixed = [UTC, *(f"Etc/GMT{h:+d}" for h in range(-14, 13) if h)]
    groups.append((_("UTC and fixed offsets"), group([z for z in fixed if is_timezone(z)])))
    return tuple(groups)


def instant_errors(value: datetime.datetime) -> list[str]:
    """Why an aware datetime given by a person (a log filter's "From", an API's ``since``) cannot
    be compared with stored times: an offset beyond ±14:00, or an instant outside the years
    1–9999 in UTC (``0001-01-01T00:00+09:00``, which SQLite's adapter cannot convert). Empty
    when it can."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return [_("A UTC offset is between -14:00 and +14:00.")]
    try:
        value.astimezone(datetime.UTC)
    except OverflowError:
        return [_("This date and time is out of range.")]
    return []
