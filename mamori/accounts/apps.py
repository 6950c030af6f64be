import datetime

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mamori.accounts"
    label = "accounts"

    def ready(self) -> None:
        from mamori.accounts import permissions

        permissions.register()

        from mamori.accounts import work
        from mamori.core.work import actor_loader, periodic_job

        actor_loader(work.actor_load)
        periodic_job("accounts.login_failures.prune", every=datetime.timedelta(minutes=15))(
            work.login_failures_prune
        )

        from mamori.accounts.audit_actions import audit_actions_register

        audit_actions_register()
