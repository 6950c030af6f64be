"""The one set of timezones a person can choose: every IANA zone this machine knows."""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def timezone_names() -> frozenset[str]:
    """Every IANA zone name, read once per process: listing them walks the zone files (~40 ms)."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def timezone_list() -> tuple[str, ...]:
    """``timezone_names()`` sorted, for the searchable list of the account form."""
    return tuple(sorted(timezone_names()))


def is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA zone such as ``Asia/Tokyo`` (exact spelling)."""
    return name in timezone_names()
