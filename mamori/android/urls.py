from django.urls import include, path

from mamori.android import views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("", include("mamori.android.inventory.urls")),
    path("settings/android/", views.enterprise_settings, name="android_settings"),
    path("settings/android/callback/", views.enterprise_callback, name="android_callback"),
    path("settings/android/unbind/", views.enterprise_unbind, name="android_unbind"),
    path("devices/profiles/", views.profiles, name="profiles"),
    path("devices/profiles/add/", views.profile_add, name="profile_add"),
    path("devices/profiles/assignments/", views.profile_assignments, name="profile_assignments"),
    path("devices/profiles/<int:profile_id>/", views.profile_detail, name="profile_detail"),
    path("devices/profiles/<int:profile_id>/edit/", views.profile_edit, name="profile_edit"),
    path(
        "devices/profiles/<int:profile_id>/publish/", views.profile_publish, name="profile_publish"
    ),
    path("devices/profiles/<int:profile_id>/rename/", views.profile_rename, name="profile_rename"),
    path("devices/profiles/<int:profile_id>/copy/", views.profile_copy, name="profile_copy"),
    path("devices/profiles/<int:profile_id>/delete/", views.profile_delete, name="profile_delete"),
    path(
        "devices/profiles/<int:profile_id>/versions/<int:number>/",
        views.profile_version,
        name="profile_version",
    ),
    path(
        "devices/profiles/<int:profile_id>/versions/<int:number>/restore/",
        views.profile_restore,
        name="profile_restore",
    ),
    path(
        "orgs/<int:organization_id>/profile/",
        views.organization_profile,
        name="organization_profile",
    ),
    path("devices/enrollment/", views.tokens, name="tokens"),
    path("devices/enrollment/add/", views.token_add, name="token_add"),
    path("devices/enrollment/<int:token_id>/", views.token_detail, name="token_detail"),
    path("devices/enrollment/<int:token_id>/qr.png", views.token_qr_png, name="token_qr_png"),
    path("devices/enrollment/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("", include("mamori.android.commands.urls")),
]
