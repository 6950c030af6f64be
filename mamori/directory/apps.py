from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "mamori.directory"
    label = "directory"

    def ready(self) -> None:
        from mamori.directory.audit_actions import audit_actions_register

        audit_actions_register()
