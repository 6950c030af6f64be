"""Mail still waiting is handed to the durable-work layer: one ``mail.deliver`` work row each.

Tasks queued by the old outbox (``mamori.outbox.tasks.deliver_mail``) no longer import and fail
harmlessly; the recovery job queues the new work rows, which are due.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    OutboundMail = apps.get_model("outbox", "OutboundMail")
    Work = apps.get_model("core", "Work")
    system = {"account": None, "kind": "system", "ip": None, "user_agent": "", "request_id": ""}
    for mail in OutboundMail.objects.filter(status="pending", work__isnull=True).iterator():
        mail.work = Work.objects.create(
            kind="mail.deliver",
            payload={},
            contract_id=mail.contract_id,
            status="pending",
            attempts=mail.attempts,
            next_attempt_at=mail.next_attempt_at,
            last_error=mail.last_error,
            actor=system,
            created_at=mail.created_at,
        )
        mail.save(update_fields=["work"])


def backwards(apps, schema_editor):
    OutboundMail = apps.get_model("outbox", "OutboundMail")
    for mail in OutboundMail.objects.filter(work__isnull=False).select_related("work"):
        work = mail.work
        mail.status = "sent" if mail.sent_at else "pending"
        mail.attempts, mail.last_error = work.attempts, work.last_error
        mail.next_attempt_at = work.next_attempt_at
        mail.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("outbox", "0002_work"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
