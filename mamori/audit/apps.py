from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mamori.audit"
    label = "audit"

    def ready(self) -> None:
        from mamori.audit import checks  # noqa: F401  (registers the audit key's checks)
