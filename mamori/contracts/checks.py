"""System checks: no contract's usage domain is shadowed by a top-level path.

``mamori check`` runs ``top_level_paths_check``; ``mamori check --database default`` (and
``make lint``) also runs ``shadowed_contracts_check``, which reads the contracts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

from mamori.contracts.models import Contract, reserved_domains
from mamori.core.toplevel import top_level_patterns


@register(Tags.urls)
def top_level_paths_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Error]:
    """Every top-level path is a fixed word that ``reserved_domains()`` covers.

    The root URLconf has exactly one dynamic pattern, ``<slug:domain>/``, after all its fixed
    ones (before it, ``<slug:domain>/`` would shadow them); the public URLconf has only fixed
    first segments, none of which the root URLconf also serves (the door would hide it).
    """
    errors: list[Error] = []
    reserved = reserved_domains()
    root = top_level_patterns(settings.ROOT_URLCONF)
    public = top_level_patterns(settings.PUBLIC_URLCONF)
    domain_seen = False
    for pattern in root:
        if pattern.is_domain:
            if domain_seen:
                errors.append(_error("E001", f"{pattern.written!r} appears twice in ROOT_URLCONF."))
            domain_seen = True
        elif pattern.segment is None:
            errors.append(
                _error(
                    "E002",
                    f"The top-level pattern {pattern.written!r} of ROOT_URLCONF does not start "
                    "with a fixed word, so it cannot be reserved from usage domains.",
                    "Start it with a fixed path segment (path('word/', …)).",
                )
            )
        elif domain_seen:
            errors.append(
                _error(
                    "E003",
                    f"The top-level pattern {pattern.written!r} comes after '<slug:domain>/' "
                    "in ROOT_URLCONF, which matches its paths first.",
                    "Move it above the '<slug:domain>/' pattern.",
                )
            )
    root_segments = {p.segment for p in root if p.segment}
    for pattern in public:
        if pattern.segment is None or pattern.segment == "":
            errors.append(
                _error(
                    "E004",
                    f"The pattern {pattern.written!r} of PUBLIC_URLCONF does not start with a "
                    "fixed word: the public door routes on the first path segment.",
                )
            )
        elif pattern.segment in root_segments:
            errors.append(
                _error(
                    "E005",
                    f"'{pattern.segment}/' is served by both PUBLIC_URLCONF and ROOT_URLCONF; "
                    "the public door answers it first.",
                )
            )
    for segment in sorted({p.segment for p in (*root, *public) if p.segment} - reserved):
        errors.append(_error("E006", f"The top-level path '{segment}/' is not reserved."))
    return errors


@register(Tags.database)
def shadowed_contracts_check(
    app_configs: Sequence[Any] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[Error]:
    """No existing contract has a usage domain that is now a reserved path.

    Such a contract's panel would be unreachable: the new top-level path answers ``/<domain>/``
    first. Runs only when asked for a database (``mamori check --database default``); a
    database without the contracts table yet has nothing to report.
    """
    errors: list[Error] = []
    reserved = reserved_domains()
    for alias in databases or ():
        connection = connections[alias]
        if Contract._meta.db_table not in connection.introspection.table_names():
            continue
        shadowed = (
            Contract.objects.using(alias)
            .filter(domain__in=reserved)
            .order_by("domain")
            .values_list("domain", flat=True)
        )
        errors.extend(
            _error(
                "E007",
                f"The contract '{domain}' has a usage domain that is now a reserved top-level "
                f"path: '/{domain}/' no longer reaches its panel (database '{alias}').",
                "Rename or remove the top-level path, or move the contract to another domain.",
            )
            for domain in shadowed
        )
    return errors


def _error(number: str, message: str, hint: str | None = None) -> Error:
    return Error(message, hint=hint, id=f"contracts.{number}")
