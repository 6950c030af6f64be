from django.apps import AppConfig


class AmapiConfig(AppConfig):
    """The AMAPI gateway: its only models are the deployment-wide limiter's counters."""

    name = "mamori.android.amapi"
    label = "amapi"
    verbose_name = "AMAPI gateway"
