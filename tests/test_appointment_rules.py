"""The appointment rules of the domain layer, below any API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_create, appointment_update
from crm.domain import Actor, RuleViolation
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def soon():
    return (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)


@pytest.fixture
def booked(manager, lead, soon):
    return AppointmentFactory(lead=lead, by=manager, start=soon, end=soon + timedelta(hours=1))


def book(manager, lead, start, end, **kwargs):
    return appointment_create(actor=Actor(user=manager), lead=lead, start=start, end=end, **kwargs)


@pytest.mark.parametrize(
    ("start_offset", "length", "code"),
    [
        (timedelta(days=1), timedelta(0), "end_before_start"),
        (timedelta(days=1), -timedelta(hours=1), "end_before_start"),
        (-timedelta(minutes=1), timedelta(hours=1), "start_in_past"),
    ],
)
def test_times_must_be_future_and_ordered(manager, lead, start_offset, length, code):
    start = timezone.now() + start_offset
    with pytest.raises(RuleViolation) as refused:
        book(manager, lead, start, start + length)
    assert refused.value.code == code
    assert not Appointment.objects.exists()


def test_overlap_with_the_same_host_is_refused(manager, lead, booked, soon):
    with pytest.raises(RuleViolation) as refused:
        book(manager, lead, soon + timedelta(minutes=59), soon + timedelta(hours=2))
    assert refused.value.message == "Appointment schedule exists for this time."


def test_back_to_back_and_other_hosts_are_free(manager, users, lead, booked, soon):
    book(manager, lead, soon + timedelta(hours=1), soon + timedelta(hours=2))
    other = users["company_manager"]
    appointment_create(
        actor=Actor(user=other), lead=lead, start=soon, end=soon + timedelta(hours=1)
    )
    assert Appointment.objects.count() == 3


def test_a_cancelled_appointment_frees_its_slot_until_reopened(manager, lead, booked, soon):
    appointment_update(
        actor=Actor(user=manager), appointment=booked, changes={"status": "cancelled"}
    )
    other = book(manager, lead, soon, soon + timedelta(hours=1))
    with pytest.raises(RuleViolation) as refused:
        appointment_update(
            actor=Actor(user=manager), appointment=booked, changes={"status": "confirmed"}
        )
    assert refused.value.code == "conflict"
    assert other.status == "pending"


def test_moving_records_the_previous_times(manager, lead, booked, soon):
    moved = appointment_update(
        actor=Actor(user=manager),
        appointment=booked,
        changes={"start": soon + timedelta(days=1), "end": soon + timedelta(days=1, hours=1)},
    )
    event = moved.lead.events.latest("id")
    assert event.type == "appointment_updated"
    assert event.data["previous"] == {
        "start": soon.isoformat(),
        "end": (soon + timedelta(hours=1)).isoformat(),
    }


def test_a_move_may_overlap_the_appointments_own_time(manager, lead, booked, soon):
    """An appointment never clashes with itself: half an hour later, or longer, is free."""
    moved = appointment_update(
        actor=Actor(user=manager),
        appointment=booked,
        changes={"start": soon + timedelta(minutes=30), "end": soon + timedelta(minutes=90)},
    )
    longer = appointment_update(
        actor=Actor(user=manager), appointment=moved, changes={"end": soon + timedelta(hours=2)}
    )
    assert (longer.start, longer.end) == (soon + timedelta(minutes=30), soon + timedelta(hours=2))


def test_moving_into_the_past_is_refused_but_a_status_change_is_not(manager, lead, booked):
    with pytest.raises(RuleViolation) as refused:
        appointment_update(
            actor=Actor(user=manager),
            appointment=booked,
            changes={"start": timezone.now() - timedelta(hours=2)},
        )
    assert refused.value.code == "start_in_past"
    # The appointment has passed: marking it fulfilled needs no future date.
    Appointment.objects.filter(pk=booked.pk).update(
        start=timezone.now() - timedelta(hours=3), end=timezone.now() - timedelta(hours=2)
    )
    booked.refresh_from_db()
    done = appointment_update(
        actor=Actor(user=manager), appointment=booked, changes={"status": "fulfilled"}
    )
    assert done.status == "fulfilled"


def test_an_api_key_books_for_the_leads_owner(manager, soon):
    lead = LeadFactory(by=manager, owner=manager)
    appointment = appointment_create(
        actor=Actor(), lead=lead, start=soon, end=soon + timedelta(minutes=30)
    )
    assert appointment.host == manager
