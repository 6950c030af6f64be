from django.tasks import task

from mamori.directory.services_csv import user_import_check, user_import_run


@task()
def user_import_check_task(import_id: int) -> str:
    return user_import_check(import_id=import_id)


@task()
def user_import_run_task(import_id: int) -> str:
    return user_import_run(import_id=import_id)
