"""Account names in NFKC and one in any letter case, before the unique index of 0008 holds it.

The rule is copied here as it was when this migration was written (``accounts.names``): NFKC
without surrounding spaces, compared case-folded. Existing accounts are never deleted and the
migration never fails on them:

- a name whose NFKC form is free (``ａｄｍｉｎ`` alone) becomes that form (it logs in as typed
  before: logins are normalised the same way);
- of names that are one in another letter case or width (``Admin`` and ``admin`` in one
  contract), the oldest account keeps its name and each later one becomes ``<name>-<id>``; the
  migration's output lists them so the administrator can tell those people their new name.

Names outside the new character set (a Japanese name, say) are kept: they log in and can be
saved unchanged; only a new name must follow the rule.
"""

import unicodedata

from django.db import migrations

NAME_MAX = 150


def _free_variant(name, pk, taken, contract_id):
    n = 0
    while True:
        suffix = f"-{pk}" if n == 0 else f"-{pk}-{n}"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if (contract_id, candidate.casefold()) not in taken:
            return candidate
        n += 1


def normalise(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    accounts = list(Account.objects.order_by("pk").values_list("pk", "contract_id", "name"))
    # Every name's key first: a later account's name that is already free stays as it is.
    taken = set()
    renamed = []
    for pk, contract_id, name in accounts:
        wanted = unicodedata.normalize("NFKC", name).strip()[:NAME_MAX] or name
        if (contract_id, wanted.casefold()) in taken:
            wanted = _free_variant(wanted, pk, taken | _keys(accounts), contract_id)
            renamed.append((contract_id, name, wanted))
        taken.add((contract_id, wanted.casefold()))
        if wanted != name:
            Account.objects.filter(pk=pk).update(name=wanted)
    if renamed:
        print(f"\n  accounts 0007: {len(renamed)} account name(s) were another's in another case:")
        for contract_id, old, new in renamed:
            print(f"    contract {contract_id}: {old!r} is now {new!r}")


def _keys(accounts):
    return {(contract_id, name.casefold()) for _pk, contract_id, name in accounts}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_account_language_default")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop, elidable=False)]
