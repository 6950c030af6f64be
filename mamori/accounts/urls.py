from django.urls import path

from mamori.accounts.views import (
    account,
    administration,
    invitation,
    login,
    schemes,
    two_factor,
)

# Mounted under /<domain>/ by mamori/panel/urls.py, in the "panel" namespace.
urlpatterns = [
    path("login/", login.contract_login, name="login"),
    path("login/verify/", two_factor.login_verify, name="login_verify"),
    path("logout/", login.logout_view, name="logout"),
    path("password/", login.password_change_required, name="password_change"),
    path("password/set/<str:token>/", invitation.password_set, name="password_set"),
    # The account's own page
    path("account/", account.account_page, name="account"),
    path("account/tokens/<int:pk>/revoke/", account.api_token_revoke, name="api_token_revoke"),
    path("account/two-factor/", two_factor.two_factor_page, name="two_factor"),
    path("account/two-factor/setup/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/disable/", two_factor.two_factor_disable, name="two_factor_disable"),
    path(
        "account/two-factor/backup-codes/",
        two_factor.backup_codes_regenerate,
        name="backup_codes_regenerate",
    ),
    # A user's Mamori account, administered from Users/Org
    path("users/<int:user_id>/account/", administration.account_edit, name="account_edit"),
    path(
        "users/<int:user_id>/account/disable/",
        administration.account_disable,
        name="account_disable",
    ),
    path(
        "users/<int:user_id>/account/enable/", administration.account_enable, name="account_enable"
    ),
    path(
        "users/<int:user_id>/account/delete/", administration.account_delete, name="account_delete"
    ),
    path(
        "users/<int:user_id>/account/tokens/", administration.account_tokens, name="account_tokens"
    ),
    path(
        "users/<int:user_id>/account/tokens/<int:token_id>/revoke/",
        administration.account_token_revoke,
        name="account_token_revoke",
    ),
    path(
        "users/<int:user_id>/account/two-factor/reset/",
        two_factor.two_factor_reset,
        name="two_factor_reset",
    ),
    # Settings
    path("settings/schemes/", schemes.schemes_list, name="schemes"),
    path("settings/schemes/new/", schemes.scheme_edit, name="scheme_new"),
    path("settings/schemes/<int:scheme_id>/", schemes.scheme_edit, name="scheme_edit"),
    path("settings/schemes/<int:scheme_id>/delete/", schemes.scheme_remove, name="scheme_delete"),
    path("settings/security/", two_factor.settings_security, name="settings_security"),
]
