from django.urls import path  # noqa: F401

# CSV import and export of users; mounted under /<domain>/ in the "panel" namespace.
urlpatterns: list = []
