"""Through PgBouncer in transaction pooling mode (``make test-pgbouncer``, .ci/run's third run),
what it could break: each transaction of a client may run on another server connection, so
nothing may outlive a transaction on the server (a session's advisory lock, a cursor kept open
between transactions, a session setting). The statements really go through PgBouncer; the
time zone Django sets stays with its client; a booking's per-host lock holds for its
transaction and ends with it; the CSV export reads every row although another client takes
the server connection it started on (it reads without a server-side cursor, which would be
lost there, as the last test shows).

Run only where TEST_PGBOUNCER names a PgBouncer (tests/pgbouncer.py); .ci/run sets it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import CONFLICT, appointment_create
from crm.domain import Actor, RuleViolation
from crm.roles import Role
from leads.bulk import LeadInput, leads_create_many
from tests import pgbouncer
from tests.factories import LeadFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not pgbouncer.ADDRESS, reason="TEST_PGBOUNCER names no PgBouncer"),
    # Real transactions in autocommit, as the app runs them; serialized_rollback brings back
    # the statuses and sources the flush after each test drops.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EXPORT_CHUNK = 2000  # the export's rows per fetch (leads.selectors.lead_export_rows)


def in_thread(work, *args):
    """``work(*args)`` in a thread with its own database connection (closed at its end);
    returns the thread and a dict that gets ``result`` or ``error``."""
    out: dict = {}

    def run():
        try:
            out["result"] = work(*args)
        except Exception as error:  # handed to the test, which asserts on it
            out["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wait_until(condition, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Not seen within {seconds} s: {what}")
        time.sleep(0.05)


def advisory_locks(granted: bool) -> int:
    """Advisory locks held (granted) or waited for on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = database "
            "WHERE locktype = 'advisory' AND granted = %s AND d.datname = current_database()",
            [granted],
        )
        return cursor.fetchone()[0]


def test_statements_run_on_a_server_connection_of_pgbouncer():
    host, port = pgbouncer.host_and_port()
    assert (connection.settings_dict["HOST"], int(connection.settings_dict["PORT"])) == (
        host,
        port,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_database()")
        pid, database = cursor.fetchone()
        # While this transaction runs, PgBouncer lists the server connection it runs on as
        # active, for this database.
        servers = pgbouncer.admin_rows("SHOW SERVERS")
    mine = [s for s in servers if s["remote_pid"] == str(pid)]
    assert [(s["database"], s["state"]) for s in mine] == [(database, "active")], servers


def test_the_time_zone_django_sets_stays_with_its_client():
    """The one setting Django makes for a session (SET TIME ZONE, when the server's differs from
    its own): PgBouncer keeps each client's and sets it on the server connection it lends, so
    another client's setting does not reach the app's queries."""
    connection.ensure_connection()
    host, port = pgbouncer.host_and_port()
    db = connection.settings_dict
    with psycopg.connect(
        host=host, port=port, dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"],
        autocommit=True,
    ) as other:  # fmt: skip
        # Both on the server connection PgBouncer lent last, which it lends the app next.
        other.execute("SET TIME ZONE 'Asia/Tokyo'")
        other.execute("SET statement_timeout = '4321s'")
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('TimeZone'), current_setting('statement_timeout')"
                )
                zone, timeout = cursor.fetchone()
        finally:
            other.execute("RESET statement_timeout")
        assert zone == connection.timezone_name == "UTC"
        assert other.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "Asia/Tokyo"
    # A setting PgBouncer does not keep per client did reach the app: why the app sets none.
    assert timeout == "4321s"


def test_a_second_booking_of_a_slot_waits_for_the_first_and_is_refused():
    host = UserFactory(role=Role.SALES_MANAGER)
    lead = LeadFactory(by=host, owner=host)
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    booked, commit = threading.Event(), threading.Event()

    def book(hold_open: bool) -> Appointment:
        with transaction.atomic():
            appointment = appointment_create(
                actor=Actor(user=host), lead=lead, start=start, end=start + timedelta(hours=1)
            )
            if hold_open:  # the first booking's transaction stays open until the test says
                booked.set()
                assert commit.wait(30)
        return appointment

    first, first_out = in_thread(book, True)
    try:
        assert booked.wait(30), first_out
        second, second_out = in_thread(book, False)
        # The second booking waits for the host's lock the first one's transaction holds
        # (each on its own server connection behind PgBouncer).
        wait_until(lambda: advisory_locks(granted=False) == 1, "the second booking waiting")
        assert second.is_alive() and Appointment.objects.count() == 0
    finally:
        commit.set()
        first.join(30)
    second.join(30)

    assert "result" in first_out, first_out
    refused = second_out.get("error")
    assert isinstance(refused, RuleViolation) and refused.message == CONFLICT, second_out
    assert list(Appointment.objects.values_list("pk", flat=True)) == [first_out["result"].pk]
    # Both locks ended with their transactions: none stays on PgBouncer's server connections.
    assert advisory_locks(granted=True) == 0


def export_while_another_client_takes_its_server_connection(client) -> tuple[list[bytes], dict]:
    """The CSV export of every lead, read while another client, between the export's first
    chunk of rows and the rest, runs a transaction on the server connection the export last
    used (PgBouncer hands out its most recently used idle one first)."""
    manager = UserFactory(role=Role.SALES_MANAGER)
    items = [LeadInput(data={"email": f"export{n}@example.com"}) for n in range(EXPORT_CHUNK + 50)]
    assert all(o.ok for o in leads_create_many(actor=Actor(user=manager), items=items))
    client.force_login(manager)
    response = client.get("/leads/export.csv", {"list_type": "all"})
    assert response.status_code == 200
    lines = iter(response.streaming_content)
    read = [next(lines), next(lines)]  # the header, and the first row of the first chunk
    taken, done = threading.Event(), threading.Event()

    def take_a_server_connection() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            taken.set()
            assert done.wait(30)

    other, other_out = in_thread(take_a_server_connection)
    try:
        assert taken.wait(30), other_out
        read.extend(lines)
    finally:
        done.set()
        other.join(30)
    return read, other_out


def test_the_csv_export_reads_every_row_while_its_server_connection_serves_another(client):
    lines, other = export_while_another_client_takes_its_server_connection(client)

    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert len(lines) == 1 + EXPORT_CHUNK + 50
    assert sum(b"@example.com" in line for line in lines) == EXPORT_CHUNK + 50
    assert "error" not in other, other


def test_a_server_side_cursor_would_be_lost_between_transactions(client, monkeypatch):
    """Why DATABASE_PGBOUNCER=1 turns server-side cursors off: the cursor the export's first
    fetch declared stays on a server connection its next fetch does not get."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", False)

    # Django's error, or psycopg's own when closing the cursor that is gone replaces it.
    with pytest.raises((DatabaseError, psycopg.errors.InvalidCursorName), match="does not exist"):
        export_while_another_client_takes_its_server_connection(client)
