"""One time format in text and inputs (issue 14, item 10): in a chromium set to en-US, whose
datetime-local inputs show a 12-hour clock ("02:30 PM"), a salesperson types 14:30 into the
24-hour time input, sees 14:30 there, and the booked appointment reads 14:30 too."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, when_inputs
from tests.factories import LeadFactory

pytestmark = BROWSER_DB


def test_a_salesperson_books_at_14_30_in_an_en_us_browser(page_for, users):
    seller = users["salesperson"]
    lead = LeadFactory(by=users["sales_manager"], owner=seller)
    ahead = timezone.localdate() + timedelta(days=21)
    tuesday = ahead - timedelta(days=ahead.weekday()) + timedelta(days=1)

    for width, day in ((1280, tuesday), (390, tuesday + timedelta(days=1))):
        page = page_for(seller, width=width, locale="en-US")
        page.goto(f"/leads/{lead.slug}/")
        # The browser's own clock would be 12-hour: a datetime-local input would say "PM".
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().locale") == "en-US"
        assert "PM" in page.evaluate(
            "new Date(2030, 0, 15, 14, 30).toLocaleTimeString([], {timeStyle: 'short'})"
        )
        assert page.locator('input[type="datetime-local"], input[type="time"]').count() == 0
        # Every time input on the page (book, log a meeting, a task's due, a call) is 24-hour.
        for value in page.locator("input.when-time").evaluate_all("els => els.map(e => e.value)"):
            assert value == "" or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value), value

        form = page.locator("form.appt-book")
        start_date, start_time = when_inputs(form, "Start")
        end_date, end_time = when_inputs(form, "End")
        expect(start_time).to_have_attribute("inputmode", "numeric")
        expect(form.get_by_text("24-hour, e.g. 14:30").first).to_be_visible()
        start_date.fill(day.isoformat())
        start_time.fill("14:30")
        end_date.fill(day.isoformat())
        end_time.fill("15:30")
        expect(start_time).to_have_value("14:30")  # as typed: not "02:30 PM"
        shoot(page, "time-format-typed")
        form.get_by_role("button", name="Book appointment").click()

        booked = page.locator("#lead-appointments li.appt", has_text=day.strftime("%b %-d"))
        expect(booked).to_have_count(1)
        expect(booked.locator(".appt-when")).to_contain_text("14:30")
        expect(booked.locator(".appt-when")).to_contain_text("15:30")
        expect(booked.locator(".appt-when")).not_to_contain_text("PM")
        assert_accessible(page)

        # Its move form shows the stored time the same way.
        booked.locator("summary", has_text="Move").click()
        move = booked.locator("form.appt-move-form")
        moved_date, moved_time = when_inputs(move, "Start")
        expect(moved_time).to_have_value("14:30")
        expect(moved_date).to_have_value(day.isoformat())
        shoot(page, "time-format-booked")
        assert_accessible(page)

        stored = Appointment.objects.get(start__date=day)
        wall = timezone.make_aware(datetime.combine(day, time(14, 30)))
        assert stored.start == wall and stored.end == wall + timedelta(hours=1)
