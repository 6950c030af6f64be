from django.tasks import task

from mamori.outbox.tasks import deliver_mail


@task()
def invitation_deliveries_enqueue(mail_ids: list[int]) -> int:
    """Queue each invitation mail's own delivery task (retried on its own), so that an import of
    thousands of accounts queues a handful of tasks, not one per account, while it commits."""
    for mail_id in mail_ids:
        deliver_mail.enqueue(mail_id)
    return len(mail_ids)
