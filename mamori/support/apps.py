from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "mamori.support"
    label = "support"

    def ready(self) -> None:
        from mamori.support.audit_actions import audit_actions_register

        audit_actions_register()
