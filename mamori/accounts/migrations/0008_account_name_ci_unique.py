import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """An account name is one in any letter case: a functional unique index decides."""

    dependencies = [
        ("accounts", "0007_account_names_normalise"),
        ("contracts", "0002_contract_require_two_factor"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="account",
            name="account_name_unique_in_contract",
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                models.F("contract"),
                django.db.models.functions.text.Lower("name"),
                name="account_name_ci_unique_in_contract",
            ),
        ),
    ]
