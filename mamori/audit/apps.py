from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mamori.audit"
    label = "audit"
