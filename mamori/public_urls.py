"""The public door's URLs: device- and Google-facing endpoints outside ``/<domain>/``.

``PublicDoorMiddleware`` (``mamori/core/door.py``) serves these without sessions, locale, CSRF,
auth or contract middleware, and answers errors in JSON. Each first path segment here becomes a
reserved usage domain by itself (``mamori.contracts.models.reserved_domains``). Apps include
their public views here.
"""

from django.urls import include, path

from mamori.core import public_views as core
from mamori.core.metrics import metrics_view

urlpatterns = [
    path("healthz", core.healthz, name="healthz"),
    path("readyz", core.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("pubsub/", include("mamori.android.notifications.urls")),
]
