from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "mamori.support"
    label = "support"
