from django.db import migrations, models


class Migration(migrations.Migration):
    """The furigana prefix search moves to the space-less key; one main address per contract."""

    dependencies = [("directory", "0010_user_search_keys_fill")]

    operations = [
        migrations.RemoveIndex(model_name="user", name="user_furigana_prefix"),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                fields=["contract", "furigana_key"],
                name="user_furigana_key_prefix",
                opclasses=["", "varchar_pattern_ops"],
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("main_address_key", ""), _negated=True),
                fields=("contract", "main_address_key"),
                name="user_main_address_unique_in_contract",
            ),
        ),
    ]
