"""An appointment's life in the web app: booked Pending or Confirmed, confirmed while it is to
come, cancelled with a reason, marked Fulfilled or No-show once it has started, and a meeting
that already happened logged; the REST API keeps seed 004's statuses."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_cancel, appointment_log, appointment_mark
from crm.domain import Actor, RuleViolation
from leads.models import Event, EventType
from tests.conftest import error_of
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def lead(salesperson, manager):
    return LeadFactory(by=manager, owner=salesperson, first_name="Ada", last_name="Lee")


def local(when: dt.datetime) -> str:
    return f"{timezone.localtime(when):%Y-%m-%dT%H:%M}"


def started(lead, host, minutes_ago: int = 30) -> Appointment:
    """An appointment that has started (booked, then its time passed)."""
    appointment = AppointmentFactory(lead=lead, by=host)
    start = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Appointment.objects.filter(pk=appointment.pk).update(
        start=start, end=start + dt.timedelta(minutes=20)
    )
    appointment.refresh_from_db()
    return appointment


def last_update(appointment) -> dict:
    event = Event.objects.filter(type=EventType.APPOINTMENT_UPDATED).latest("id")
    assert event.data["appointment_id"] == appointment.pk
    return event.data


def test_a_new_booking_is_pending_or_confirmed_only(web, salesperson, lead):
    client = web(salesperson)
    html = client.get(f"/leads/{lead.slug}/").content.decode()
    section = html.split('id="id_book-status"')[1].split("</select>")[0]
    assert ">Pending<" in section and ">Confirmed<" in section
    assert "Cancelled" not in section and "Fulfilled" not in section
    start = timezone.now() + dt.timedelta(days=2)
    response = client.post(
        f"/leads/{lead.slug}/appointments/",
        {
            "book-start": local(start),
            "book-end": local(start + dt.timedelta(hours=1)),
            "book-status": "fulfilled",
        },
    )
    assert response.status_code == 422 and not Appointment.objects.exists()


def test_confirm_while_it_is_to_come_only(salesperson, lead):
    me = Actor(user=salesperson)
    coming = AppointmentFactory(lead=lead, by=salesperson)
    appointment_mark(actor=me, appointment=coming, status=AppointmentStatus.CONFIRMED)
    coming.refresh_from_db()
    assert coming.status == AppointmentStatus.CONFIRMED
    assert last_update(coming)["status"] == ["pending", "confirmed"]
    past = started(lead, salesperson)
    with pytest.raises(RuleViolation) as refused:
        appointment_mark(actor=me, appointment=past, status=AppointmentStatus.CONFIRMED)
    assert refused.value.message == "Only an appointment yet to start can be confirmed."


@pytest.mark.parametrize("status", [AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW])
def test_fulfilled_or_no_show_once_it_has_started(salesperson, lead, status):
    me = Actor(user=salesperson)
    coming = AppointmentFactory(lead=lead, by=salesperson)
    with pytest.raises(RuleViolation) as refused:
        appointment_mark(actor=me, appointment=coming, status=status)
    assert refused.value.message == "Mark an appointment held or missed once it has started."
    past = started(lead, salesperson)
    appointment_mark(actor=me, appointment=past, status=status)
    past.refresh_from_db()
    assert past.status == status  # no conflict check against itself, no future-date rule


def test_a_cancelled_appointment_is_neither_confirmed_nor_held(salesperson, lead):
    me = Actor(user=salesperson)
    appointment = AppointmentFactory(lead=lead, by=salesperson)
    appointment_cancel(actor=me, appointment=appointment, reason="  The lead is ill.  ")
    assert last_update(appointment)["reason"] == "The lead is ill."
    for status in (AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW):
        with pytest.raises(RuleViolation):
            appointment_mark(actor=me, appointment=appointment, status=status)
    with pytest.raises(RuleViolation):
        appointment_cancel(actor=me, appointment=appointment)


def test_the_web_marks_and_cancels_with_a_reason(web, salesperson, lead):
    client = web(salesperson)
    coming = AppointmentFactory(lead=lead, by=salesperson)
    past = started(lead, salesperson)
    page = unescape(client.get(f"/leads/{lead.slug}/").content.decode())
    item = page.split(f'id="appointment-{coming.pk}"')[1].split("</li>")[0]
    assert ">Confirm<" in item and ">No-show<" not in item
    item = page.split(f'id="appointment-{past.pk}"')[1].split("</li>")[0]
    assert ">Fulfilled<" in item and ">No-show<" in item and ">Confirm<" not in item
    response = client.post(
        f"/appointments/{past.pk}/mark/", {"status": "no_show", "back": "lead"}, headers=HTMX
    )
    assert response.status_code == 200 and "No-show" in response.content.decode()
    past.refresh_from_db()
    assert past.status == AppointmentStatus.NO_SHOW
    refused = client.post(
        f"/appointments/{coming.pk}/mark/", {"status": "no_show", "back": "lead"}, follow=True
    )
    assert "Mark an appointment held or missed once it has started." in unescape(
        refused.content.decode()
    )
    coming.refresh_from_db()
    assert coming.status == AppointmentStatus.PENDING
    client.post(f"/appointments/{coming.pk}/cancel/", {"reason": "Moved abroad", "back": "lead"})
    coming.refresh_from_db()
    assert coming.status == AppointmentStatus.CANCELLED
    page = unescape(client.get(f"/leads/{lead.slug}/").content.decode())
    assert "reason: “Moved abroad”" in page and "Appointment cancelled" in page


def test_log_a_meeting_that_already_happened(web, salesperson, lead):
    client = web(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert "Log a meeting" in page
    start = timezone.now() - dt.timedelta(days=1)
    response = client.post(
        f"/leads/{lead.slug}/appointments/log/",
        {"log-start": local(start), "log-end": local(start + dt.timedelta(hours=1)),
         "log-note": "Met at the fair"},
        headers=HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    logged = Appointment.objects.get()
    assert (logged.status, logged.host, logged.note) == (
        "fulfilled",
        salesperson,
        "Met at the fair",
    )
    event = Event.objects.get(type=EventType.APPOINTMENT_CREATED)
    assert event.data["logged"] is True
    # One still to come is booked, not logged; nor may it overlap another of the host's.
    soon = timezone.now() + dt.timedelta(hours=2)
    future = client.post(
        f"/leads/{lead.slug}/appointments/log/",
        {"log-start": local(soon), "log-end": local(soon + dt.timedelta(hours=1))},
        headers=HTMX,
    )
    assert future.status_code == 422
    assert "Log a meeting that has already ended" in unescape(future.content.decode())
    with pytest.raises(RuleViolation) as overlap:
        appointment_log(
            actor=Actor(user=salesperson), lead=lead, start=start, end=start + dt.timedelta(hours=1)
        )
    assert overlap.value.code == "conflict"
    assert Appointment.objects.count() == 1


def test_who_reads_only_may_not_log_or_mark(web, users, salesperson, lead):
    past = started(lead, salesperson)
    client = web(users["marketing_manager"])
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    assert "Log a meeting" not in page and ">No-show<" not in page
    start = timezone.now() - dt.timedelta(days=2)
    refused = client.post(
        f"/leads/{lead.slug}/appointments/log/",
        {"log-start": local(start), "log-end": local(start + dt.timedelta(hours=1))},
    )
    assert refused.status_code == 403
    assert client.post(f"/appointments/{past.pk}/mark/", {"status": "no_show"}).status_code == 403


def test_the_rest_api_keeps_its_documented_statuses(api, lead):
    start = timezone.localtime() + dt.timedelta(days=3)
    response = api.post(
        "create/appointment/",
        {
            "slug": lead.slug,
            "appointment_date": f"{start:%Y-%m-%d %H:%M}",
            "appointment_to": f"{start + dt.timedelta(hours=1):%Y-%m-%d %H:%M}",
            "appointment_status": "no_show",
        },
    )
    status, _type, errors = error_of(response)
    assert status == 400 and errors == {"appointment_status": ["Invalid appointment status."]}
