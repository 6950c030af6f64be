from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Device alerts (issue 10): detection from the device state the notifications keep current
    and from a periodic check, the alert list, the support option's alert mail and webhooks.
    Above ``android`` (it reads devices and commands); ``android`` never imports it."""

    name = "mamori.alerts"
    label = "alerts"

    def ready(self) -> None:
        from mamori.alerts import notify

        notify.register()
