from django.urls import path

from mamori.alerts.webhooks import views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("settings/webhooks/", views.webhooks_list, name="webhooks"),
    path("settings/webhooks/<int:webhook_id>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:webhook_id>/delete/", views.webhook_remove, name="webhook_delete"),
]
