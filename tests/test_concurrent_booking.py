"""No double-booking under real concurrency (SPEC, Appointment: "two non-cancelled appointments of
the same host never overlap, even under concurrent requests").

Every burst releases its requests together with a barrier. Over HTTP, each request is its own
``urllib`` connection to the live server, whose request threads each open their own database
connection (the SQLite test database is a file, see ``crm/settings_test.py``); at the service
level, each thread has its own connection and closes it when done. The file runs as it is on
SQLite (a serialized IMMEDIATE transaction) and on PostgreSQL (the exclusion constraint).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_create, appointment_delete, appointment_update
from crm.domain import Actor, RuleViolation
from crm.roles import Role
from crm.tokens import issue_access_token
from leads.models import Event, EventType
from tests.factories import AppointmentFactory, LeadFactory, UserFactory

# Real transactions, so the threads see each other's commits. The flush after each test would
# also drop the statuses and sources the migrations load; serialized_rollback brings them back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONFLICT = "Appointment schedule exists for this time."
# The documented answer to a conflicting booking: status and envelope.
REFUSED = (
    401,
    {
        "status_code": 401,
        "error_type": "Request Failed",
        "errors": {"detail": [CONFLICT]},
        "data": {},
    },
)
BOOK = "/api/v1/leads/create/appointment/"
HTTP_BURST = 24
SERVICE_BURST = 20
SLOT = timedelta(hours=1)


@pytest.fixture
def book_url(live_server) -> str:
    """The live server's booking endpoint, with room in its listen queue for a whole burst.

    Django's test server listens with a backlog of 10 (``WSGIServer.request_queue_size``). A burst
    of simultaneous connections overflows it: the kernel drops the extra handshakes (the client
    retries a second later) or, through SYN cookies, may reset a connection, which would fail the
    test for a reason that has nothing to do with booking. Listening again on the bound socket
    enlarges the queue in place.
    """
    live_server.thread.httpd.socket.listen(4 * HTTP_BURST)
    return live_server.url + BOOK


@pytest.fixture
def host():
    """The host of every appointment here: a sales manager."""
    return UserFactory(role=Role.SALES_MANAGER)


@pytest.fixture
def host_lead(host):
    return LeadFactory(by=host, owner=host)


@pytest.fixture
def headers(api_key, host) -> dict[str, str]:
    """What the host's integration sends: its API key and the host's access token."""
    return {"apikey": api_key, "Authorization": f"Bearer {issue_access_token(host)}"}


@pytest.fixture
def window_start() -> datetime:
    return timezone.localtime(timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)


def wire(moment: datetime) -> str:
    """The API's ``yyyy-mm-dd HH:MM``, in the server's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def post(url: str, fields: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
    """One POST on a connection of its own (urllib sends ``Connection: close``).

    Returns the status and the JSON body (or the raw text, should a failure not be JSON).
    Connection errors are not caught: they fail the test.
    """
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(fields).encode(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, all released at the same moment; results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def booking(slug: str, start: datetime, end: datetime) -> dict[str, str]:
    return {"slug": slug, "appointment_date": wire(start), "appointment_to": wire(end)}


def blocking_in(host, start: datetime, end: datetime):
    """The host's non-cancelled, non-deleted appointments overlapping [start, end)."""
    return Appointment.objects.blocking().filter(host=host, start__lt=end, end__gt=start)


def test_concurrent_overlapping_bookings_over_http_let_exactly_one_through(
    book_url, headers, host, host_lead, window_start
):
    # Appointments that do not block: a cancelled one and a deleted one, both in the window.
    AppointmentFactory(
        lead=host_lead,
        by=host,
        start=window_start,
        end=window_start + SLOT,
        status=AppointmentStatus.CANCELLED,
    )
    appointment_delete(
        actor=Actor(user=host),
        appointment=AppointmentFactory(
            lead=host_lead, by=host, start=window_start, end=window_start + SLOT
        ),
    )
    # Starts a minute apart, each an hour long: every pair overlaps, no two are identical.
    starts = [window_start + timedelta(minutes=i) for i in range(HTTP_BURST)]

    answers = all_at_once(
        [partial(post, book_url, booking(host_lead.slug, s, s + SLOT), headers) for s in starts]
    )

    statuses = [status for status, _body in answers]
    assert not [a for a in answers if a[0] >= 500], answers
    assert statuses.count(201) == 1, answers
    winner = statuses.index(201)
    assert [a for i, a in enumerate(answers) if i != winner] == [REFUSED] * (HTTP_BURST - 1)
    data = answers[winner][1]["data"]
    assert (data["appointment_date"], data["appointment_to"]) == (
        wire(starts[winner]),
        wire(starts[winner] + SLOT),
    )
    assert data["host"] == host.username
    window_end = starts[-1] + SLOT
    booked = blocking_in(host, window_start, window_end)
    assert [(a.pk, a.start, a.end) for a in booked] == [
        (data["appointment_id"], starts[winner], starts[winner] + SLOT)
    ]
    # The refused requests left nothing behind: no row, no timeline event.
    assert Appointment.objects.filter(host=host).count() == 3
    created = Event.objects.filter(lead=host_lead, type=EventType.APPOINTMENT_CREATED)
    assert created.count() == 3
    assert created.filter(data__appointment_id=data["appointment_id"]).count() == 1


def test_concurrent_bookings_of_separate_slots_over_http_all_succeed(
    book_url, headers, host, host_lead, window_start
):
    # Back to back: each slot ends exactly when the next one starts, which is not an overlap.
    starts = [window_start + i * SLOT for i in range(HTTP_BURST)]

    answers = all_at_once(
        [partial(post, book_url, booking(host_lead.slug, s, s + SLOT), headers) for s in starts]
    )

    assert [status for status, _body in answers] == [201] * HTTP_BURST, answers
    booked = {body["data"]["appointment_id"]: body["data"] for _status, body in answers}
    assert len(booked) == HTTP_BURST
    stored = Appointment.objects.filter(host=host).order_by("start")
    assert [(a.pk, a.start, a.end) for a in stored] == [
        (body["data"]["appointment_id"], s, s + SLOT)
        for s, (_status, body) in zip(starts, answers, strict=True)
    ]


def book_in_own_connection(actor: Actor, lead, start: datetime, end: datetime) -> Any:
    """Book from a worker thread; the thread's database connection is closed at the end."""
    try:
        return appointment_create(actor=actor, lead=lead, start=start, end=end).pk
    except RuleViolation as refused:
        return refused.message
    finally:
        connection.close()


def test_concurrent_overlapping_bookings_at_the_service_level_let_exactly_one_through(
    host, host_lead, window_start
):
    actor = Actor(user=host)
    starts = [window_start + timedelta(minutes=i) for i in range(SERVICE_BURST)]

    outcomes = all_at_once(
        [partial(book_in_own_connection, actor, host_lead, s, s + SLOT) for s in starts]
    )

    booked = [o for o in outcomes if isinstance(o, int)]
    assert len(booked) == 1, outcomes
    assert outcomes.count(CONFLICT) == SERVICE_BURST - 1, outcomes
    winner = outcomes.index(booked[0])
    stored = blocking_in(host, window_start, starts[-1] + SLOT)
    assert [(a.pk, a.start) for a in stored] == [(booked[0], starts[winner])]
    assert Appointment.objects.count() == 1


def test_concurrent_bookings_of_separate_slots_at_the_service_level_all_succeed(
    host, host_lead, window_start
):
    actor = Actor(user=host)
    starts = [window_start + i * SLOT for i in range(SERVICE_BURST)]

    outcomes = all_at_once(
        [partial(book_in_own_connection, actor, host_lead, s, s + SLOT) for s in starts]
    )

    assert all(isinstance(o, int) for o in outcomes), outcomes
    stored = Appointment.objects.filter(host=host).order_by("start")
    assert [(a.pk, a.start) for a in stored] == list(zip(outcomes, starts, strict=True))


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the exclusion constraint exists on PostgreSQL only; SQLite relies on the service",
)


def row(lead, host, start: datetime, minutes: int = 60, **fields: Any) -> Appointment:
    """An unsaved appointment, to be written around the service (and its check)."""
    return Appointment(
        lead=lead, host=host, start=start, end=start + timedelta(minutes=minutes), **fields
    )


def assert_exclusion_violation(refused: pytest.ExceptionInfo[IntegrityError]) -> None:
    assert refused.value.__cause__.sqlstate == "23P01"  # exclusion_violation
    assert "appointment_no_overlap" in str(refused.value)


@postgresql_only
def test_the_database_refuses_an_overlapping_row_created_around_the_service(
    host, host_lead, window_start
):
    row(host_lead, host, window_start).save()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Appointment.objects.create(
            lead=host_lead,
            host=host,
            start=window_start + timedelta(minutes=59),
            end=window_start + 2 * SLOT,
        )
    assert_exclusion_violation(refused)
    assert Appointment.objects.count() == 1


@postgresql_only
def test_the_database_refuses_overlapping_rows_in_one_bulk_create(host, host_lead, window_start):
    rows = [row(host_lead, host, window_start), row(host_lead, host, window_start, minutes=30)]
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Appointment.objects.bulk_create(rows)
    assert_exclusion_violation(refused)
    assert not Appointment.objects.exists()


@postgresql_only
def test_the_database_lets_rows_that_do_not_block_through(host, host_lead, window_start):
    other_host = UserFactory(role=Role.SALESPERSON)
    Appointment.objects.bulk_create(
        [
            row(host_lead, host, window_start),
            # back to back: [start, end) ranges that only touch
            row(host_lead, host, window_start + SLOT),
            row(host_lead, host, window_start, status=AppointmentStatus.CANCELLED),
            row(host_lead, host, window_start, deleted_at=timezone.now()),
            row(host_lead, other_host, window_start),
        ]
    )
    assert Appointment.objects.count() == 5
    # A cancelled row cannot be reopened over the booking that holds its slot.
    cancelled = Appointment.objects.get(status=AppointmentStatus.CANCELLED)
    cancelled.status = AppointmentStatus.PENDING
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        cancelled.save(update_fields=["status"])
    assert_exclusion_violation(refused)


def test_a_cancelled_appointment_does_not_block_its_slot(host, host_lead, window_start):
    actor = Actor(user=host)
    end = window_start + SLOT
    cancelled = AppointmentFactory(
        lead=host_lead, by=host, start=window_start, end=end, status=AppointmentStatus.CANCELLED
    )

    booked = appointment_create(actor=actor, lead=host_lead, start=window_start, end=end)

    assert [a.pk for a in blocking_in(host, window_start, end)] == [booked.pk]
    # Cancelling the booking frees the slot again for a new one.
    appointment_update(
        actor=actor, appointment=booked, changes={"status": AppointmentStatus.CANCELLED}
    )
    rebooked = appointment_create(
        actor=actor, lead=host_lead, start=window_start + timedelta(minutes=30), end=end
    )
    assert [a.pk for a in blocking_in(host, window_start, end)] == [rebooked.pk]
    # ...and a cancelled appointment cannot be reopened over the new booking.
    with pytest.raises(RuleViolation) as refused:
        appointment_update(
            actor=actor, appointment=cancelled, changes={"status": AppointmentStatus.PENDING}
        )
    assert refused.value.message == CONFLICT
    cancelled.refresh_from_db()
    assert cancelled.status == AppointmentStatus.CANCELLED


def test_a_cancelled_appointment_does_not_block_its_slot_over_http(
    book_url, headers, host, host_lead, window_start
):
    end = window_start + SLOT
    AppointmentFactory(
        lead=host_lead, by=host, start=window_start, end=end, status=AppointmentStatus.CANCELLED
    )

    status, body = post(book_url, booking(host_lead.slug, window_start, end), headers)
    assert status == 201, body
    again = post(book_url, booking(host_lead.slug, window_start, end), headers)
    assert again == REFUSED
    assert [a.pk for a in blocking_in(host, window_start, end)] == [body["data"]["appointment_id"]]


@postgresql_only
def test_a_booking_holds_its_hosts_lock_until_it_commits(host, host_lead, window_start):
    # Overlapping inserts that both passed the overlap check wait on each other inside the
    # exclusion constraint and can deadlock (a 500 seen under load). Each booking therefore
    # takes its host's lock before the check, and keeps it to the end of its transaction.
    from appointments.services import HOST_LOCK

    booked, release = threading.Event(), threading.Event()

    def book_and_hold():
        try:
            with transaction.atomic():
                appointment_create(
                    actor=Actor(user=host), lead=host_lead, start=window_start,
                    end=window_start + SLOT,
                )  # fmt: skip
                booked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def held() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = %s AND objid = %s",
                [HOST_LOCK, host.pk],
            )
            return cursor.fetchone()[0]

    worker = threading.Thread(target=book_and_hold)
    worker.start()
    try:
        assert booked.wait(timeout=30)
        assert held() == 1
    finally:
        release.set()
        worker.join(timeout=30)
    assert held() == 0
    assert Appointment.objects.filter(host=host).count() == 1
