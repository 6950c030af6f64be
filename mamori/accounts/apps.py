from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mamori.accounts"
    label = "accounts"

    def ready(self) -> None:
        from mamori.accounts.audit_actions import audit_actions_register

        audit_actions_register()
