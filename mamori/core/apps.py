import datetime

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "mamori.core"
    label = "core"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import pre_save

        from mamori.core.fields import lengths_guard
        from mamori.core.once import once_prune_job
        from mamori.core.work import periodic_job

        # Every model of Mamori's apps: no text longer than its column is ever saved.
        for model in apps.get_models():
            if model._meta.app_config.name.startswith("mamori."):
                pre_save.connect(
                    lengths_guard, sender=model, dispatch_uid=f"lengths:{model._meta.label}"
                )
        from mamori.core.work.services import work_prune_job, work_recover_job

        periodic_job("core.work.recover", every=_recover_every)(work_recover_job)
        periodic_job("core.work.prune", every=datetime.timedelta(hours=1))(work_prune_job)
        periodic_job("core.once.prune", every=datetime.timedelta(hours=1))(once_prune_job)


def _recover_every() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.MAMORI_WORK_RECOVER_EVERY_SECONDS)
