from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "mamori.contracts"
    label = "contracts"

    def ready(self) -> None:
        from mamori.contracts import checks  # noqa: F401  (registers the system checks)
