"""The one way to make an absolute URL for a mail or the command line (``MAMORI_BASE_URL``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def absolute_url(name: str, **kwargs: Any) -> str:
    """``MAMORI_BASE_URL`` + the path of the URL pattern ``name`` (``"panel:login"``) with
    ``kwargs``, e.g. ``https://mdm.example.com/acme/login/``. Raises ``NoReverseMatch`` for an
    unknown name or missing arguments."""
    return f"{settings.MAMORI_BASE_URL}{reverse(name, kwargs=kwargs)}"


def login_url(domain: str) -> str:
    """A contract's login URL: where its accounts log in with the usage domain already set."""
    return absolute_url("panel:login", domain=domain)
