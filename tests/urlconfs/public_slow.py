"""The public URLconf plus ``/slow`` (a request that takes two seconds), for ``mamori serve``'s
graceful shutdown (tests/test_serve.py)."""

import time

from django.http import HttpRequest, JsonResponse
from django.urls import path

from mamori.public_urls import urlpatterns as public_urlpatterns


def slow(request: HttpRequest) -> JsonResponse:
    time.sleep(2)
    return JsonResponse({"slow": "done"})


urlpatterns = [*public_urlpatterns, path("slow", slow)]
