"""The one way to make an absolute URL for a mail or the command line (``MAMORI_BASE_URL``)."""

from __future__ import annotations

import os
import sys
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


def command_as_typed() -> str:
    """The ``mamori`` command as the person ran it, for messages that name another command.

    ``.venv/bin/mamori`` when run through that path from the project (it is not on ``PATH`` in a
    development checkout), ``mamori`` otherwise (an installed deployment, or called from code).
    """
    program = sys.argv[0] if sys.argv else ""
    if os.path.basename(program) != "mamori":
        return "mamori"
    relative = os.path.relpath(program)
    return relative if not relative.startswith("..") else program
