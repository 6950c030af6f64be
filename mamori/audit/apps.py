import datetime

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "mamori.audit"
    label = "audit"

    def ready(self) -> None:
        from mamori.core.access import catalogue

        catalogue.register(
            "logs", _("Operation log"), {"view": _("View"), "export": _("Export CSV")}
        )

        from mamori.audit import (
            checks,  # noqa: F401  (registers the audit key's checks)
            retention,
            work,
        )
        from mamori.audit.audit_actions import audit_actions_register
        from mamori.core.work import Retry, periodic_job, work_handler

        audit_actions_register()
        every = datetime.timedelta(minutes=settings.MAMORI_AUDIT_CHECKPOINT_MINUTES)
        periodic_job(work.CHECKPOINT_JOB, every=every)(work.checkpoint_job)
        periodic_job(retention.JOB, every=retention.EVERY)(work.retention_job)
        periodic_job(work.PARTITIONS_JOB, every=datetime.timedelta(days=1))(work.partitions_job)
        # Up to a day of retries: an operator's collector may be down for a while.
        work_handler(work.WEBHOOK, retry=Retry(base=30, cap=3600, max_attempts=30))(
            work.checkpoint_webhook_post
        )
