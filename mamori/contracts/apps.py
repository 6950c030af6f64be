from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "mamori.contracts"
    label = "contracts"

    def ready(self) -> None:
        from mamori.contracts.audit_actions import audit_actions_register

        audit_actions_register()
