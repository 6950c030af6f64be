from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "mamori.panel"
    label = "panel"
