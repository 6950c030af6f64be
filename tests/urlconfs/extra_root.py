"""The root URLconf with two more top-level paths: ``status/`` and ``alpha/`` (contract A's)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from mamori.urls import urlpatterns as root_urlpatterns


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


# Fixed paths go above <slug:domain>/, the last pattern.
urlpatterns = [
    *root_urlpatterns[:-1],
    path("status/", view),
    path("alpha/", view),
    root_urlpatterns[-1],
]
