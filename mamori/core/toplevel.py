"""The top-level paths the URL configuration takes: what a usage domain must never shadow.

The panel lives under ``/<domain>/``, so every other first path segment (``login``, ``api``,
``static``, the public door's ``healthz``…) is one a contract must not take as its usage domain.
These helpers read those segments from the URLconfs themselves, so a new top-level path is
reserved the moment it is added. Only Django and settings are read here: the URLconfs are named
by their dotted path.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# The one dynamic top-level segment the root URLconf may have: the contract's usage domain.
DOMAIN_SEGMENT = "<slug:domain>"
_LITERAL = re.compile(r"^[A-Za-z0-9._~-]*$")


@dataclasses.dataclass(frozen=True)
class TopLevelPattern:
    """One top-level pattern of a URLconf and its first path segment.

    ``written`` is the pattern as written (``"login/"``, ``"<slug:domain>/"``, ``"^static/"``);
    ``segment`` is its first path segment when that is a fixed word (``"login"``; ``""`` for
    the root URL) and ``None`` when it is not (a converter, or a regex this cannot read).
    """

    written: str
    segment: str | None

    @property
    def is_domain(self) -> bool:
        """Whether this is the panel's ``<slug:domain>/`` pattern."""
        return self.written.split("/", 1)[0] == DOMAIN_SEGMENT


def _first_segment(entry: URLPattern | URLResolver) -> TopLevelPattern:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        written = str(pattern)
        first = written.split("/", 1)[0]
        return TopLevelPattern(written, None if "<" in first else first)
    if isinstance(pattern, RegexPattern):
        written = str(pattern)
        match = re.match(r"^\^?([^/$]*)(?:/|\$|$)", written)
        literal = match.group(1) if match else None
        return TopLevelPattern(
            written, literal if literal is not None and _LITERAL.match(literal) else None
        )
    return TopLevelPattern(str(pattern), None)  # e.g. i18n_patterns' language prefix


def top_level_patterns(urlconf: str) -> list[TopLevelPattern]:
    """The top-level patterns of the URLconf at the dotted path ``urlconf``, in order."""
    return [_first_segment(entry) for entry in get_resolver(urlconf).url_patterns]


@functools.cache
def public_prefixes(urlconf: str) -> frozenset[str]:
    """The first path segments the public URLconf ``urlconf`` answers (``{"healthz"}``).

    Cached per URLconf: the middleware asks on every request.
    """
    return frozenset(p.segment for p in top_level_patterns(urlconf) if p.segment)


def static_prefix() -> str | None:
    """The first path segment of ``STATIC_URL`` (``"static"``), or None for another host's URL."""
    parts = urlsplit(settings.STATIC_URL or "")
    if parts.netloc:
        return None
    return parts.path.strip("/").split("/", 1)[0] or None


def taken_paths() -> frozenset[str]:
    """Every fixed first path segment the deployment serves outside ``/<domain>/``.

    The root URLconf's fixed patterns, the public URLconf's, and the static files' prefix.
    """
    taken = {
        p.segment
        for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_URLCONF)
        for p in top_level_patterns(urlconf)
        if p.segment
    }
    if prefix := static_prefix():
        taken.add(prefix)
    return frozenset(taken)
