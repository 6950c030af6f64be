from django.urls import path  # noqa: F401

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns: list = []
