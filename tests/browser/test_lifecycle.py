"""An appointment's life on the lead page in a real browser, as a salesperson and as a sales
manager at desktop and phone widths: confirm one to come, mark one that has started No-show,
cancel with a reason, and log a meeting that already happened, all in place."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from tests.browser.conftest import BROWSER_DB, assert_accessible, fill_when, settled, shoot
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = BROWSER_DB
WIDTHS = [1280, 390]


@pytest.mark.parametrize("role", ["salesperson", "sales_manager"])
@pytest.mark.parametrize("width", WIDTHS)
def test_confirm_no_show_cancel_and_log(page_for, users, role, width):
    user = users[role]
    lead = LeadFactory(by=users["sales_manager"], owner=users["salesperson"], first_name="Ada")
    coming = AppointmentFactory(lead=lead, by=user, note="Demo")
    other = AppointmentFactory(lead=lead, by=user, note="Second demo")
    past = AppointmentFactory(lead=lead, by=user, note="Intro call")
    start = timezone.now() - dt.timedelta(hours=3)
    Appointment.objects.filter(pk=past.pk).update(start=start, end=start + dt.timedelta(hours=1))

    page = page_for(user, width=width)
    page.goto(f"/leads/{lead.slug}/")
    item = page.locator(f"#appointment-{coming.pk}")
    item.get_by_role("button", name="Confirm").click()
    expect(page.locator(f"#appointment-{coming.pk} .appt-status")).to_have_text("Confirmed")
    settled(page)

    page.locator(f"#appointment-{past.pk}").get_by_role("button", name="No-show").click()
    expect(page.locator(f"#appointment-{past.pk} .appt-status")).to_have_text("No-show")
    settled(page)

    cancel = page.locator(f"#appointment-{other.pk}")
    cancel.locator("summary", has_text="Cancel").click()
    expect(cancel.get_by_label("Reason (optional)")).to_be_focused()
    cancel.get_by_label("Reason (optional)").fill("The lead is travelling")
    assert_accessible(page)
    cancel.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(f"#appointment-{other.pk} .appt-status")).to_have_text("Cancelled")
    expect(page.locator("#lead-timeline")).to_contain_text("The lead is travelling")
    settled(page)

    page.get_by_role("button", name="Log a meeting").click()
    form = page.locator("#log-meeting")
    met = timezone.localtime() - dt.timedelta(days=2)
    fill_when(form, "Start", f"{met:%Y-%m-%dT}10:00")
    fill_when(form, "End", f"{met:%Y-%m-%dT}11:00")
    form.get_by_label("Note").fill("Met at the fair")
    form.get_by_role("button", name="Log meeting").click()
    expect(page.locator("#lead-appointments")).to_contain_text("Met at the fair")
    settled(page)
    logged = Appointment.objects.get(note="Met at the fair")
    assert logged.status == AppointmentStatus.FULFILLED and logged.host == user
    coming.refresh_from_db()
    assert coming.status == AppointmentStatus.CONFIRMED
    assert_accessible(page)
    shoot(page, f"appointments-lifecycle-{role}")
