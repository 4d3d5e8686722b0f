"""On PostgreSQL, the leads search tests one text per lead (``leads.selectors.SearchText``: the
name, email, phone and company with a space between them) instead of each column, so one
trigram index over that text replaces the five of migration 0005: a rare term is found in one
index instead of five, and each insert writes one index instead of five. The expression is
the SQL Django writes for the search (``UPPER((...)::text) LIKE '%TERM%'``); PostgreSQL uses
the index only while the two are the same.

Built and dropped CONCURRENTLY (so outside a transaction): on a large table the build takes a
while, and writes to the leads go on meanwhile."""

from django.db import migrations

OLD_COLUMNS = ["first_name", "last_name", "email", "phone", "company"]
SEARCH_TEXT = " || ' ' || ".join(f'"{column}"' for column in OLD_COLUMNS)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # A build that was stopped leaves an invalid index, which IF NOT EXISTS would keep.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('lead_search_trgm') "
            "AND NOT indisvalid"
        )
        if cursor.fetchone():
            schema_editor.execute("DROP INDEX CONCURRENTLY lead_search_trgm")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_search_trgm ON leads_lead "
        f"USING gin (UPPER(({SEARCH_TEXT})::text) gin_trgm_ops)"
    )
    for column in OLD_COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS lead_{column}_trgm")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in OLD_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_{column}_trgm ON leads_lead "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_search_trgm")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0015_fewer_lead_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
