"""Fill the search keys and main-address keys of existing users; store employee codes in NFKC.

The rules are copied here as they were when this migration was written (``core.text.fold``,
``directory.models.reading_key`` and ``address_key``, ``core.text.nfkc``), so later changes to
them do not change what this migration did.

Existing data the new rules refuse is kept, never deleted, and the migration never fails on it:

- an employee code whose NFKC form another user of the contract already has (``Ｅ０００１``
  beside ``E0001``) stays as it was: the administrator sees both and renames one;
- a main address another user of the contract already has (in any letter case) gets no key on
  the later user (the oldest keeps it), so the unique constraint of 0011 can be made; that user
  cannot be saved with this address until one of the two gets another one, and the form says so.

Both are counted on the migration's output.
"""

import re
import unicodedata

from django.db import migrations

BATCH = 1000
_WHITESPACE = re.compile(r"\s+")


def _fold(text):
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _reading_key(furigana):
    return furigana.replace("\u3000", "").replace(" ", "")


def fill(apps, schema_editor):
    User = apps.get_model("directory", "User")
    UserEmail = apps.get_model("directory", "UserEmail")
    mains = dict(UserEmail.objects.filter(category="main").values_list("user_id", "address"))
    codes = set(User.objects.exclude(employee_code="").values_list("contract_id", "employee_code"))
    addresses = set()
    kept_codes = kept_addresses = 0
    pks = list(User.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), BATCH):
        users = list(User.objects.filter(pk__in=pks[start : start + BATCH]).order_by("pk"))
        for user in users:
            user.name_key = _fold(user.name)
            user.furigana_key = _reading_key(user.furigana)
            code = unicodedata.normalize("NFKC", user.employee_code).strip()
            if code != user.employee_code:
                if (user.contract_id, code) in codes:
                    kept_codes += 1
                else:
                    codes.discard((user.contract_id, user.employee_code))
                    codes.add((user.contract_id, code))
                    user.employee_code = code
            key = mains.get(user.pk, "").strip().casefold()
            if key and (user.contract_id, key) in addresses:
                kept_addresses += 1
                key = ""
            addresses.add((user.contract_id, key))
            user.main_address_key = key
        User.objects.bulk_update(
            users, ["name_key", "furigana_key", "employee_code", "main_address_key"]
        )
    if kept_codes or kept_addresses:
        print(
            f"\n  directory 0010: {kept_codes} employee code(s) left as they were (their NFKC"
            f" form is another user's); {kept_addresses} user(s) share a main address with an"
            " older user of their contract: give one of each pair another main address."
        )


class Migration(migrations.Migration):
    dependencies = [("directory", "0009_user_search_keys")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=False)]
