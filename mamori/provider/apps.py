from django.apps import AppConfig


class ProviderConfig(AppConfig):
    """The service provider's side: opening contracts (the contact person's account and the
    registration mail), suspending and resuming them — ``mamori contract …`` and ``mamori demo``."""

    name = "mamori.provider"
    label = "provider"
