from django.apps import AppConfig


class ProviderConfig(AppConfig):
    """The service provider's side: opening contracts (the contact person's account and the
    registration mail), suspending and resuming them — ``mamori contract …`` and ``mamori demo``."""

    name = "mamori.provider"
    label = "provider"

    def ready(self) -> None:
        from mamori.provider.audit_actions import audit_actions_register

        audit_actions_register()
