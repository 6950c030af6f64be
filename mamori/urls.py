from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path

from mamori.accounts.views import login as accounts
from mamori.api.api import api


def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/login/")


# The product's own error pages (JSON under /api/): mamori/core/errors.py.
handler400 = "mamori.core.errors.bad_request"
handler500 = "mamori.core.errors.server_error"


# Fixed top-level paths go above <slug:domain>/, and each is a reserved usage domain by itself
# (contracts.models.reserved_domains; `mamori check` reports one that is not). Device- and
# Google-facing endpoints go to mamori/public_urls.py instead.
urlpatterns = [
    path("", root),
    path("login/", accounts.general_login, name="login"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("<slug:domain>/", include("mamori.panel.urls")),
]
