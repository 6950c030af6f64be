"""The public URLconf plus test-only public views (``settings.PUBLIC_URLCONF`` in tests)."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import path

from mamori.public_urls import urlpatterns as public_urlpatterns


def probe(request: HttpRequest) -> JsonResponse:
    """What the middleware below the door would have left on the request, had it run."""
    return JsonResponse(
        {
            "method": request.method,
            "body": request.body.decode(),
            "session": hasattr(request, "session"),
            "user": hasattr(request, "user"),
            "language": hasattr(request, "LANGUAGE_CODE"),
            "csrf": hasattr(request, "csrf_processing_done") or "CSRF_COOKIE" in request.META,
            "contract": hasattr(request, "contract"),
            "messages": hasattr(request, "_messages"),
        }
    )


async def async_probe(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"async": True, "session": hasattr(request, "session")})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a detail only the log may see")


def missing(request: HttpRequest) -> HttpResponse:
    raise ObjectDoesNotExist


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def html_error(request: HttpRequest) -> HttpResponse:
    return HttpResponseBadRequest("<h1>Bad</h1>")


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse("mamori_up 1\n", content_type="text/plain; version=0.0.4")


urlpatterns = [
    *public_urlpatterns,
    path("door-test/probe", probe),
    path("door-test/async", async_probe),
    path("door-test/boom", boom),
    path("door-test/missing", missing),
    path("door-test/forbidden", forbidden),
    path("door-test/html-error", html_error),
    path("door-test/metrics", metrics),
]
