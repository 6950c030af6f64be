"""Imports being checked or imported are handed to the durable-work layer.

Their tasks (``mamori.directory.tasks``) no longer exist; each gets the work row that does its
step now, acting for the account that asked (kept until now in ``summary["actor"]``). The
recovery job queues them: they are due.
"""

from django.db import migrations

STEPS = {"checking": "users.import.check", "running": "users.import.run"}


def forwards(apps, schema_editor):
    UserImport = apps.get_model("directory", "UserImport")
    Work = apps.get_model("core", "Work")
    for user_import in UserImport.objects.filter(status__in=list(STEPS)).iterator():
        summary = dict(user_import.summary)
        asked = summary.pop("actor", {})
        if user_import.account_id is None and asked.get("kind") not in ("operator", "system"):
            summary["error"] = (
                "The account that started this import is disabled or deleted; "
                "nothing was imported."
            )
            UserImport.objects.filter(pk=user_import.pk).update(
                status="failed", summary=summary, content=""
            )
            continue
        Work.objects.create(
            kind=STEPS[user_import.status],
            payload={"import": user_import.pk},
            contract_id=user_import.contract_id,
            actor={
                "account": user_import.account_id,
                "kind": asked.get("kind", "account"),
                "ip": asked.get("ip"),
                "user_agent": asked.get("user_agent", ""),
                "request_id": asked.get("request_id", ""),
            },
        )
        UserImport.objects.filter(pk=user_import.pk).update(summary=summary)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("directory", "0005_organization_user_count"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
