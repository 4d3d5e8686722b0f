"""On PostgreSQL the database itself refuses two overlapping blocking appointments of one host
(an exclusion constraint over the time range). SQLite has no such constraint; there the
service's check runs in a serialized (IMMEDIATE) transaction instead."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE appointments_appointment ADD CONSTRAINT appointment_no_overlap
    EXCLUDE USING gist (host_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    WHERE (deleted_at IS NULL AND status <> 'cancelled');
"""
DROP = "ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
