from django.urls import path

from mamori.accounts import views_two_factor as views

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("login/verify/", views.login_verify, name="login_verify"),
    path("account/two-factor/", views.two_factor_page, name="two_factor"),
    path("account/two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path(
        "account/two-factor/backup-codes/",
        views.backup_codes_regenerate,
        name="backup_codes_regenerate",
    ),
    path(
        "users/<int:user_id>/account/two-factor/reset/",
        views.two_factor_reset,
        name="two_factor_reset",
    ),
    path("settings/security/", views.settings_security, name="settings_security"),
]
