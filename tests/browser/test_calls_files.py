"""Calls, files and the duplicate warning in a real browser, as a salesperson and as a sales
manager, at desktop and phone widths: "Log a call" opens its form in place and the timeline
shows the call in full; a file is uploaded and deleted in place; creating a lead with the
email of another shows the warning, and "Save anyway" saves it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leads.models import CallLog, Lead, LeadFile
from tests.browser.conftest import BROWSER_DB, assert_accessible, settled, shoot, take_errors
from tests.factories import LeadFactory

pytestmark = BROWSER_DB
WIDTHS = [1280, 390]


@pytest.mark.parametrize("role", ["salesperson", "sales_manager"])
@pytest.mark.parametrize("width", WIDTHS)
def test_log_a_call_and_attach_a_file_on_the_lead_page(page_for, users, role, width, tmp_path):
    user = users[role]
    lead = LeadFactory(
        by=users["sales_manager"], owner=users["salesperson"], first_name="Ada", last_name="Lee"
    )
    page = page_for(user, width=width)
    page.goto(f"/leads/{lead.slug}/")

    # Log a call: the form opens in place, focus on its first field.
    button = page.get_by_role("button", name="Log a call")
    expect(page.get_by_label("Outcome")).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Outcome")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Outcome").select_option("Left a voicemail")
    page.get_by_label("Duration (minutes)").fill("3")
    page.get_by_label("Summary").fill("Asked for a call back after lunch.")
    page.get_by_role("button", name="Log call", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Call logged.")
    call = page.locator("#lead-timeline li").filter(has_text="Call logged").first
    expect(call).to_contain_text("Left a voicemail · 3 min")
    expect(call).to_contain_text("Asked for a call back after lunch.")
    settled(page)
    logged = CallLog.objects.get()
    assert (logged.user_id, logged.duration, logged.result) == (user.pk, 180, "Left a voicemail")

    # Upload a file, then delete it (after confirming).
    quote = tmp_path / "quote.txt"
    quote.write_text("12 seats")
    files = page.locator("#lead-files")
    files.get_by_label("File").set_input_files(quote)
    page.get_by_role("button", name="Upload").click()
    expect(files.get_by_role("link", name="quote.txt")).to_be_visible()
    expect(page.locator("#lead-timeline")).to_contain_text("File attached")
    settled(page)
    assert_accessible(page)
    shoot(page, f"lead-calls-files-{role}")
    files.get_by_role("button", name="Delete quote.txt").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete file").click()
    expect(files.get_by_role("link", name="quote.txt")).to_have_count(0)
    expect(files).to_contain_text("No files yet.")
    settled(page)
    assert LeadFile.objects.get().deleted_at is not None


@pytest.mark.parametrize("width", WIDTHS)
def test_duplicate_warning_and_save_anyway(page_for, users, width):
    salesperson = users["salesperson"]
    existing = LeadFactory(by=users["sales_manager"], owner=salesperson, email="ada@example.com")
    page = page_for(salesperson, width=width)
    page.goto("/leads/new/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Email").fill("ADA@example.com")
    page.get_by_role("textbox", name="Phone", exact=True).fill("5550100100")
    page.get_by_role("button", name="Create lead").click()
    warning = page.get_by_role("alert").filter(has_text="This lead may already exist")
    expect(warning).to_contain_text("same email")
    expect(warning.get_by_role("link", name=str(existing))).to_have_attribute(
        "href", f"/leads/{existing.slug}/"
    )
    assert Lead.objects.count() == 1
    errors = take_errors(page)  # the warning comes with 422, as a form with errors
    assert len(errors) == 1 and "422" in errors[0]
    assert_accessible(page)
    shoot(page, "lead-duplicate-warning")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lee")
    assert Lead.objects.count() == 2
