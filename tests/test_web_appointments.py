"""The appointment pages of the web app: the lead page's section, the agenda, the week calendar,
.ics files and the secret calendar feed (SPEC §8), per role, through Django's test client."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, time, timedelta
from unittest import mock

import icalendar
import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from appointments import services, views
from appointments.models import Appointment, AppointmentStatus, CalendarFeed
from crm.domain import Actor
from leads.models import Event, EventType
from leads.services import lead_delete
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
CONFLICT = "Appointment schedule exists for this time."
NOT_FUTURE = "Please Specify a date in the future."
END_BEFORE_START = "End Date Can't be prior to Start Date."
ROLES = [
    "administrator",
    "company_manager",
    "sales_manager",
    "marketing_manager",
    "salesperson",
    "jr_salesperson",
]


# --- helpers ------------------------------------------------------------------------------


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in the server's time zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def field_value(moment: datetime) -> str:
    """One "YYYY-MM-DDTHH:MM" value, as a datetime-local input sent it (still understood)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def typed(name: str, moment: datetime) -> dict[str, str]:
    """What the date input and the 24-hour time input of the field ``name`` send."""
    local = timezone.localtime(moment)
    return {name: f"{local:%Y-%m-%d}", f"{name}_time": f"{local:%H:%M}"}


def shows(html: str, input_id: str, moment: datetime) -> bool:
    """Whether the field ``input_id`` shows ``moment``: its date, and its time as 24-hour."""
    local = timezone.localtime(moment)
    date = re.search(rf'<input [^>]*id="{input_id}"[^>]*>', html)
    time = re.search(rf'<input [^>]*id="{input_id}_time"[^>]*>', html)
    return bool(
        date
        and time
        and f'value="{local:%Y-%m-%d}"' in date.group(0)
        and f'value="{local:%H:%M}"' in time.group(0)
    )


def errors_of(response, field_id: str) -> list[str]:
    """The errors shown next to the input ``field_id`` (forms/field.html ties them to it)."""
    found = re.search(
        rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', text(response), re.S
    )
    return (
        [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []
    )


def text(response) -> str:
    return response.content.decode()


def is_fragment(response) -> bool:
    return "<html" not in text(response)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def book(user, lead, start, hours: float = 1, **kwargs) -> Appointment:
    return AppointmentFactory(
        lead=lead, by=user, start=start, end=start + timedelta(hours=hours), **kwargs
    )


def book_in_past(user, lead, start, hours: float = 1) -> Appointment:
    """Booked back when ``start`` was still in the future."""
    with mock.patch("appointments.services.timezone.now", return_value=start - timedelta(days=1)):
        return book(user, lead, start, hours)


def section_url(lead) -> str:
    return reverse("appointments:lead", args=[lead.slug])


def calendar_of(response) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(response.content)


def events_of(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def day() -> date:
    """A Tuesday a few weeks ahead: every booking on it is in the future."""
    ahead = timezone.localdate() + timedelta(days=21)
    return ahead - timedelta(days=ahead.weekday()) + timedelta(days=1)


@pytest.fixture
def seller(users):
    return users["salesperson"]


@pytest.fixture
def own_lead(users, seller):
    """Owned by the salesperson; assigned to the junior salesperson."""
    return LeadFactory(
        by=users["sales_manager"],
        owner=seller,
        assignee=users["jr_salesperson"],
        first_name="Ada",
        last_name="Lovelace",
    )


@pytest.fixture
def others_lead(users):
    """The sales manager's: the salespeople may not see it."""
    manager = users["sales_manager"]
    return LeadFactory(by=manager, owner=manager, first_name="Grace", last_name="Hopper")


@pytest.fixture
def booked(seller, own_lead, day):
    return book(seller, own_lead, at(day, 10), note="Bring the quote")


# --- the lead page's section ----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_lead_section_per_role(users, own_lead, booked, role):
    response = client_for(users[role]).get(section_url(own_lead))
    assert response.status_code == 200
    body = text(response)
    assert "Bring the quote" in body and f"Host: {booked.host}" in body
    may_book = role != "marketing_manager"
    assert ("Book appointment" in body) is may_book
    # Move and cancel: the host and managers only.
    may_change = role in {"administrator", "company_manager", "sales_manager", "salesperson"}
    assert (reverse("appointments:move", args=[booked.pk]) in body) is may_change
    assert (reverse("appointments:cancel", args=[booked.pk]) in body) is may_change
    assert reverse("appointments:ics", args=[booked.pk]) in body


@pytest.mark.parametrize("role", ["salesperson", "jr_salesperson"])
def test_lead_section_of_an_invisible_lead_is_404(users, others_lead, role):
    book(users["sales_manager"], others_lead, at(timezone.localdate() + timedelta(days=5), 9))
    client = client_for(users[role])
    assert client.get(section_url(others_lead)).status_code == 404
    assert client.get(section_url(others_lead), headers=HX).status_code == 404
    start = at(timezone.localdate() + timedelta(days=6), 9)
    data = {"book-start": field_value(start), "book-end": field_value(start + timedelta(hours=1))}
    assert client.post(section_url(others_lead), data, headers=HX).status_code == 404
    assert client.get(section_url(LeadFactory.build(slug="nope"))).status_code == 404


def test_lead_section_of_a_deleted_lead_is_404(users, own_lead):
    lead_delete(actor=Actor(user=users["sales_manager"]), lead=own_lead)
    assert client_for(users["sales_manager"]).get(section_url(own_lead)).status_code == 404


def test_lead_section_htmx_is_the_fragment_and_the_page_wraps_it(seller, own_lead, booked):
    client = client_for(seller)
    fragment = client.get(section_url(own_lead), headers=HX)
    assert is_fragment(fragment)
    assert (
        text(fragment)
        .lstrip()
        .startswith('<section class="card appt-section" id="lead-appointments"')
    )
    page = client.get(section_url(own_lead))
    assert not is_fragment(page)
    assert "Appointments with Ada Lovelace" in text(page)
    assert 'id="lead-appointments"' in text(page)


def test_lead_section_context_renders_inside_another_page(seller, own_lead, booked):
    """The lead page includes the template with ``lead_section_context``."""
    request = RequestFactory().get("/")
    request.user = seller
    context = views.lead_section_context(request, own_lead)
    rendered = render_to_string("appointments/lead_section.html", context, request=request)
    assert 'id="lead-appointments"' in rendered
    assert 'for="id_book-start">Start' in rendered and 'for="id_book-end">End' in rendered
    assert 'for="id_book-note">Note' in rendered and 'for="id_book-status">Status' in rendered
    assert 'type="datetime-local"' not in rendered  # the locale's clock; 24-hour instead
    assert 'type="date" name="book-start"' in rendered
    assert 'name="book-start_time"' in rendered and 'aria-label="Start time"' in rendered
    assert f'hx-post="{section_url(own_lead)}"' in rendered
    assert 'hx-target="#lead-appointments"' in rendered


# --- booking on the lead's section ---------------------------------------------------------


def booking(start, end, note="", status="pending") -> dict:
    return {
        **typed("book-start", start),
        **typed("book-end", end),
        "book-note": note,
        "book-status": status,
    }


def test_booking_in_place_answers_the_updated_section(seller, own_lead, day):
    start = at(day, 14)
    response = client_for(seller).post(
        section_url(own_lead), booking(start, at(day, 15), "First visit", "confirmed"), headers=HX
    )
    assert response.status_code == 200 and is_fragment(response)
    appointment = Appointment.objects.get()
    assert (appointment.lead, appointment.host) == (own_lead, seller)
    assert (appointment.start, appointment.end) == (start, at(day, 15))
    assert (appointment.note, appointment.status) == ("First visit", "confirmed")
    assert f'id="appointment-{appointment.pk}"' in text(response)
    assert 'hx-swap-oob="true"' in text(response)  # the message comes along
    assert "Appointment booked for" in text(response)
    assert Event.objects.filter(lead=own_lead, type=EventType.APPOINTMENT_CREATED).count() == 1
    # Other parts of the page (the lead's timeline) may listen for the change.
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["appointmentsChanged"] == {"appointment": appointment.pk, "lead": own_lead.slug}


def test_booking_without_javascript_redirects_to_the_lead_page(seller, own_lead, day):
    response = client_for(seller).post(section_url(own_lead), booking(at(day, 14), at(day, 15)))
    assert response.status_code == 302
    assert (
        response["Location"] == reverse("leads:detail", args=[own_lead.slug]) + "#lead-appointments"
    )
    assert any(m.startswith("Appointment booked for") for m in messages_of(response))
    assert Appointment.objects.count() == 1


def test_a_conflicting_booking_shows_the_error_next_to_start(seller, own_lead, booked, day):
    response = client_for(seller).post(
        section_url(own_lead), booking(at(day, 10, 30), at(day, 11, 30)), headers=HX
    )
    assert response.status_code == 422 and is_fragment(response)
    assert errors_of(response, "id_book-start") == [CONFLICT]
    assert errors_of(response, "id_book-end") == []
    assert Appointment.objects.count() == 1
    # The form keeps what was typed.
    assert shows(text(response), "id_book-start", at(day, 10, 30))


def test_a_conflicting_booking_without_javascript_is_the_page_with_errors(
    seller, own_lead, booked, day
):
    response = client_for(seller).post(section_url(own_lead), booking(at(day, 10), at(day, 11)))
    assert response.status_code == 422 and not is_fragment(response)
    assert errors_of(response, "id_book-start") == [CONFLICT]


def test_a_past_start_is_refused_next_to_start(seller, own_lead):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client_for(seller).post(
        section_url(own_lead), booking(at(yesterday, 10), at(yesterday, 11)), headers=HX
    )
    assert response.status_code == 422
    assert errors_of(response, "id_book-start") == [NOT_FUTURE]
    assert not Appointment.objects.exists()


def test_an_end_before_the_start_is_refused_next_to_end(seller, own_lead, day):
    response = client_for(seller).post(
        section_url(own_lead), booking(at(day, 11), at(day, 10)), headers=HX
    )
    assert response.status_code == 422
    assert errors_of(response, "id_book-end") == [END_BEFORE_START]
    assert errors_of(response, "id_book-start") == []


def test_bad_input_is_refused_next_to_its_field(seller, own_lead, day):
    data = booking(at(day, 10), at(day, 11), note="x" * 201, status="nonsense")
    data["book-start"] = "not a date"
    data["book-end_time"] = "2:30 PM"  # a 12-hour time
    response = client_for(seller).post(section_url(own_lead), data, headers=HX)
    assert response.status_code == 422
    assert errors_of(response, "id_book-start") == ["Enter a valid date."]
    assert errors_of(response, "id_book-end") == ["Enter a time as 24-hour hh:mm, e.g. 14:30."]
    assert errors_of(response, "id_book-note") == [
        "Ensure this value has at most 200 characters (it has 201)."
    ]
    assert errors_of(response, "id_book-status")  # not one of the statuses
    assert not Appointment.objects.exists()


def test_who_may_not_book_is_refused_by_the_service(users, own_lead, day):
    marketing = client_for(users["marketing_manager"])
    response = marketing.post(section_url(own_lead), booking(at(day, 10), at(day, 11)), headers=HX)
    assert response.status_code == 403
    pool = LeadFactory(by=users["sales_manager"], owner=None)  # the pool: visible to salespeople
    seller = client_for(users["salesperson"])
    response = seller.post(section_url(pool), booking(at(day, 10), at(day, 11)), headers=HX)
    assert response.status_code == 403
    assert "Book appointment" not in text(seller.get(section_url(pool)))
    assert not Appointment.objects.exists()


# --- move and cancel ----------------------------------------------------------------------


def moving(appointment, start, end, back="lead", day=None) -> dict:
    prefix = f"move-{appointment.pk}"
    return {
        f"{prefix}-start": field_value(start),
        f"{prefix}-end": field_value(end),
        "back": back,
        "day": day.isoformat() if day else "",
    }


def test_move_in_place_records_the_previous_times(seller, own_lead, booked, day):
    old = {"start": booked.start.isoformat(), "end": booked.end.isoformat()}
    url = reverse("appointments:move", args=[booked.pk])
    response = client_for(seller).post(url, moving(booked, at(day, 16), at(day, 17)), headers=HX)
    assert response.status_code == 200 and is_fragment(response)
    assert 'id="lead-appointments"' in text(response)
    assert "Appointment moved to" in text(response)
    booked.refresh_from_db()
    assert (booked.start, booked.end) == (at(day, 16), at(day, 17))
    event = Event.objects.get(type=EventType.APPOINTMENT_UPDATED)
    assert event.data["previous"] == old
    assert event.actor == seller


def test_a_conflicting_move_shows_the_error_next_to_its_start(seller, own_lead, booked, day):
    other = book(seller, own_lead, at(day, 13))
    url = reverse("appointments:move", args=[other.pk])
    response = client_for(seller).post(
        url, moving(other, at(day, 10, 30), at(day, 11, 30), "week", day), headers=HX
    )
    assert response.status_code == 422
    assert 'id="week"' in text(response)  # the week calendar it came from
    assert errors_of(response, f"id_move-{other.pk}-start") == [CONFLICT]
    assert re.search(r'<details class="appt-move" open>\s*<summary[^>]*>Move', text(response))
    other.refresh_from_db()
    assert other.start == at(day, 13)


def test_a_move_into_the_past_or_backwards_is_refused(seller, own_lead, booked, day):
    client = client_for(seller)
    url = reverse("appointments:move", args=[booked.pk])
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client.post(url, moving(booked, at(yesterday, 9), at(yesterday, 10)), headers=HX)
    assert response.status_code == 422
    assert errors_of(response, f"id_move-{booked.pk}-start") == [NOT_FUTURE]
    response = client.post(url, moving(booked, at(day, 12), at(day, 11), "agenda", day))
    assert response.status_code == 422 and not is_fragment(response)
    assert errors_of(response, f"id_move-{booked.pk}-end") == [END_BEFORE_START]
    booked.refresh_from_db()
    assert booked.start == at(day, 10)


def test_move_without_javascript_redirects_to_the_page_it_came_from(seller, booked, day):
    url = reverse("appointments:move", args=[booked.pk])
    monday = day - timedelta(days=day.weekday())
    response = client_for(seller).post(url, moving(booked, at(day, 16), at(day, 17), "week", day))
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/week/?week={monday.isoformat()}"
    assert any(m.startswith("Appointment moved to") for m in messages_of(response))


def test_only_the_host_or_a_manager_moves_and_cancels(users, own_lead, booked, day):
    junior = client_for(users["jr_salesperson"])  # assigned to the lead, not the host
    data = moving(booked, at(day, 16), at(day, 17))
    assert junior.post(reverse("appointments:move", args=[booked.pk]), data).status_code == 403
    cancel = reverse("appointments:cancel", args=[booked.pk])
    assert junior.post(cancel, {"back": "lead"}, headers=HX).status_code == 403
    booked.refresh_from_db()
    assert (booked.start, booked.status) == (at(day, 10), AppointmentStatus.PENDING)
    manager = client_for(users["sales_manager"])
    response = manager.post(reverse("appointments:move", args=[booked.pk]), data, headers=HX)
    assert response.status_code == 200
    booked.refresh_from_db()
    assert booked.start == at(day, 16)


@pytest.mark.parametrize("role", ["salesperson", "jr_salesperson"])
def test_appointments_on_invisible_leads_are_404(users, others_lead, day, role):
    hidden = book(users["sales_manager"], others_lead, at(day, 9))
    client = client_for(users[role])
    data = moving(hidden, at(day, 16), at(day, 17))
    assert client.post(reverse("appointments:move", args=[hidden.pk]), data).status_code == 404
    assert client.post(reverse("appointments:cancel", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("appointments:ics", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("appointments:ics", args=[999999])).status_code == 404


def test_cancel_in_place(seller, own_lead, booked):
    url = reverse("appointments:cancel", args=[booked.pk])
    response = client_for(seller).post(url, {"back": "lead"}, headers=HX)
    assert response.status_code == 200 and is_fragment(response)
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED
    body = text(response)
    assert "Cancelled" in body and "cancelled." in body  # the badge and the message
    assert url not in body  # nothing left to cancel
    event = Event.objects.get(type=EventType.APPOINTMENT_UPDATED)
    assert event.data["status"] == ["pending", "cancelled"]


def test_cancel_without_javascript_redirects_to_the_agenda(seller, booked, day):
    url = reverse("appointments:cancel", args=[booked.pk])
    response = client_for(seller).post(url, {"back": "agenda", "day": day.isoformat()})
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/?from={day.isoformat()}"
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED


def test_cancel_only_takes_post(seller, booked):
    url = reverse("appointments:cancel", args=[booked.pk])
    assert client_for(seller).get(url).status_code == 405


def test_pages_list_appointments_without_their_move_forms(seller, own_lead, booked, day):
    """The move form is fetched when the user opens "Move": the item carries its address (with
    the page it is on) and a link to it for a browser without JavaScript."""
    monday = day - timedelta(days=day.weekday())
    page = text(client_for(seller).get(f"{reverse('appointments:week')}?week={monday}"))
    item = re.search(rf'<li [^>]*id="appointment-{booked.pk}">.*?</li>', page, re.S).group(0)
    assert "appt-move-form" not in item and f"move-{booked.pk}-start" not in item
    form_url = f"/appointments/{booked.pk}/move/?back=week&amp;day={monday.isoformat()}"
    assert f'hx-get="{form_url}" hx-trigger="toggle once"' in item
    assert f'<a href="{form_url}">Choose the new time</a>' in item


def test_the_move_form_alone_for_htmx_and_as_a_page_without(seller, own_lead, booked, day):
    client = client_for(seller)
    url = reverse("appointments:move", args=[booked.pk])
    monday = day - timedelta(days=day.weekday())
    fragment = client.get(url, {"back": "week", "day": monday.isoformat()}, headers=HX)
    assert fragment.status_code == 200 and is_fragment(fragment)
    assert "HX-Request" in fragment["Vary"]
    body = text(fragment)
    assert body.lstrip().startswith('<form class="appt-move-form"')
    assert f'hx-post="{url}" hx-target="#week"' in body
    assert f'name="day" value="{monday.isoformat()}"' in body
    start = re.search(rf'<input [^>]*id="id_move-{booked.pk}-start"[^>]*>', body).group(0)
    assert "autofocus" in start and shows(body, f"id_move-{booked.pk}-start", booked.start)
    time = re.search(rf'<input [^>]*id="id_move-{booked.pk}-start_time"[^>]*>', body).group(0)
    assert "autofocus" not in time  # one autofocus: the date

    page = client.get(url, {"back": "lead"})
    assert page.status_code == 200 and not is_fragment(page)
    assert "Move the appointment with" in text(page) and "hx-post" not in text(page)
    assert f'href="/leads/{own_lead.slug}/#lead-appointments">Back' in text(page)
    # The page's form posts to the same move, which goes back to the lead page.
    response = client.post(url, moving(booked, at(day, 16), at(day, 17), "lead"))
    assert response["Location"] == f"/leads/{own_lead.slug}/#lead-appointments"


def test_the_move_form_is_refused_to_who_may_not_move(users, own_lead, booked):
    url = reverse("appointments:move", args=[booked.pk])
    junior = client_for(users["jr_salesperson"])  # assigned to the lead, not the host
    assert junior.get(url, {"back": "lead"}, headers=HX).status_code == 403
    booked.status = AppointmentStatus.CANCELLED
    booked.save(update_fields=["status"])
    assert client_for(users["salesperson"]).get(url).status_code == 403


# --- the agenda ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_agenda_per_role_lists_only_ones_own_appointments(users, own_lead, others_lead, role):
    user = users[role]
    soon = timezone.localdate() + timedelta(days=3)
    lead = LeadFactory(by=users["sales_manager"], owner=user)
    mine = book(user, lead, at(soon, 9), note="Mine") if role != "marketing_manager" else None
    theirs = book(users["company_manager"], others_lead, at(soon, 11), note="Not mine")
    response = client_for(user).get(reverse("appointments:agenda"))
    assert response.status_code == 200
    body = text(response)
    assert 'aria-current="page">Agenda' in body
    assert (f'id="appointment-{theirs.pk}"' in body) is (role == "company_manager")
    if mine:
        assert f'id="appointment-{mine.pk}"' in body
        assert reverse("leads:detail", args=[lead.slug]) in body
        assert reverse("appointments:ics", args=[mine.pk]) in body
        assert reverse("appointments:move", args=[mine.pk]) in body


def test_agenda_is_upcoming_first_by_day_with_past_ones_reachable(seller, own_lead):
    today = timezone.localdate()
    past = book_in_past(seller, own_lead, at(today - timedelta(days=10), 9))
    later = book(seller, own_lead, at(today + timedelta(days=4), 9))
    sooner = book(seller, own_lead, at(today + timedelta(days=2), 15))
    client = client_for(seller)
    body = text(client.get(reverse("appointments:agenda")))
    assert f'id="appointment-{past.pk}"' not in body
    assert body.index(f'id="appointment-{sooner.pk}"') < body.index(f'id="appointment-{later.pk}"')
    earlier = (today - timedelta(days=7)).isoformat()
    assert f'href="/appointments/?from={earlier}"' in body
    response = client.get(reverse("appointments:agenda"), {"from": past.start.date().isoformat()})
    assert f'id="appointment-{past.pk}"' in text(response)
    # A bad date is today.
    assert client.get(reverse("appointments:agenda"), {"from": "nonsense"}).status_code == 200
    assert client.get(reverse("appointments:agenda"), {"from": "0001-01-01"}).status_code == 200


def test_agenda_pages_by_whole_days(seller, own_lead, monkeypatch):
    monkeypatch.setattr(views, "AGENDA_LIMIT", 2)
    first = timezone.localdate() + timedelta(days=2)
    a = book(seller, own_lead, at(first, 9))
    b = book(seller, own_lead, at(first + timedelta(days=1), 9))
    c = book(seller, own_lead, at(first + timedelta(days=1), 11))
    body = text(client_for(seller).get(reverse("appointments:agenda")))
    assert f'id="appointment-{a.pk}"' in body
    assert f'id="appointment-{b.pk}"' not in body and f'id="appointment-{c.pk}"' not in body
    assert f"?from={(first + timedelta(days=1)).isoformat()}" in body
    assert "Later appointments" in body


def test_agenda_htmx_is_the_fragment(seller, booked):
    response = client_for(seller).get(reverse("appointments:agenda"), headers=HX)
    assert response.status_code == 200 and is_fragment(response)
    assert text(response).lstrip().startswith('<div id="agenda"')
    assert "HX-Request" in response["Vary"]


def test_pages_need_a_signed_in_user(booked):
    client = Client()
    for url in [
        reverse("appointments:agenda"),
        reverse("appointments:week"),
        reverse("appointments:feed"),
        reverse("appointments:ics", args=[booked.pk]),
        section_url(booked.lead),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_navigation_and_tabs(seller):
    body = text(client_for(seller).get(reverse("appointments:week")))
    assert (
        f'<a href="{reverse("appointments:agenda")}" aria-current="page">Appointments</a>' in body
    )
    for name, label in [("agenda", "Agenda"), ("week", "Week"), ("feed", "Calendar feed")]:
        assert f'href="{reverse("appointments:" + name)}"' in body and f">{label}</a>" in body


# --- the week calendar --------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_week_per_role(users, role, day):
    user = users[role]
    LeadFactory(by=users["sales_manager"], owner=user)
    response = client_for(user).get(reverse("appointments:week"), {"week": day.isoformat()})
    assert response.status_code == 200
    body = text(response)
    assert len(re.findall(r'<section class="week-day', body)) == 7
    assert ('id="id_new-lead"' in body) is (role != "marketing_manager")


def test_week_shows_the_week_monday_first_with_links(seller, own_lead, booked, day):
    monday = day - timedelta(days=day.weekday())
    sunday_booking = book(seller, own_lead, at(monday + timedelta(days=6), 20))
    next_week = book(seller, own_lead, at(monday + timedelta(days=7), 9))
    response = client_for(seller).get(reverse("appointments:week"), {"week": day.isoformat()})
    body = text(response)
    days = re.findall(r'<section class="week-day[^"]*" aria-labelledby="week-([\d-]+)"', body)
    assert days == [(monday + timedelta(days=i)).isoformat() for i in range(7)]
    tuesday = body.index(f'id="week-{day.isoformat()}"')
    assert body.index(f'id="appointment-{booked.pk}"') > tuesday
    assert f'id="appointment-{sunday_booking.pk}"' in body
    assert f'id="appointment-{next_week.pk}"' not in body
    for other in (monday - timedelta(days=7), monday + timedelta(days=7)):
        url = f"/appointments/week/?week={other.isoformat()}"
        assert f'href="{url}"' in body and f'hx-get="{url}"' in body
    assert body.count('hx-push-url="true"') >= 2
    # Any day of the week shows that week.
    response = client_for(seller).get(reverse("appointments:week"), {"week": monday.isoformat()})
    assert f'id="appointment-{booked.pk}"' in text(response)


def test_week_htmx_is_the_fragment(seller, day):
    response = client_for(seller).get(
        reverse("appointments:week"), {"week": day.isoformat()}, headers=HX
    )
    assert response.status_code == 200 and is_fragment(response)
    assert text(response).lstrip().startswith('<div id="week"')
    assert "HX-Request" in response["Vary"]


def test_week_offers_only_leads_one_may_book_on(users, own_lead, others_lead):
    pool = LeadFactory(by=users["sales_manager"], owner=None, first_name="Pool")
    body = text(client_for(users["salesperson"]).get(reverse("appointments:week")))
    assert f'value="{own_lead.slug}"' in body
    assert f'value="{others_lead.slug}"' not in body and f'value="{pool.slug}"' not in body
    body = text(client_for(users["sales_manager"]).get(reverse("appointments:week")))
    assert f'value="{own_lead.slug}"' in body and f'value="{others_lead.slug}"' in body


def test_week_offers_the_leads_worked_last(users, seller, monkeypatch):
    """Owned and assigned leads alike, by their latest activity, up to the limit; a note on an
    older lead brings it back among them."""
    from appointments.selectors import bookable_leads
    from leads.services import note_create

    monkeypatch.setattr(views, "BOOKABLE_LIMIT", 3)
    manager = users["sales_manager"]
    owned = [LeadFactory(by=manager, owner=seller, first_name=f"Own{i}") for i in range(3)]
    assigned = [
        LeadFactory(by=manager, owner=manager, assignee=seller, first_name=f"Given{i}")
        for i in range(2)
    ]
    LeadFactory(by=manager, owner=manager, first_name="Team")  # newer, not the seller's
    slugs = {slug for slug, _name in bookable_leads(actor=Actor(user=seller), limit=3)}
    assert slugs == {owned[2].slug, assigned[0].slug, assigned[1].slug}

    note_create(actor=Actor(user=seller), lead=owned[0], text="Called back")
    body = text(client_for(seller).get(reverse("appointments:week")))
    offered = set(re.findall(r'<option value="([^"]+)"', body)) - {""}
    assert offered == {owned[0].slug, assigned[0].slug, assigned[1].slug}


def creating(lead, start, end, note="") -> dict:
    return {
        "new-lead": lead.slug,
        "new-start": field_value(start),
        "new-end": field_value(end),
        "new-note": note,
    }


def test_create_from_the_week(seller, own_lead, day):
    this_week = timezone.localdate()
    url = f"{reverse('appointments:week')}?week={this_week.isoformat()}"
    response = client_for(seller).post(
        url, creating(own_lead, at(day, 9), at(day, 10), "Demo"), headers=HX
    )
    assert response.status_code == 200 and is_fragment(response)
    appointment = Appointment.objects.get()
    assert (appointment.lead, appointment.host, appointment.note) == (own_lead, seller, "Demo")
    # The answer is the week of the new appointment, and the address follows.
    monday = day - timedelta(days=day.weekday())
    assert response["HX-Push-Url"] == f"/appointments/week/?week={monday.isoformat()}"
    assert f'id="appointment-{appointment.pk}"' in text(response)
    assert "Appointment with Ada Lovelace booked for" in text(response)


def test_create_from_the_week_without_javascript(seller, own_lead, day):
    response = client_for(seller).post(
        reverse("appointments:week"), creating(own_lead, at(day, 9), at(day, 10))
    )
    monday = day - timedelta(days=day.weekday())
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/week/?week={monday.isoformat()}"
    assert Appointment.objects.count() == 1


def test_create_from_the_week_shows_errors_next_to_the_fields(seller, own_lead, booked, day):
    client = client_for(seller)
    url = reverse("appointments:week")
    response = client.post(url, creating(own_lead, at(day, 10), at(day, 11)), headers=HX)
    assert response.status_code == 422 and is_fragment(response)
    assert errors_of(response, "id_new-start") == [CONFLICT]
    response = client.post(url, creating(own_lead, at(day, 12), at(day, 11)), headers=HX)
    assert errors_of(response, "id_new-end") == [END_BEFORE_START]
    response = client.post(url, {**creating(own_lead, at(day, 12), at(day, 13)), "new-lead": ""})
    assert response.status_code == 422 and not is_fragment(response)
    assert errors_of(response, "id_new-lead") == ["This field is required."]
    assert Appointment.objects.count() == 1


def test_create_from_the_week_on_an_invisible_lead_is_refused(seller, others_lead, day):
    response = client_for(seller).post(
        reverse("appointments:week"), creating(others_lead, at(day, 9), at(day, 10)), headers=HX
    )
    assert response.status_code == 422
    assert errors_of(response, "id_new-lead")[0].startswith("Select a valid choice.")
    assert not Appointment.objects.exists()


def test_move_and_cancel_on_the_week(seller, own_lead, booked, day):
    client = client_for(seller)
    other = book(seller, own_lead, at(day, 13))
    response = client.post(
        reverse("appointments:move", args=[booked.pk]),
        moving(
            booked, at(day + timedelta(days=1), 10), at(day + timedelta(days=1), 11), "week", day
        ),
        headers=HX,
    )
    assert response.status_code == 200 and text(response).lstrip().startswith('<div id="week"')
    response = client.post(
        reverse("appointments:cancel", args=[other.pk]),
        {"back": "week", "day": day.isoformat()},
        headers=HX,
    )
    assert response.status_code == 200 and 'id="week"' in text(response)
    booked.refresh_from_db()
    other.refresh_from_db()
    assert booked.start == at(day + timedelta(days=1), 10)
    assert other.status == AppointmentStatus.CANCELLED


# --- .ics of one appointment --------------------------------------------------------------


def test_ics_of_one_appointment(users, seller, own_lead, booked):
    response = client_for(seller).get(reverse("appointments:ics", args=[booked.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == f'attachment; filename="appointment-{booked.pk}.ics"'
    events = events_of(calendar_of(response))
    event = events[f"appointment-{booked.pk}@lead-crm"]
    assert event.decoded("DTSTART") == booked.start and event.decoded("DTEND") == booked.end
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert b"Z" in event["DTSTART"].to_ical()
    assert str(event["SUMMARY"]) == "Appointment with Ada Lovelace"
    assert str(event["DESCRIPTION"]) == "Bring the quote"
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["URL"]).endswith(f"/leads/{own_lead.slug}/")
    # Marketing managers see every lead, so they get the file too; a moved appointment keeps
    # its UID.
    manager = client_for(users["marketing_manager"])
    services.appointment_update(
        actor=Actor(user=seller),
        appointment=booked,
        changes={
            "start": booked.start + timedelta(hours=3),
            "end": booked.end + timedelta(hours=3),
        },
    )
    moved = events_of(calendar_of(manager.get(reverse("appointments:ics", args=[booked.pk]))))
    assert moved[f"appointment-{booked.pk}@lead-crm"].decoded("DTSTART") == booked.start


@pytest.mark.parametrize("role", ROLES)
def test_ics_per_role(users, booked, role):
    """Every role sees the lead (the junior salesperson as its assignee), so every one gets it."""
    response = client_for(users[role]).get(reverse("appointments:ics", args=[booked.pk]))
    assert response.status_code == 200
    assert (
        str(calendar_of(response).walk("VEVENT")[0]["UID"]) == f"appointment-{booked.pk}@lead-crm"
    )


@pytest.mark.parametrize(
    ("status", "ics_status"),
    [
        ("pending", "TENTATIVE"),
        ("confirmed", "CONFIRMED"),
        ("rescheduled", "TENTATIVE"),
        ("fulfilled", "TENTATIVE"),
        ("cancelled", "CANCELLED"),
    ],
)
def test_ics_status_mapping(seller, own_lead, day, status, ics_status):
    appointment = book(seller, own_lead, at(day, 8), status=status)
    response = client_for(seller).get(reverse("appointments:ics", args=[appointment.pk]))
    (event,) = calendar_of(response).walk("VEVENT")
    assert str(event["STATUS"]) == ics_status


def test_ics_in_the_server_time_zone_is_written_in_utc(seller, own_lead, day, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    client = client_for(seller)
    start = datetime.combine(day, time(10, 0))
    data = booking(at(day, 10), at(day, 11))
    data["book-start"], data["book-start_time"] = f"{start:%Y-%m-%d}", "10:00"
    data["book-end"], data["book-end_time"] = f"{start:%Y-%m-%d}", "11:00"
    assert client.post(section_url(own_lead), data, headers=HX).status_code == 200
    appointment = Appointment.objects.get()
    berlin = timezone.localtime(appointment.start)
    assert (berlin.hour, str(berlin.tzinfo)) == (10, "Europe/Berlin")
    response = client.get(reverse("appointments:ics", args=[appointment.pk]))
    (event,) = calendar_of(response).walk("VEVENT")
    utc_hour = 9 if berlin.utcoffset() == timedelta(hours=1) else 8
    assert event["DTSTART"].to_ical() == f"{day:%Y%m%d}T{utc_hour:02d}0000Z".encode()


# --- the calendar feed --------------------------------------------------------------------


def test_feed_page_makes_the_address_once_and_shows_it(seller):
    client = client_for(seller)
    response = client.get(reverse("appointments:feed"))
    assert response.status_code == 200
    feed = CalendarFeed.objects.get(user=seller)
    url = f"http://testserver/calendar/{feed.token}.ics"
    assert f'value="{url}"' in text(response)
    assert '<label for="feed-url">Calendar address</label>' in text(response)
    assert "Reset the secret address" in text(response)
    client.get(reverse("appointments:feed"))
    assert CalendarFeed.objects.get(user=seller).token == feed.token


@pytest.mark.parametrize("role", ROLES)
def test_feed_page_per_role(users, role):
    response = client_for(users[role]).get(reverse("appointments:feed"))
    assert response.status_code == 200
    assert CalendarFeed.objects.filter(user=users[role]).count() == 1


def test_feed_works_without_a_session(users, seller, own_lead, others_lead, day):
    mine = book(seller, own_lead, at(day, 9), note="Feed me")
    cancelled = book(seller, own_lead, at(day, 11), status="cancelled")
    recent = book_in_past(seller, own_lead, at(timezone.localdate() - timedelta(days=20), 9))
    old = book_in_past(seller, own_lead, at(timezone.localdate() - timedelta(days=40), 9))
    theirs = book(users["sales_manager"], others_lead, at(day, 9))
    deleted = book(seller, own_lead, at(day, 15))
    services.appointment_delete(actor=Actor(user=seller), appointment=deleted)
    token = services.calendar_feed_for(user=seller).token

    response = Client().get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = calendar_of(response)
    assert str(cal["X-WR-CALNAME"]) == f"Appointments of {seller}"
    events = events_of(cal)
    assert set(events) == {f"appointment-{a.pk}@lead-crm" for a in (mine, cancelled, recent)}
    assert str(events[f"appointment-{cancelled.pk}@lead-crm"]["STATUS"]) == "CANCELLED"
    assert str(events[f"appointment-{mine.pk}@lead-crm"]["DESCRIPTION"]) == "Feed me"
    assert f"appointment-{old.pk}@lead-crm" not in events
    assert f"appointment-{theirs.pk}@lead-crm" not in events
    assert Client().head(f"/calendar/{token}.ics").status_code == 200


def test_reset_invalidates_the_old_address(seller):
    client = client_for(seller)
    old = services.calendar_feed_for(user=seller).token
    response = client.post(reverse("appointments:feed-reset"), headers=HX)
    assert response.status_code == 200 and is_fragment(response)
    new = CalendarFeed.objects.get(user=seller).token
    assert new != old and new in text(response)
    assert "new secret address" in text(response)
    assert Client().get(f"/calendar/{old}.ics").status_code == 404
    assert Client().get(f"/calendar/{new}.ics").status_code == 200
    # Without JavaScript: PRG back to the page.
    response = client.post(reverse("appointments:feed-reset"))
    assert response.status_code == 302 and response["Location"] == reverse("appointments:feed")
    assert CalendarFeed.objects.get(user=seller).token != new
    assert client.get(reverse("appointments:feed-reset")).status_code == 405


def test_unknown_token_and_inactive_user_are_404(seller):
    token = services.calendar_feed_for(user=seller).token
    assert Client().get("/calendar/not-a-token.ics").status_code == 404
    seller.is_active = False
    seller.save(update_fields=["is_active"])
    assert Client().get(f"/calendar/{token}.ics").status_code == 404


# --- pinned query counts ------------------------------------------------------------------


def grow(user, lead, day, n: int) -> None:
    """``n`` appointments of ``user`` on ``lead``, one per hour of ``day`` from 6:00."""
    for i in range(n):
        book(user, lead, at(day, 6 + i), hours=0.5, note=f"Meeting {i}")


@pytest.mark.parametrize("n", [1, 6])
def test_agenda_query_count(seller, own_lead, day, django_assert_num_queries, n):
    grow(seller, own_lead, day, n)
    client = client_for(seller)
    # session, user, the appointments joined to their leads (visibility as a subquery)
    with django_assert_num_queries(3):
        response = client.get(reverse("appointments:agenda"))
    assert text(response).count('class="appt appt-') == n


@pytest.mark.parametrize("n", [1, 6])
def test_week_query_count(seller, own_lead, day, django_assert_num_queries, n):
    grow(seller, own_lead, day, n)
    for _ in range(n):
        LeadFactory(by=seller, owner=seller)
    client = client_for(seller)
    # session, user, the week's appointments joined to their leads, the leads one may book on
    with django_assert_num_queries(4):
        response = client.get(reverse("appointments:week"), {"week": day.isoformat()})
    assert text(response).count('class="appt appt-') == n


@pytest.mark.parametrize("n", [1, 6])
def test_lead_section_query_count(seller, own_lead, day, django_assert_num_queries, n):
    grow(seller, own_lead, day, n)
    client = client_for(seller)
    # session, user, the lead, its appointments joined to their hosts
    with django_assert_num_queries(4):
        response = client.get(section_url(own_lead), headers=HX)
    assert text(response).count('class="appt appt-') == n


@pytest.mark.parametrize("n", [1, 6])
def test_ics_query_count(seller, own_lead, day, django_assert_num_queries, n):
    grow(seller, own_lead, day, n)
    appointment = Appointment.objects.last()
    client = client_for(seller)
    # session, user, the appointment joined to lead and host (visibility as a subquery)
    with django_assert_num_queries(3):
        response = client.get(reverse("appointments:ics", args=[appointment.pk]))
    assert len(calendar_of(response).walk("VEVENT")) == 1


@pytest.mark.parametrize("n", [1, 6])
def test_feed_query_count(seller, own_lead, day, django_assert_num_queries, n):
    grow(seller, own_lead, day, n)
    token = services.calendar_feed_for(user=seller).token
    client = Client()
    # the feed joined to its user, the appointments joined to their leads
    with django_assert_num_queries(2):
        response = client.get(f"/calendar/{token}.ics")
    assert len(calendar_of(response).walk("VEVENT")) == n
