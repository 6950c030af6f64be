from django.urls import include, path

from mamori.accounts import views as accounts
from mamori.audit import views as audit
from mamori.panel import views as panel

app_name = "panel"

# Every pattern here is mounted under /<domain>/; ContractMiddleware resolves it.
urlpatterns = [
    path("", panel.home, name="home"),
    path("login/", accounts.contract_login, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("password/", accounts.password_change_required, name="password_change"),
    path("account/", accounts.account_page, name="account"),
    path("account/tokens/<int:pk>/revoke/", accounts.api_token_revoke, name="api_token_revoke"),
    path("logs/", audit.log_list, name="logs"),
    path("logs/export.csv", audit.log_export, name="logs_export"),
    path("logs/<int:pk>/", audit.log_detail, name="log_detail"),
    path("settings/", panel.settings_basic, name="settings"),
    path("settings/schemes/", panel.schemes_list, name="schemes"),
    path("settings/schemes/new/", panel.scheme_edit, name="scheme_new"),
    path("settings/schemes/<int:scheme_id>/", panel.scheme_edit, name="scheme_edit"),
    path("settings/schemes/<int:scheme_id>/delete/", panel.scheme_remove, name="scheme_delete"),
    path("", include("mamori.directory.urls")),
    path("", include("mamori.directory.urls_csv")),
    path("", include("mamori.accounts.urls_invitation")),
    path("", include("mamori.accounts.urls_two_factor")),
    path("", include("mamori.support.urls")),
]
