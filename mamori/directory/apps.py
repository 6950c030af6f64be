from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "mamori.directory"
    label = "directory"

    def ready(self) -> None:
        from mamori.core.work import work_handler
        from mamori.directory import services_csv as csv

        for kind, handler in ((csv.CHECK, csv.user_import_check), (csv.RUN, csv.user_import_run)):
            work_handler(kind, retry=csv.RETRY, on_failure=csv.user_import_failed)(handler)
