"""PostgreSQL: rate counters need no write-ahead log (crm.ratelimit). A commit that touched
only them waits for no disk; a crash empties the table, which only resets the counts."""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("crm", "RateCounter")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("crm", "RateCounter")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_partner_apis")]

    operations = [migrations.RunPython(unlogged, logged)]
