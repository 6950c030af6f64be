"""A public URLconf that collides with the root URLconf and has a dynamic first segment."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("healthz", view),
    path("login/", view),  # the root URLconf serves login/ too
    path("<slug:device>/report", view),
]
