from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mamori.accounts"
    label = "accounts"

    def ready(self) -> None:
        from mamori.accounts import permissions

        permissions.register()
