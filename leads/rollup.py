"""Lead counts that do not read the leads table: a rollup kept by the database itself.

``LeadCount`` holds, for every combination of scope, user, campaign, status and source that
some lead has, how many leads have it. Database triggers on ``leads_lead`` keep it in the same
transaction as every write, whatever the path (the ORM, the batch COPY and UPDATE ... FROM
unnest() of ``leads.bulk``, the admin, imports, raw SQL): on PostgreSQL one statement-level
trigger per operation folds the whole statement's rows into a few upserts; on SQLite row
triggers do the same per row.

Each lead is counted under several scopes, so that every role's view of the table is a sum of
at most a few dozen rollup rows:

- ``ALL``: every lead (user 0);
- ``OWNER``: its owner (user 0 for the unowned pool);
- ``ASSIGNEE``: its assignee, when it has one;
- ``OWNER_ASSIGNEE``: its owner, when the owner is also the assignee;
- ``POOL_ASSIGNEE``: its assignee, when nobody owns it.

and under campaign 0 (any campaign) plus its own campaign when it has one. Deleted leads are
counted under the status ``deleted``; readers leave that status out.

``rebuild()`` recomputes the rollup from the leads (``manage.py rebuild_counts``).
"""

from __future__ import annotations

from django.db import connection, transaction

from leads.models import LeadCount

TABLE = "leads_leadcount"
LEADS = "leads_lead"

Scope = LeadCount.Scope
ALL, OWNER, ASSIGNEE = Scope.ALL.value, Scope.OWNER.value, Scope.ASSIGNEE.value
OWNER_ASSIGNEE, POOL_ASSIGNEE = Scope.OWNER_ASSIGNEE.value, Scope.POOL_ASSIGNEE.value
NOBODY = 0  # the user of the ALL scope, and the owner of the unowned pool
ANY_CAMPAIGN = 0

# (scope, user, condition) over a lead row ``r``; and (campaign, condition).
_SCOPES = (
    (ALL, f"{NOBODY}", "1 = 1"),
    (OWNER, f"COALESCE(r.owner_id, {NOBODY})", "1 = 1"),
    (ASSIGNEE, "r.assignee_id", "r.assignee_id IS NOT NULL"),
    (OWNER_ASSIGNEE, "r.owner_id", "r.owner_id = r.assignee_id"),
    (POOL_ASSIGNEE, "r.assignee_id", "r.owner_id IS NULL AND r.assignee_id IS NOT NULL"),
)
_CAMPAIGNS = ((f"{ANY_CAMPAIGN}", "1 = 1"), ("r.campaign_id", "r.campaign_id IS NOT NULL"))
KEY = "scope, user_id, campaign_id, status_id, source_id"


def keys_of(rows: str, sign: int) -> str:
    """A SELECT of ``(KEY..., n)`` rows: every rollup key each lead of ``rows`` (a table or a
    subquery with the lead columns, aliased ``r``) counts under, with ``sign``."""
    parts = [
        f"SELECT {scope} AS scope, {user} AS user_id, {campaign} AS campaign_id, "
        f"r.status_id AS status_id, COALESCE(r.source_id, '') AS source_id, {sign} AS n "
        f"FROM {rows} r WHERE ({condition}) AND ({campaign_condition})"
        for scope, user, condition in _SCOPES
        for campaign, campaign_condition in _CAMPAIGNS
    ]
    return "\nUNION ALL\n".join(parts)


def _upsert(select: str) -> str:
    """Add the summed ``n`` of ``select``'s keys to the rollup, in key order (concurrent
    writers lock the rows they share in the same order)."""
    return (
        f"INSERT INTO {TABLE} ({KEY}, n) "
        f"SELECT {KEY}, SUM(n) FROM ({select}) d GROUP BY {KEY} HAVING SUM(n) <> 0 "
        f"ORDER BY {KEY} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = {TABLE}.n + excluded.n"
    )


def _apply(select: str) -> str:
    """``_upsert``, but keys whose sum is negative only update rows that are there: while a
    lead exists so do its rollup rows, and when the rollup was emptied before the leads (as a
    flush of every table may do), deleting the leads leaves no negative counts behind."""
    match = " AND ".join(f"t.{k} = d.{k}" for k in KEY.split(", "))
    return (
        f"WITH d AS (SELECT {KEY}, SUM(n) AS n FROM ({select}) x GROUP BY {KEY} "
        f"HAVING SUM(n) <> 0), "
        f"down AS (UPDATE {TABLE} t SET n = t.n + d.n FROM d WHERE d.n < 0 AND {match}) "
        f"INSERT INTO {TABLE} ({KEY}, n) SELECT {KEY}, n FROM d WHERE n > 0 ORDER BY {KEY} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = {TABLE}.n + excluded.n"
    )


COLUMNS = ("owner_id", "assignee_id", "campaign_id", "status_id", "source_id")

# --- PostgreSQL: one statement-level trigger per operation, over its transition tables -----

_PG_FUNCTIONS = {
    "INSERT": keys_of("new_rows", 1),
    "UPDATE": keys_of("old_rows", -1) + "\nUNION ALL\n" + keys_of("new_rows", 1),
    "DELETE": keys_of("old_rows", -1),
}
_PG_REFERENCING = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def _pg_install() -> list[str]:
    statements = []
    for op, select in _PG_FUNCTIONS.items():
        name = f"lead_count_{op.lower()}"
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_apply(select)}; RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {LEADS}",
            f"CREATE TRIGGER {name} AFTER {op} ON {LEADS} REFERENCING {_PG_REFERENCING[op]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def _pg_uninstall() -> list[str]:
    return [
        statement
        for op in _PG_FUNCTIONS
        for statement in (
            f"DROP TRIGGER IF EXISTS lead_count_{op.lower()} ON {LEADS}",
            f"DROP FUNCTION IF EXISTS lead_count_{op.lower()}()",
        )
    ]


# --- SQLite: row triggers --------------------------------------------------------------------


def _row(prefix: str) -> str:
    return "(SELECT " + ", ".join(f"{prefix}.{c} AS {c}" for c in COLUMNS) + ")"


def _sqlite_install() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
    insert_new = _upsert(keys_of(_row("NEW"), 1))
    # A row's keys are distinct: its decrement only updates rows that are there (see _apply).
    remove_old = (
        f"UPDATE {TABLE} SET n = n - 1 WHERE ({KEY}) IN "
        f"(SELECT {KEY} FROM ({keys_of(_row('OLD'), -1)}))"
    )
    return [
        *_sqlite_uninstall(),
        f"CREATE TRIGGER lead_count_insert AFTER INSERT ON {LEADS} BEGIN {insert_new}; END",
        f"CREATE TRIGGER lead_count_update AFTER UPDATE OF {', '.join(COLUMNS)} ON {LEADS} "
        f"WHEN {changed} BEGIN {remove_old}; {insert_new}; END",
        f"CREATE TRIGGER lead_count_delete AFTER DELETE ON {LEADS} BEGIN {remove_old}; END",
    ]


def _sqlite_uninstall() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS lead_count_{op}" for op in ("insert", "update", "delete")]


def install_statements(vendor: str) -> list[str]:
    return _pg_install() if vendor == "postgresql" else _sqlite_install()


def uninstall_statements(vendor: str) -> list[str]:
    return _pg_uninstall() if vendor == "postgresql" else _sqlite_uninstall()


def install_triggers(schema_editor) -> None:
    """(Re)create the triggers; a migration calls it whenever their SQL changes."""
    for statement in install_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def uninstall_triggers(schema_editor) -> None:
    for statement in uninstall_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def rebuild(using=None) -> int:
    """Recompute the whole rollup from the leads, in one transaction that holds writers off
    (PostgreSQL: a SHARE lock on the leads table; SQLite: its write lock). Returns the number
    of rollup rows written."""
    using = using or connection
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        if using.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {LEADS} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(_upsert(keys_of(LEADS, 1)))
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        return cursor.fetchone()[0]
