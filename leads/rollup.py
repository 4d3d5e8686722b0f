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

The dashboard's pictures read two weekly rollups kept the same way (``WeeklyRollup``, at the
end): new leads by week and source (``LEAD_WEEKS``), appointments by week and status
(``APPOINTMENT_WEEKS``); ``rebuild_counts`` recomputes them too.
"""

from __future__ import annotations

from django.db import connection, transaction

from leads.models import DELETED_STATUS as DELETED
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


def _upsert(select: str, *, table: str = TABLE, key: str = KEY) -> str:
    """Add the summed ``n`` of ``select``'s keys to the rollup (``table``, keyed by ``key``:
    the lead counts by default), in key order (concurrent writers lock the rows they share in
    the same order)."""
    return (
        f"INSERT INTO {table} ({key}, n) "
        f"SELECT {key}, SUM(n) FROM ({select}) d GROUP BY {key} HAVING SUM(n) <> 0 "
        f"ORDER BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n"
    )


def _apply(select: str, *, table: str = TABLE, key: str = KEY) -> str:
    """``_upsert``, but keys whose sum is negative only update rows that are there: while a
    lead exists so do its rollup rows, and when the rollup was emptied before the leads (as a
    flush of every table may do), deleting the leads leaves no negative counts behind."""
    match = " AND ".join(f"t.{k} = d.{k}" for k in key.split(", "))
    return (
        f"WITH d AS (SELECT {key}, SUM(n) AS n FROM ({select}) x GROUP BY {key} "
        f"HAVING SUM(n) <> 0), "
        f"down AS (UPDATE {table} t SET n = t.n + d.n FROM d WHERE d.n < 0 AND {match}) "
        f"INSERT INTO {table} ({key}, n) SELECT {key}, n FROM d WHERE n > 0 ORDER BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n"
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


# --- Weekly rollups: the dashboard's pictures ------------------------------------------------
#
# Two more rollups kept the same way (triggers in the same transaction as every write), by the
# week (its Monday, in UTC) of a date column:
#
# - ``LeadWeekCount``: live leads by the week they were created and their source, under the
#   same scopes as ``LeadCount`` (so the same signed terms sum a role's view of them);
# - ``AppointmentWeekCount``: live appointments by the week they start and their status, for
#   every host (host 0) and for their host.


def week_of(column: str, vendor: str) -> str:
    """SQL for the Monday (UTC) of the week of a datetime ``column``, as a date."""
    if vendor == "postgresql":
        return f"CAST(date_trunc('week', {column} AT TIME ZONE 'UTC') AS date)"
    # SQLite keeps datetimes as UTC text: the coming Sunday (or that day), less six days.
    return f"date({column}, 'weekday 0', '-6 days')"


class WeeklyRollup:
    """A rollup of ``source``'s live rows (``live``, a condition over a row ``r``) into
    ``table``: for each of ``parts`` ((select list, condition) over ``r``, where ``{week}``
    stands for the week of ``when``) one key, counted with ``n``. ``columns`` are the columns
    of ``source`` the keys read (a change of any other leaves the counts as they are)."""

    def __init__(
        self,
        *,
        name: str,
        table: str,
        source: str,
        key: str,
        when: str,
        live: str,
        parts: tuple[tuple[str, str], ...],
        columns: tuple[str, ...],
    ) -> None:
        self.name, self.table, self.source, self.key = name, table, source, key
        self.when, self.live, self.parts, self.columns = when, live, parts, columns

    def keys_of(self, rows: str, sign: int, vendor: str) -> str:
        week = week_of(f"r.{self.when}", vendor)
        return "\nUNION ALL\n".join(
            f"SELECT {select.format(week=week)}, {sign} AS n "
            f"FROM {rows} r WHERE ({condition}) AND ({self.live})"
            for select, condition in self.parts
        )

    def _pg_install(self) -> list[str]:
        selects = {
            "INSERT": self.keys_of("new_rows", 1, "postgresql"),
            "UPDATE": self.keys_of("old_rows", -1, "postgresql")
            + "\nUNION ALL\n"
            + self.keys_of("new_rows", 1, "postgresql"),
            "DELETE": self.keys_of("old_rows", -1, "postgresql"),
        }
        statements = []
        for op, select in selects.items():
            name = f"{self.name}_{op.lower()}"
            body = _apply(select, table=self.table, key=self.key)
            statements += [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$",
                f"DROP TRIGGER IF EXISTS {name} ON {self.source}",
                f"CREATE TRIGGER {name} AFTER {op} ON {self.source} "
                f"REFERENCING {_PG_REFERENCING[op]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
            ]
        return statements

    def _pg_uninstall(self) -> list[str]:
        return [
            statement
            for op in ("insert", "update", "delete")
            for statement in (
                f"DROP TRIGGER IF EXISTS {self.name}_{op} ON {self.source}",
                f"DROP FUNCTION IF EXISTS {self.name}_{op}()",
            )
        ]

    def _row(self, prefix: str) -> str:
        return "(SELECT " + ", ".join(f"{prefix}.{c} AS {c}" for c in self.columns) + ")"

    def _sqlite_install(self) -> list[str]:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in self.columns)
        insert_new = _upsert(
            self.keys_of(self._row("NEW"), 1, "sqlite"), table=self.table, key=self.key
        )
        # A row's keys are distinct: its decrement only updates rows that are there.
        remove_old = (
            f"UPDATE {self.table} SET n = n - 1 WHERE ({self.key}) IN "
            f"(SELECT {self.key} FROM ({self.keys_of(self._row('OLD'), -1, 'sqlite')}))"
        )
        name, source = self.name, self.source
        return [
            *self._sqlite_uninstall(),
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {source} BEGIN {insert_new}; END",
            f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(self.columns)} ON {source} "
            f"WHEN {changed} BEGIN {remove_old}; {insert_new}; END",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {source} BEGIN {remove_old}; END",
        ]

    def _sqlite_uninstall(self) -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {self.name}_{op}" for op in ("insert", "update", "delete")]

    def install_statements(self, vendor: str) -> list[str]:
        return self._pg_install() if vendor == "postgresql" else self._sqlite_install()

    def uninstall_statements(self, vendor: str) -> list[str]:
        return self._pg_uninstall() if vendor == "postgresql" else self._sqlite_uninstall()

    def install_triggers(self, schema_editor) -> None:
        for statement in self.install_statements(schema_editor.connection.vendor):
            schema_editor.execute(statement)

    def uninstall_triggers(self, schema_editor) -> None:
        for statement in self.uninstall_statements(schema_editor.connection.vendor):
            schema_editor.execute(statement)

    def rebuild(self, using=None) -> int:
        """Recompute the rollup from ``source``, holding writers off as ``rebuild()`` does.
        Returns the number of rollup rows written."""
        using = using or connection
        with transaction.atomic(using=using.alias), using.cursor() as cursor:
            if using.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {self.source} IN SHARE MODE")
            cursor.execute(f"DELETE FROM {self.table}")
            select = self.keys_of(self.source, 1, using.vendor)
            cursor.execute(_upsert(select, table=self.table, key=self.key))
            cursor.execute(f"SELECT COUNT(*) FROM {self.table}")
            return cursor.fetchone()[0]


# New leads by week and source: the scopes of ``LeadCount``, without campaigns or statuses.
LEAD_WEEKS = WeeklyRollup(
    name="lead_week_count",
    table="leads_leadweekcount",
    source=LEADS,
    key="scope, user_id, week, source_id",
    when="created_at",
    live=f"r.status_id <> '{DELETED}'",
    parts=tuple(
        (
            f"{scope} AS scope, {user} AS user_id, {{week}} AS week, "
            "COALESCE(r.source_id, '') AS source_id",
            condition,
        )
        for scope, user, condition in _SCOPES
    ),
    columns=("owner_id", "assignee_id", "status_id", "source_id", "created_at"),
)

# Appointments by week and status: every host's (host 0) and their host's.
APPOINTMENT_WEEKS = WeeklyRollup(
    name="appointment_week_count",
    table="appointments_appointmentweekcount",
    source="appointments_appointment",
    key="host_id, week, status",
    when="start",
    live="r.deleted_at IS NULL",
    parts=(
        (f"{NOBODY} AS host_id, {{week}} AS week, r.status AS status", "1 = 1"),
        ("r.host_id AS host_id, {week} AS week, r.status AS status", "1 = 1"),
    ),
    columns=("host_id", "start", "status", "deleted_at"),
)
WEEKLY = (LEAD_WEEKS, APPOINTMENT_WEEKS)
