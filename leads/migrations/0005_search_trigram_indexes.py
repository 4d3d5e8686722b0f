"""On PostgreSQL, the leads search (a case-insensitive "contains" over name, email, phone and
company) uses trigram indexes instead of reading every lead. The expressions match the SQL
Django writes for ``icontains`` (``UPPER(col::text) LIKE UPPER('%term%')``). SQLite has no
trigram indexes; there the search reads the table, which stays correct."""

from django.db import migrations

COLUMNS = ["first_name", "last_name", "email", "phone", "company"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS lead_{column}_trgm ON leads_lead "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS lead_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_lead_import")]
    operations = [migrations.RunPython(forwards, backwards)]
