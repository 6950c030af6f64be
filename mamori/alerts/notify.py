"""The mail, summary and webhook parts of the alerts app register here, from ``AlertsConfig.ready()``."""

from __future__ import annotations

from mamori.alerts import mail, summary
from mamori.alerts.webhooks import audit_actions as webhook_audit
from mamori.alerts.webhooks import services as webhooks
from mamori.core.work import periodic_job


def register() -> None:
    """Work handlers (``alerts.mail``, ``alerts.webhook``), the periodic ``alerts.summary``
    (every minute) and the webhooks' operation-log actions."""
    mail.register()
    webhooks.register()
    periodic_job(summary.JOB, every=summary.EVERY)(summary.summary_job)
    webhook_audit.audit_actions_register()
