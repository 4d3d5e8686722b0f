"""``Lead.last_activity_at``: the time of the lead's latest timeline event, kept by the
database itself (a trigger on every insert into the events table, whatever the path: single
services, batch inserts, COPY), in the same transaction as the event.

Only inserts move it, and only forward: a merge, which moves the other lead's events onto the
kept lead, then records a merge event on it, newer than any it moved.

It lets "recent activity on my leads" start from the user's own leads, newest activity first
(an index per owner and per assignee), instead of walking every user's events until ten of
the user's turn up: the latest ten events on a set of leads all belong to the ten leads with
the latest activity.
"""

from __future__ import annotations

EVENTS, LEADS = "leads_event", "leads_lead"

POSTGRESQL = [
    f"""CREATE FUNCTION lead_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {LEADS} AS l SET last_activity_at = n.latest
    FROM (SELECT lead_id, max(created_at) AS latest FROM new_events GROUP BY lead_id) AS n
    WHERE l.id = n.lead_id AND l.last_activity_at < n.latest;
    RETURN NULL;
END $$""",
    f"CREATE TRIGGER lead_activity AFTER INSERT ON {EVENTS} REFERENCING NEW TABLE AS new_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_activity()",
]
POSTGRESQL_DROP = [
    f"DROP TRIGGER IF EXISTS lead_activity ON {EVENTS}",
    "DROP FUNCTION IF EXISTS lead_activity()",
]
SQLITE = [
    f"CREATE TRIGGER lead_activity AFTER INSERT ON {EVENTS} BEGIN "
    f"UPDATE {LEADS} SET last_activity_at = NEW.created_at "
    "WHERE id = NEW.lead_id AND last_activity_at < NEW.created_at; END"
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS lead_activity"]
# The first fill: each lead's latest event (or its creation).
BACKFILL = (
    f"UPDATE {LEADS} SET last_activity_at = COALESCE("
    f"(SELECT max(e.created_at) FROM {EVENTS} e WHERE e.lead_id = {LEADS}.id), created_at)"
)


def install(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRESQL if vendor == "postgresql" else SQLITE:
        schema_editor.execute(sql)
    schema_editor.execute(BACKFILL)


def uninstall(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRESQL_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)
