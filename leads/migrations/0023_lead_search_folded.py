"""On PostgreSQL, the leads search forgives accents and phone formats (``leads.search``): it
reads ``crm_lead_search(...)``, an immutable SQL function of the lead's name, email, company,
city (``unaccent``-ed and upper-cased) and phone numbers (digits only), and one trigram index
over it (``lead_search_folded_trgm``) replaces 0016's ``lead_search_trgm``. The function is
what ``leads.search.lead_search_text`` computes on SQLite; the index expression is the SQL
Django writes for ``leads.selectors.SearchText``, and PostgreSQL uses the index only while the
two are the same.

``unaccent`` is a trusted extension: the database's owner installs it without being a
superuser. Its function is only STABLE (it reads a dictionary), so ``crm_lead_search`` names
the dictionary explicitly and is declared IMMUTABLE, the usual way to index it.

The index is built before the old one is dropped, both CONCURRENTLY (so outside a
transaction): the search stays indexed throughout, and writes go on."""

from django.db import migrations

WORDS = ("first_name", "last_name", "email", "company", "city")
PHONES = ("phone", "mobile_phone", "office_phone")
ARGUMENTS = ", ".join(f'"{column}"' for column in WORDS + PHONES)

FUNCTION = """
CREATE OR REPLACE FUNCTION crm_lead_search(
    text, text, text, text, text, text, text, text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT upper(public.unaccent(
               'public.unaccent'::regdictionary,
               $1 || ' ' || $2 || ' ' || $3 || ' ' || $4 || ' ' || $5))
        || ' ' || regexp_replace($6, '[^0-9]+', '', 'g')
        || ' ' || regexp_replace($7, '[^0-9]+', '', 'g')
        || ' ' || regexp_replace($8, '[^0-9]+', '', 'g')
$$
"""

OLD_COLUMNS = ["first_name", "last_name", "email", "phone", "company"]
OLD_SEARCH_TEXT = " || ' ' || ".join(f'"{column}"' for column in OLD_COLUMNS)


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
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
    schema_editor.execute(FUNCTION)
    _drop_if_invalid(schema_editor, "lead_search_folded_trgm")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_search_folded_trgm ON leads_lead "
        f"USING gin (crm_lead_search({ARGUMENTS}) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_search_trgm")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _drop_if_invalid(schema_editor, "lead_search_trgm")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_search_trgm ON leads_lead "
        f"USING gin (UPPER(({OLD_SEARCH_TEXT})::text) gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_search_folded_trgm")
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS crm_lead_search(text, text, text, text, text, text, text, text)"
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0022_event_note_restored")]
    operations = [migrations.RunPython(forwards, backwards)]
