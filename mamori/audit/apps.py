from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "mamori.audit"
    label = "audit"

    def ready(self) -> None:
        from mamori.core.access import catalogue

        catalogue.register(
            "logs", _("Operation log"), {"view": _("View"), "export": _("Export CSV")}
        )

        from mamori.audit import checks  # noqa: F401  (registers the audit key's checks)
