"""One time format in text and inputs (issue 14, item 10): every date-time input is a date input
and a 24-hour "hh:mm" text input (``crm.datetime_fields``), never ``datetime-local`` (whose clock
is the browser locale's: "02:30 PM" in en-US). Times are the user's time zone's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from crm.datetime_fields import INVALID_TIME, TIME_HINT
from leads.models import Lead
from leads.services import field_create
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"


def inputs(html: str) -> dict[str, str]:
    """Every ``<input>`` of ``html`` by its id."""
    return {
        re.search(r'\sid="([^"]+)"', tag).group(1): tag
        for tag in re.findall(r"<input [^>]*>", html)
        if ' id="' in tag
    }


def errors_of(html: str, field_id: str) -> list[str]:
    found = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


@pytest.fixture
def seller(users):
    return users["salesperson"]


@pytest.fixture
def lead(users, seller):
    return LeadFactory(by=users["sales_manager"], owner=seller)


@pytest.fixture
def winter_day() -> date:
    """A Tuesday in January next year: Los Angeles is UTC-8."""
    day = date(timezone.now().year + 1, 1, 10)
    return day + timedelta(days=(1 - day.weekday()) % 7)


def test_every_date_time_input_is_a_date_and_a_24_hour_time(web, users, seller, lead):
    AppointmentFactory(lead=lead, by=seller)
    client = web(seller)
    pages = {
        f"/leads/{lead.slug}/": ["book-start", "book-end", "log-start", "task-due"],
        reverse("appointments:week"): ["new-start", "new-end"],
    }
    for url, fields in pages.items():
        html = client.get(url).content.decode()
        assert 'type="datetime-local"' not in html and 'type="time"' not in html, url
        found = inputs(html)
        for name in fields:
            date_input, time_input = found[f"id_{name}"], found[f"id_{name}_time"]
            assert 'type="date"' in date_input and f'name="{name}"' in date_input
            assert 'type="text"' in time_input and f'name="{name}_time"' in time_input
            assert 'inputmode="numeric"' in time_input
            assert 'pattern="([01]?[0-9]|2[0-3]):[0-5][0-9]"' in time_input
            label = re.search(rf'<label for="id_{name}">([^<]+)', html).group(1).strip()
            assert f'aria-label="{label} time"' in time_input  # "Start time", "Due time"
            assert f'aria-describedby="id_{name}_hint"' in time_input
            assert f'<span class="help when-hint" id="id_{name}_hint">{TIME_HINT}</span>' in html
    # A task's default due time (tomorrow 09:00) is shown as 24-hour.
    html = client.get(f"/leads/{lead.slug}/").content.decode()
    assert 'value="09:00"' in inputs(html)["id_task-due_time"]


def test_a_time_typed_in_the_users_zone_is_kept_in_utc_and_shown_back(
    web, seller, lead, winter_day
):
    seller.time_zone = LA
    seller.save(update_fields=["time_zone"])
    client = web(seller)
    data = {
        "book-start": winter_day.isoformat(),
        "book-start_time": "14:30",
        "book-end": winter_day.isoformat(),
        "book-end_time": "15:30",
        "book-status": "pending",
    }
    response = client.post(reverse("appointments:lead", args=[lead.slug]), data)
    assert response.status_code == 302
    booked = Appointment.objects.get()
    assert booked.start == datetime.combine(winter_day, time(22, 30), tzinfo=UTC)  # UTC-8
    # Its move form and the lead page show the same wall time.
    move = client.get(reverse("appointments:move", args=[booked.pk]), {"back": "lead"})
    found = inputs(move.content.decode())
    assert f'value="{winter_day.isoformat()}"' in found[f"id_move-{booked.pk}-start"]
    assert 'value="14:30"' in found[f"id_move-{booked.pk}-start_time"]
    assert "14:30" in client.get(f"/leads/{lead.slug}/").content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2:30 PM", INVALID_TIME),  # a 12-hour time
        ("25:00", INVALID_TIME),
        ("", INVALID_TIME),  # a date without a time
    ],
)
def test_a_time_that_is_not_24_hour_is_refused_next_to_the_field(
    web, seller, lead, winter_day, typed, message
):
    data = {
        "book-start": winter_day.isoformat(),
        "book-start_time": typed,
        "book-end": winter_day.isoformat(),
        "book-end_time": "15:30",
        "book-status": "pending",
    }
    response = web(seller).post(
        reverse("appointments:lead", args=[lead.slug]), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert errors_of(html, "id_book-start") == [message]
    found = inputs(html)
    # Both halves are marked and described by the error; what was typed stays.
    assert 'aria-invalid="true"' in found["id_book-start"]
    assert 'aria-describedby="id_book-start_error"' in found["id_book-start"]
    assert 'aria-invalid="true"' in found["id_book-start_time"]
    assert (
        'aria-describedby="id_book-start_hint id_book-start_error"' in found["id_book-start_time"]
    )
    assert f'value="{typed}"' in found["id_book-start_time"] or not typed
    assert not Appointment.objects.exists()


def test_a_time_without_a_date_says_the_date_is_missing(web, seller, lead):
    data = {"task-title": "Call back", "task-due": "", "task-due_time": "10:00"}
    response = web(seller).post(reverse("leads:task-add", args=[lead.slug]), data)
    assert response.status_code == 422
    assert errors_of(response.content.decode(), "id_task-due") == ["Enter a valid date."]


def test_one_datetime_local_value_is_still_understood(web, seller, lead, winter_day):
    """A caller that posts "YYYY-MM-DDTHH:MM" under the field's name, as before."""
    data = {"task-title": "Call back", "task-due": f"{winter_day.isoformat()}T16:45"}
    response = web(seller).post(reverse("leads:task-add", args=[lead.slug]), data)
    assert response.status_code == 302
    task = lead.tasks.get()
    assert timezone.localtime(task.due).time() == time(16, 45)
    bad = {"task-title": "Call back", "task-due": "someday"}
    response = web(seller).post(reverse("leads:task-add", args=[lead.slug]), bad)
    assert errors_of(response.content.decode(), "id_task-due") == ["Enter a valid date/time."]


def test_a_custom_date_time_field_is_typed_the_same_way(web, seller):
    field = field_create(label="Demo at", data_type="datetime")
    name = field.system_name
    client = web(seller)
    html = client.get("/leads/new/").content.decode()
    found = inputs(html)
    assert 'type="date"' in found[f"id_{name}"]
    assert 'aria-label="Demo at time"' in found[f"id_{name}_time"]
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "5551234567",
        "status": "prospect",
        name: "2030-01-15",
        f"{name}_time": "14:30",
    }
    response = client.post("/leads/new/", data)
    assert response.status_code == 302, re.findall(r"<li>(.*?)</li>", response.content.decode())
    lead = Lead.objects.get()
    stored = datetime.fromisoformat(lead.custom_fields[name])
    assert (timezone.localtime(stored).date(), timezone.localtime(stored).time()) == (
        date(2030, 1, 15),
        time(14, 30),
    )
    found = inputs(client.get(f"/leads/{lead.slug}/edit/").content.decode())
    assert 'value="2030-01-15"' in found[f"id_{name}"]
    assert 'value="14:30"' in found[f"id_{name}_time"]
