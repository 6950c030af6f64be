"""Triggers that raise the contract's "organizations" version (``contracts.versions``) with every
change to its organizations: names, places, order and user counts, from any writer.

PostgreSQL: deferred constraint triggers, so the counter's row is locked only at commit, after
every other lock of the transaction (an immediate trigger, locking it at the first change,
could deadlock two writers that then update each other's organizations' user counts). An
update that changes nothing raises nothing. SQLite: plain triggers (its writers take turns).
"""

from django.db import migrations

_BUMP = (
    "INSERT INTO contracts_dataversion (contract_id, kind, version) VALUES ({row}.contract_id, "
    "'organizations', 1) ON CONFLICT (contract_id, kind) "
    "DO UPDATE SET version = contracts_dataversion.version + 1"
)

POSTGRESQL = [
    f"""
    CREATE FUNCTION directory_organizations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            {_BUMP.format(row="OLD")};
        ELSE
            {_BUMP.format(row="NEW")};
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER organizations_version_insert_delete
    AFTER INSERT OR DELETE ON directory_organization DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION directory_organizations_changed()
    """,
    """
    CREATE CONSTRAINT TRIGGER organizations_version_update
    AFTER UPDATE ON directory_organization DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION directory_organizations_changed()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER organizations_version_update ON directory_organization",
    "DROP TRIGGER organizations_version_insert_delete ON directory_organization",
    "DROP FUNCTION directory_organizations_changed()",
]

SQLITE = [
    f"""
    CREATE TRIGGER organizations_version_{event.lower()} AFTER {event} ON directory_organization
    FOR EACH ROW BEGIN {_BUMP.format(row=row)}; END
    """
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
]
SQLITE_REVERSE = [
    f"DROP TRIGGER organizations_version_{event}" for event in ("insert", "update", "delete")
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise NotImplementedError(f"No organizations version triggers for {vendor}.")
        for sql in statements[vendor]:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_data_version"),
        ("directory", "0012_organization_position_user_sorts"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
