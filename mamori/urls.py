from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path

from mamori.accounts.views import login as accounts
from mamori.api.api import api


def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/login/")


urlpatterns = [
    path("", root),
    path("login/", accounts.general_login, name="login"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("<slug:domain>/", include("mamori.panel.urls")),
]
