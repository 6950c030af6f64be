from django.urls import path

from mamori.android.commands import views

# Mounted under /<domain>/ by mamori/android/urls.py, in the "panel" namespace. The fixed
# "devices/commands/…" and "devices/jobs/…" paths cannot be taken for a device id (ints only).
urlpatterns = [
    path("settings/android/commands/", views.command_settings, name="command_settings"),
    path("devices/commands/bulk/", views.bulk_command, name="device_bulk_command"),
    path("devices/commands/<int:command_id>/", views.command_detail, name="command_detail"),
    path("devices/commands/<int:command_id>/cancel/", views.command_cancel, name="command_cancel"),
    path("devices/jobs/<int:job_id>/", views.job_detail, name="command_job_detail"),
    path("devices/jobs/<int:job_id>/cancel/", views.job_cancel, name="command_job_cancel"),
    path(
        "devices/<int:device_id>/commands/<str:code>/",
        views.device_command,
        name="device_command",
    ),
]
