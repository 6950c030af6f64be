"""The operation log partitioned by month on PostgreSQL (``mamori.audit.partitions``).

The model does not change (Django keeps ``id`` as the primary key and ``(contract, seq)``
unique): on PostgreSQL the table becomes ``PARTITION BY RANGE (created_at)`` with the primary
key ``(id, created_at)`` and the chain's uniqueness ``(contract_id, seq, created_at)``, as
PostgreSQL requires the partition key in both. Nothing happens on SQLite. Going back leaves the
table partitioned, which the earlier migrations' model reads and writes alike.
"""

from django.db import migrations


def partition(apps, schema_editor):
    from mamori.audit.partitions import log_table_partition

    log_table_partition(schema_editor, apps.get_model("audit", "LogEntry"))


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_log_retention")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
