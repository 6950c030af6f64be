from django.urls import path

from mamori.android.inventory import views

# Mounted under /<domain>/ by mamori/android/urls.py, in the "panel" namespace.
urlpatterns = [
    path("devices/", views.devices_list, name="devices"),
    path("devices/export.csv", views.devices_export, name="devices_export"),
    path("devices/<int:device_id>/", views.device_detail, name="device_detail"),
    path("devices/<int:device_id>/move/", views.device_move, name="device_move"),
    path("devices/<int:device_id>/note/", views.device_note, name="device_note"),
    path("devices/<int:device_id>/remove/", views.device_remove, name="device_remove"),
]
