from django.tasks import task

from mamori.outbox.services import mail_deliver


@task()
def deliver_mail(mail_id: int) -> str:
    return mail_deliver(mail_id)
