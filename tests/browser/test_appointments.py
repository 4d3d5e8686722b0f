"""Appointments in a real browser: book on the lead page (and see the conflict next to Start
without a reload), move and cancel on the week calendar, download an .ics, the calendar feed;
every page screenshot at 1280 and 390 px and checked with axe-core."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment, AppointmentStatus, CalendarFeed
from appointments.services import appointment_update
from crm.domain import Actor
from tests.browser.conftest import (
    BROWSER_DB,
    assert_accessible,
    fill_when,
    shoot,
    take_errors,
    when_inputs,
)
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = BROWSER_DB

CONFLICT = "Appointment schedule exists for this time."
WIDTHS = (1280, 390)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def typed(moment: datetime) -> str:
    """What one types into a date-time field (its date and 24-hour time, see fill_when)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def day() -> date:
    """A Tuesday a few weeks ahead."""
    ahead = timezone.localdate() + timedelta(days=21)
    return ahead - timedelta(days=ahead.weekday()) + timedelta(days=1)


@pytest.fixture
def seller(users):
    return users["salesperson"]


@pytest.fixture
def lead(users, seller):
    return LeadFactory(
        by=users["sales_manager"], owner=seller, first_name="Ada", last_name="Lovelace"
    )


def book(user, lead, start, note="") -> Appointment:
    return AppointmentFactory(
        lead=lead, by=user, start=start, end=start + timedelta(hours=1), note=note
    )


def keep_watch(page: Page) -> None:
    """Marks the document; ``reloaded(page)`` tells whether it was replaced since."""
    page.evaluate("window.__sameDocument = true")


def reloaded(page: Page) -> bool:
    return not page.evaluate("window.__sameDocument === true")


def take_refusals(page: Page) -> None:
    """Chromium logs a 422 answer (a form with errors) as a console error: expected here."""
    errors = take_errors(page)
    assert errors and all("status of 422" in error for error in errors), errors


def test_book_then_conflict_on_the_lead_page(page_for, seller, lead, day):
    page = page_for(seller)
    page.goto(f"/leads/{lead.slug}/")
    section = page.locator("#lead-appointments")
    expect(section.get_by_role("heading", name="Appointments")).to_be_visible()
    keep_watch(page)

    form = section.locator("form.appt-book")
    fill_when(form, "Start", typed(at(day, 10)))
    fill_when(form, "End", typed(at(day, 11)))
    form.get_by_label("Note").fill("Bring the quote")
    form.get_by_role("button", name="Book appointment").click()
    expect(section.locator("li.appt")).to_have_count(1)
    expect(section.locator("li.appt")).to_contain_text("Bring the quote")
    expect(page.locator("#messages")).to_contain_text("Appointment booked for")
    # The lead's timeline, another part of the page, shows the booking too.
    expect(page.locator("#lead-timeline")).to_contain_text("Appointment booked")

    # The same time again: refused, the reason right under Start, the page not reloaded.
    form = section.locator("form.appt-book")
    fill_when(form, "Start", typed(at(day, 10, 30)))
    fill_when(form, "End", typed(at(day, 11, 30)))
    form.get_by_role("button", name="Book appointment").click()
    error = form.locator("#id_book-start_error")
    expect(error).to_have_text(CONFLICT)
    start_box = (
        form.locator(".field", has=page.locator("#id_book-start"))
        .locator(".when-input")
        .bounding_box()
    )  # the date, the time and the 24-hour hint
    error_box = error.bounding_box()
    assert start_box and error_box
    assert 0 <= error_box["y"] - (start_box["y"] + start_box["height"]) < 30  # right below it
    assert abs(error_box["x"] - start_box["x"]) < 5
    start_date, start_time = when_inputs(form, "Start")
    expect(start_date).to_have_value(f"{day:%Y-%m-%d}")  # kept
    expect(start_time).to_have_value("10:30")
    assert not reloaded(page)
    take_refusals(page)
    assert Appointment.objects.count() == 1
    shoot(page, "appointments-lead-page-conflict")
    assert_accessible(page)


def test_move_and_cancel_on_the_week_calendar(page_for, seller, lead, day):
    to_move = book(seller, lead, at(day, 9), note="Move me")
    to_cancel = book(seller, lead, at(day, 14), note="Cancel me")
    monday = day - timedelta(days=day.weekday())
    page = page_for(seller)
    page.goto(f"/appointments/week/?week={monday.isoformat()}")
    keep_watch(page)

    item = page.locator(f"#appointment-{to_move.pk}")
    item.locator("summary", has_text="Move").click()
    form = item.locator("form.appt-move-form")
    expect(form).to_be_visible()  # fetched on opening
    expect(when_inputs(form, "Start")[0]).to_be_focused()
    shoot(page, "appointments-week-move-open")
    thursday = day + timedelta(days=2)
    fill_when(form, "Start", typed(at(thursday, 15)))
    fill_when(form, "End", typed(at(thursday, 16)))
    form.get_by_role("button", name="Save new time").click()
    moved = (
        page.locator(f"#week-{thursday.isoformat()}")
        .locator("..")
        .locator(f"#appointment-{to_move.pk}")
    )
    expect(moved).to_contain_text("15:00")
    expect(page.locator("#messages")).to_contain_text("Appointment moved to")

    item = page.locator(f"#appointment-{to_cancel.pk}")
    item.locator("summary", has_text="Cancel").click()  # asks first, with a reason
    item.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(f"#appointment-{to_cancel.pk} .appt-status")).to_have_text("Cancelled")
    expect(page.locator(f"#appointment-{to_cancel.pk}").get_by_role("button")).to_have_count(0)
    assert not reloaded(page)

    to_move.refresh_from_db()
    to_cancel.refresh_from_db()
    assert (to_move.start, to_move.end) == (at(thursday, 15), at(thursday, 16))
    assert to_cancel.status == AppointmentStatus.CANCELLED


def test_week_navigation_and_a_move_refused_in_place(page_for, seller, lead, day):
    first = book(seller, lead, at(day, 9))
    second = book(seller, lead, at(day, 11))
    monday = day - timedelta(days=day.weekday())
    page = page_for(seller)
    page.goto(f"/appointments/week/?week={(monday - timedelta(days=7)).isoformat()}")
    keep_watch(page)
    page.get_by_role("link", name="Next week").click()
    expect(page.locator("#week-title")).to_contain_text(monday.strftime("%B %-d"))
    assert page.url.endswith(f"/appointments/week/?week={monday.isoformat()}")  # pushed

    item = page.locator(f"#appointment-{second.pk}")
    item.locator("summary", has_text="Move").click()
    fill_when(item, "Start", typed(at(day, 9, 30)))
    fill_when(item, "End", typed(at(day, 10, 30)))
    item.get_by_role("button", name="Save new time").click()
    expect(page.locator(f"#id_move-{second.pk}-start_error")).to_have_text(CONFLICT)
    expect(page.locator(f"#appointment-{second.pk} details.appt-move")).to_have_attribute(
        "open", ""
    )
    assert not reloaded(page)
    take_refusals(page)
    second.refresh_from_db()
    assert second.start == at(day, 11) and first.start == at(day, 9)

    page.go_back()  # htmx restores the previous week from the server: a whole page
    expect(page.locator("#week-title")).to_contain_text(
        (monday - timedelta(days=7)).strftime("%B %-d")
    )
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("nav.tabs")).to_have_count(1)


def test_book_from_the_week_calendar(page_for, seller, lead, day):
    page = page_for(seller)
    page.goto("/appointments/week/")
    form = page.locator("#week form").filter(has=page.get_by_label("Lead"))
    form.get_by_label("Lead").select_option(label="Ada Lovelace")
    fill_when(form, "Start", typed(at(day, 8)))
    fill_when(form, "End", typed(at(day, 9)))
    form.get_by_label("Note").fill("From the calendar")
    form.get_by_role("button", name="Book appointment").click()
    appointment_item = page.locator("li.appt", has_text="From the calendar")
    expect(appointment_item).to_be_visible()
    monday = day - timedelta(days=day.weekday())
    assert page.url.endswith(f"?week={monday.isoformat()}")
    assert Appointment.objects.get().note == "From the calendar"


def test_download_an_ics_from_the_agenda(page_for, seller, lead, day):
    appointment = book(seller, lead, at(day, 10), note="Quote")
    page = page_for(seller)
    page.goto("/appointments/")
    with page.expect_download() as downloading:
        page.locator(f"#appointment-{appointment.pk}").get_by_role("link", name=".ics").click()
    download = downloading.value
    assert download.suggested_filename == f"appointment-{appointment.pk}.ics"
    cal = icalendar.Calendar.from_ical(Path(download.path()).read_bytes())
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == f"appointment-{appointment.pk}@lead-crm"
    assert event.decoded("DTSTART") == appointment.start
    assert str(event["SUMMARY"]) == "Appointment with Ada Lovelace"
    assert str(event["DESCRIPTION"]) == "Quote"


def test_feed_page_reset_and_the_feed_without_a_session(page_for, anon_page, seller, lead, day):
    book(seller, lead, at(day, 10))
    page = page_for(seller)
    page.goto("/appointments/feed/")
    address = page.get_by_label("Calendar address")
    old = address.input_value()
    assert old.endswith(f"/calendar/{CalendarFeed.objects.get(user=seller).token}.ics")
    response = anon_page.request.get(old)  # a calendar app: no session
    assert response.status == 200
    assert len(icalendar.Calendar.from_ical(response.body()).walk("VEVENT")) == 1

    page.locator("summary", has_text="Reset the secret address").click()  # asks first
    page.get_by_role("button", name="Reset the address").click()
    expect(page.locator("#messages")).to_contain_text("new secret address")
    expect(address).not_to_have_value(old)
    new = address.input_value()
    assert anon_page.request.get(old).status == 404
    assert anon_page.request.get(new).status == 200


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_and_accessibility(page_for, users, seller, lead, day, width):
    other = LeadFactory(
        by=users["sales_manager"], owner=seller, first_name="Grace", last_name="Hopper"
    )
    book(seller, lead, at(day, 9), note="Bring the quote")
    book(seller, other, at(day, 13), note="Demo of the new plan")
    book(seller, lead, at(day + timedelta(days=2), 10))
    cancelled = book(seller, other, at(day + timedelta(days=3), 16), note="Called off")
    appointment_update(
        actor=Actor(user=seller), appointment=cancelled, changes={"status": "cancelled"}
    )
    monday = day - timedelta(days=day.weekday())
    page = page_for(seller, width=width, height=900)
    for url, name in [
        (f"/appointments/?from={monday.isoformat()}", "appointments-agenda"),
        (f"/appointments/week/?week={monday.isoformat()}", "appointments-week"),
        ("/appointments/feed/", "appointments-feed"),
        (f"/leads/{lead.slug}/", "appointments-lead-page"),
        (f"/leads/{lead.slug}/appointments/", "appointments-lead-section"),
    ]:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (
            url
        )  # no sideways scroll
        shoot(page, name)
        assert_accessible(page)
