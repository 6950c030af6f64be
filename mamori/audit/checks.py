"""System checks for the audit key: a malformed key stops the start; a missing one, the deploy
check (``mamori check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from mamori.audit.keys import audit_keys


def _configured() -> bool:
    return bool(settings.MAMORI_AUDIT_KEY)


@register(Tags.security)
def audit_key_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not _configured():
        return []
    try:
        audit_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="audit.E001")]
    return []


@register(Tags.security, deploy=True)
def audit_key_deploy_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if _configured():
        return []
    return [
        Error(
            "MAMORI_AUDIT_KEY (or MAMORI_AUDIT_KEY_FILE) is not set: the operation log cannot be "
            "written outside debug.",
            hint="Set it to 'k1:<secret>'; see mamori/audit/keys.py.",
            id="audit.E002",
        )
    ]
