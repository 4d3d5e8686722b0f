"""On PostgreSQL the search's folded text is stored: a generated column ``search_folded``
(``crm_lead_search(...)`` of migration 0023, computed once when a lead is written) with its
trigram index ``lead_search_column_trgm``, which replaces 0023's expression index.

Reading the expression index's text back for each candidate row called ``crm_lead_search``
(unaccent and three regexp_replace) again, about 7.6 µs a row against 0.35 µs for a stored
column: a search walking a few hundred leads, and the list's bounded count, paid for it on
every request (bench/scale.py: the search cases fell from 30-47 % of the yardstick to 10-33 %).
The column is not a field of the model: the database fills it, and nothing but the search
(``leads.selectors.SearchText``) reads it. SQLite keeps computing the text in Python.

Adding the column rewrites the table once (under a lock, about as long as a copy of the
table); the index is built CONCURRENTLY before the old one is dropped."""

from django.db import migrations

WORDS = ("first_name", "last_name", "email", "company", "city")
PHONES = ("phone", "mobile_phone", "office_phone")
ARGUMENTS = ", ".join(f'"{column}"' for column in WORDS + PHONES)


def _drop_if_invalid(schema_editor, name):
    """A build that was stopped leaves an invalid index, which IF NOT EXISTS would keep."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid",
            [name],
        )
        if cursor.fetchone():
            schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE leads_lead ADD COLUMN IF NOT EXISTS search_folded text "
        f"GENERATED ALWAYS AS (crm_lead_search({ARGUMENTS})) STORED"
    )
    _drop_if_invalid(schema_editor, "lead_search_column_trgm")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_search_column_trgm ON leads_lead "
        "USING gin (search_folded gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_search_folded_trgm")
    # The new column's statistics, without which the planner guesses how many leads a word
    # matches and reads the index for a common one instead of walking the newest leads.
    schema_editor.execute("ANALYZE leads_lead (search_folded)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _drop_if_invalid(schema_editor, "lead_search_folded_trgm")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_search_folded_trgm ON leads_lead "
        f"USING gin (crm_lead_search({ARGUMENTS}) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_search_column_trgm")
    schema_editor.execute("ALTER TABLE leads_lead DROP COLUMN IF EXISTS search_folded")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0023_lead_search_folded")]
    operations = [migrations.RunPython(forwards, backwards)]
