from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "mamori.outbox"
    label = "outbox"

    def ready(self) -> None:
        from mamori.core.work import work_handler
        from mamori.outbox import services

        work_handler(services.DELIVER, retry=services.RETRY, on_failure=services.mail_failed)(
            services.mail_deliver
        )
