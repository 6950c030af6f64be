from typing import Any

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, Any]:
    return {
        "contract": getattr(request, "contract", None),
        "LANGUAGE_CHOICES": settings.LANGUAGES,
    }
