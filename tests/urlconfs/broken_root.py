"""A root URLconf with every mistake the top-level paths check reports."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("login/", view),
    re_path(r"^(?P<code>[a-z]+)-x/$", view),  # no fixed first word
    path("<slug:domain>/", include("mamori.panel.urls")),
    path("late/", view),  # shadowed by <slug:domain>/
    path("<slug:domain>/", include("mamori.panel.urls")),
]
