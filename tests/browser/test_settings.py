"""Settings in a real browser, at desktop and phone widths: reached from the user's name in the
header; a time zone chosen there decides the hour a booking means and the week shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from tests.browser.conftest import BROWSER_DB, assert_accessible, fill_when, shoot
from tests.factories import LeadFactory

pytestmark = BROWSER_DB
WIDTHS = [1280, 390]
LA = "America/Los_Angeles"


@pytest.mark.parametrize("role", ["salesperson", "sales_manager"])
@pytest.mark.parametrize("width", WIDTHS)
def test_a_time_zone_of_ones_own(page_for, users, role, width):
    user = users[role]
    lead = LeadFactory(by=users["sales_manager"], owner=user, first_name="Ada", last_name="Lee")
    page = page_for(user, width=width)
    page.goto("/")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    page.get_by_label("Email").fill("me@example.com")
    page.get_by_label("Time zone").select_option(LA)
    assert_accessible(page)
    shoot(page, f"settings-{role}")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#messages")).to_contain_text("Settings saved.")
    user.refresh_from_db()
    assert (user.time_zone, user.email) == (LA, "me@example.com")

    day = dt.date(timezone.now().year + 1, 1, 12)  # winter: Los Angeles is UTC-8
    page.goto(f"/leads/{lead.slug}/")
    form = page.locator("form.appt-book")
    fill_when(form, "Start", f"{day}T09:00")
    fill_when(form, "End", f"{day}T09:30")
    form.get_by_role("button", name="Book appointment").click()
    expect(page.locator("#lead-appointments li.appt")).to_have_count(1)
    booked = Appointment.objects.get()
    assert booked.start == dt.datetime.combine(day, dt.time(17), tzinfo=dt.UTC)

    monday = day - dt.timedelta(days=day.weekday())
    page.goto(f"/appointments/week/?week={monday}")
    expect(page.locator(f"#appointment-{booked.pk}")).to_contain_text("09:00")
    column = page.locator("section.week-day").filter(has=page.locator(f"#week-{day}"))
    expect(column.locator(f"#appointment-{booked.pk}")).to_have_count(1)
