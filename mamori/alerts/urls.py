from django.urls import path

from mamori.alerts import views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("devices/alerts/", views.alerts_list, name="alerts"),
    path("devices/alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("devices/alerts/<int:alert_id>/close/", views.alert_close, name="alert_close"),
    path("settings/alerts/", views.alerts_settings, name="alerts_settings"),
]
