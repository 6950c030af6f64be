"""The notifications' public URLs, included under ``pubsub/`` by ``mamori/public_urls.py``."""

from django.urls import path

from mamori.android.notifications import views

urlpatterns = [
    path("amapi/<str:secret>", views.pubsub_push, name="pubsub_amapi"),
]
