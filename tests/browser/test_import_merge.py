"""CSV import and merge in a real browser, at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, take_errors
from tests.factories import LeadFactory, NoteFactory

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]


def settled(page) -> None:
    """Wait until htmx has swapped and set up the new content (as a person would)."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


CSV = (
    b"First Name,Last Name,E-mail,Phone,Company,Notes\n"
    b"Ann,Lee,ANN@example.com,(555) 123-4567,Acme,Met at the fair\n"
    b"Bo,Ng,bo@example.com,555 222 3333,Globex,\n"
    b"Cy,Young,not-an-email,,,\n"
)


@pytest.mark.parametrize("width", WIDTHS)
def test_import_a_csv_updating_a_duplicate(page_for, users, width):
    sp = users["salesperson"]
    ann = LeadFactory(by=sp, first_name="Ann", last_name="Lee", email="ann@example.com")
    page = page_for(sp, width=width)

    page.goto("/import/")
    expect(page.get_by_role("heading", name="Import leads")).to_be_visible()
    shoot(page, "import-upload")
    assert_accessible(page)

    file_input = page.get_by_label(re.compile("^CSV file"))
    file_input.set_input_files(files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": b""}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#id_file_error")).to_have_text("The file is empty.")
    assert all("422" in error for error in take_errors(page))  # the refusal, as expected
    shoot(page, "import-upload-error")
    assert_accessible(page)

    file_input.set_input_files(files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(re.compile(r"/import/\d+/$"))
    expect(page.get_by_text("Read 3 rows from leads.csv")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.get_by_label("Notes")).to_have_value("message")

    # The duplicate of Ann, and Cy's error, are listed.
    duplicate = page.get_by_role("group", name="Row 2: Ann Lee")
    expect(duplicate).to_contain_text("same email")
    expect(duplicate.get_by_label("Skip")).to_be_checked()
    expect(page.get_by_text("Email: Invalid email.")).to_be_visible()

    # Changing a column updates the preview in place (htmx) and keeps the choices made.
    duplicate.get_by_label("Update the existing lead").check()
    page.get_by_label("Company").focus()  # as a keyboard user is, on the select they change
    page.get_by_label("Company").select_option("")
    expect(page.locator("table.import-preview th", has_text="Company")).to_have_count(0)
    settled(page)
    expect(page.get_by_label("Company")).to_be_focused()
    duplicate = page.get_by_role("group", name="Row 2: Ann Lee")
    expect(duplicate.get_by_label("Update the existing lead")).to_be_checked()
    page.get_by_label("Company").select_option("email")  # taken by the E-mail column
    expect(page.locator("#id_col_4_error")).to_have_text(
        "“Email” is already chosen for another column."
    )
    settled(page)
    assert all("422" in error for error in take_errors(page))  # the refusal, as expected
    page.get_by_label("Company").select_option("company")
    expect(page.locator("#id_col_4_error")).to_have_count(0)
    expect(page.locator("table.import-preview th", has_text="Company")).to_have_count(1)
    shoot(page, "import-review")
    assert_accessible(page)

    page.get_by_role("button", name="Import", exact=True).click()
    expect(
        page.get_by_text("Import finished: 1 created, 1 updated, 0 skipped, 1 not imported.")
    ).to_be_visible()
    counts = page.get_by_test_id("import-counts")
    expect(counts.locator("[data-count=created] .big-number")).to_have_text("1")
    expect(counts.locator("[data-count=updated] .big-number")).to_have_text("1")
    expect(counts.locator("[data-count=failed] .big-number")).to_have_text("1")
    shoot(page, "import-result")
    assert_accessible(page)

    ann.refresh_from_db()
    assert (ann.phone, ann.company, ann.message) == ("5551234567", "Acme", "Met at the fair")
    assert Lead.objects.filter(email="bo@example.com", owner=sp, source_id="import").exists()
    page.get_by_role("link", name="Ann Lee").click()
    expect(page).to_have_url(re.compile(rf"/leads/{ann.slug}/$"))
    expect(page.get_by_text("Acme").first).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_merge_two_leads(page_for, users, width):
    manager = users["sales_manager"]
    keep = LeadFactory(
        by=manager, first_name="Ann", last_name="Lee", email="ann@example.com", company=""
    )
    other = LeadFactory(
        by=manager,
        first_name="Annie",
        last_name="Leigh",
        email="annie@work.example",
        company="Acme",
    )
    NoteFactory(lead=keep, by=manager, text="Called Ann about the quote.")
    NoteFactory(lead=other, by=manager, text="Annie asked for a demo.")
    page = page_for(manager, width=width)

    page.goto(f"/leads/merge/?a={keep.slug}")
    page.locator("#merge-search").fill("Annie")
    choice = page.locator("#merge-results").get_by_role("link", name="Annie Leigh")
    expect(choice).to_be_visible()  # listed by htmx as the user types
    shoot(page, "merge-search")
    assert_accessible(page)
    choice.click()
    expect(page).to_have_url(re.compile(rf"\?a={keep.slug}&b={other.slug}$"))
    email = page.get_by_role("group", name="Email")
    expect(email.get_by_label(re.compile("ann@example.com"))).to_be_checked()
    expect(
        page.get_by_role("group", name="Company").get_by_label(re.compile("Acme"))
    ).to_be_checked()
    shoot(page, "merge")
    assert_accessible(page)

    email.get_by_label(re.compile("annie@work.example")).check()
    page.get_by_role("button", name="Merge").click()
    expect(page).to_have_url(re.compile(rf"/leads/{keep.slug}/$"))
    expect(page.get_by_text("Annie Leigh was merged into Ann Lee")).to_be_visible()
    notes = page.locator("p.note-text")  # the notes of both, on the kept lead's page
    expect(notes.filter(has_text="Called Ann about the quote.")).to_be_visible()
    expect(notes.filter(has_text="Annie asked for a demo.")).to_be_visible()
    expect(page.locator("#lead-timeline")).to_contain_text("Merged with Annie Leigh")
    shoot(page, "merge-done")

    keep.refresh_from_db()
    other.refresh_from_db()
    assert keep.email == "annie@work.example" and keep.company == "Acme" and other.is_deleted
