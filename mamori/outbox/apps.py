from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "mamori.outbox"
    label = "outbox"
