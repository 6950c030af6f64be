from django.db import migrations, models


class Migration(migrations.Migration):
    """The columns searches and the one-main-address-per-contract rule compare (filled by 0010)."""

    dependencies = [
        ("contracts", "0002_contract_require_two_factor"),
        ("directory", "0008_userimport_moved_to_users_csv"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="furigana_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="user",
            name="main_address_key",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="user",
            name="name_key",
            field=models.TextField(blank=True, default="", editable=False),
        ),
    ]
