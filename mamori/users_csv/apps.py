from django.apps import AppConfig


class UsersCsvConfig(AppConfig):
    """CSV import and export of users with their Mamori accounts (Users/Org → Import / Export).

    Above both ``directory`` and ``accounts``: a file writes users, organizations and accounts."""

    name = "mamori.users_csv"
    label = "users_csv"

    def ready(self) -> None:
        from mamori.users_csv.audit_actions import audit_actions_register

        audit_actions_register()

        from mamori.core.work import work_handler
        from mamori.users_csv import services

        for kind, handler in (
            (services.CHECK, services.user_import_check),
            (services.RUN, services.user_import_run),
        ):
            work_handler(kind, retry=services.RETRY, on_failure=services.user_import_failed)(
                handler
            )
