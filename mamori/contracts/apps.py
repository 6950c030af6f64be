from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "mamori.contracts"
    label = "contracts"
