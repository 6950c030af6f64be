from django.urls import path  # noqa: F401

# Invitations to set a password; mounted under /<domain>/ in the "panel" namespace.
urlpatterns: list = []
