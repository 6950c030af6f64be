from django.urls import include, path

from mamori.audit import views as audit
from mamori.panel import views as panel

app_name = "panel"

# Every pattern here is mounted under /<domain>/; ContractMiddleware resolves it.
urlpatterns = [
    path("", panel.home, name="home"),
    path("settings/", panel.settings_basic, name="settings"),
    path("settings/log/", audit.log_settings, name="log_settings"),
    path("logs/", audit.log_list, name="logs"),
    path("logs/export.csv", audit.log_export, name="logs_export"),
    path("logs/<int:pk>/", audit.log_detail, name="log_detail"),
    path("", include("mamori.accounts.urls")),
    path("", include("mamori.directory.urls")),
    path("", include("mamori.users_csv.urls")),
    path("", include("mamori.support.urls")),
    path("", include("mamori.android.urls")),
    path("", include("mamori.alerts.urls")),
    path("", include("mamori.alerts.webhooks.urls")),
]
