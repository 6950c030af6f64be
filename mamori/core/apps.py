import datetime

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "mamori.core"
    label = "core"

    def ready(self) -> None:
        from mamori.core.once import once_prune_job
        from mamori.core.work import periodic_job
        from mamori.core.work.services import work_prune_job, work_recover_job

        periodic_job("core.work.recover", every=_recover_every)(work_recover_job)
        periodic_job("core.work.prune", every=datetime.timedelta(hours=1))(work_prune_job)
        periodic_job("core.once.prune", every=datetime.timedelta(hours=1))(once_prune_job)


def _recover_every() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.MAMORI_WORK_RECOVER_EVERY_SECONDS)
