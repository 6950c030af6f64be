from django.db import migrations


class Migration(migrations.Migration):
    """UserImport moved to the users_csv app; its table (directory_userimport) stays as it is."""

    dependencies = [
        ("directory", "0007_organization_name_unique"),
        ("users_csv", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UserImport")]
        ),
    ]
