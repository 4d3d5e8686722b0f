"""The lead page and the lead create/edit forms in a real browser, as a salesperson: errors
next to the fields, inline edit, status change and notes in place (no page reload), and
screenshots at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm.domain import Actor
from leads.models import Event, EventType, Lead, LeadNote
from leads.services import field_create, lead_update
from tests.browser.conftest import BROWSER_DB, assert_accessible, settled, shoot, take_errors
from tests.factories import LeadFactory, NoteFactory

pytestmark = BROWSER_DB

PHONE_MESSAGE = "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."


def mark(page: Page) -> None:
    """Set a marker a full page load would wipe out."""
    page.evaluate("window.__marker = 1")


def take_422(page: Page) -> None:
    """Chromium logs a 422 answer (a form with errors) as a console error: expected here."""
    errors = take_errors(page)
    assert errors and all("status of 422" in error for error in errors), errors


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


@pytest.fixture
def lead(users):
    salesperson = users["salesperson"]
    lead = LeadFactory(
        owner=salesperson,
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        title="Head of research",
        source="referral",
        location="London",
        message="Asked for a demo of the difference engine.",
    )
    NoteFactory(lead=lead, by=salesperson, text="Called; wants a quote by Friday.")
    return lead


def test_create_a_lead_fixing_bad_input(page_for, users):
    page = page_for(users["salesperson"])
    page.goto("/leads/new/")
    expect(page.get_by_role("heading", name="New lead")).to_be_visible()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email").fill("grace-at-navy")
    page.get_by_role("textbox", name="Phone", exact=True).fill("12ab")
    mark(page)
    page.get_by_role("button", name="Create lead").click()
    # The domain's messages, next to their fields, the form swapped in place.
    expect(page.locator("#id_email_error")).to_have_text("Invalid email.")
    expect(page.locator("#id_phone_error")).to_have_text(PHONE_MESSAGE)
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    settled(page)
    take_422(page)
    assert_not_reloaded(page)
    assert page.get_by_label("First name").input_value() == "Grace"  # nothing typed is lost
    shoot(page, "lead-create-errors")
    assert_accessible(page)

    page.get_by_label("Email").fill("grace@navy.example")
    page.get_by_role("textbox", name="Phone", exact=True).fill("(555) 010-9999")
    page.get_by_label("Tags").fill("admiral, cobol")
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_role("heading", level=1, name="Grace Hopper")).to_be_visible()
    expect(page.get_by_text("Lead Grace Hopper created.")).to_be_visible()
    lead = Lead.objects.get(email="grace@navy.example")
    assert page.url.endswith(f"/leads/{lead.slug}/")
    assert (lead.owner, lead.phone) == (users["salesperson"], "5550109999")
    expect(page.locator("#lead-details .tag")).to_have_text(["admiral", "cobol"])


def test_inline_edit_swaps_the_details_card(page_for, users, lead):
    page = page_for(users["salesperson"])
    page.goto(f"/leads/{lead.slug}/")
    mark(page)
    page.get_by_role("link", name="Edit details").click()
    card = page.locator("#lead-details")
    expect(card.get_by_role("heading", name="Edit details")).to_be_visible()
    settled(page)
    expect(card.get_by_label("First name")).to_be_focused()
    assert_not_reloaded(page)
    shoot(page, "lead-inline-edit")
    assert_accessible(page)

    # Cancel swaps the details back unchanged.
    card.get_by_role("link", name="Cancel").click()
    expect(card.get_by_role("heading", name="Details", exact=True)).to_be_visible()
    settled(page)

    page.get_by_role("link", name="Edit details").click()
    expect(card.get_by_role("heading", name="Edit details")).to_be_visible()
    settled(page)
    card.get_by_label("Email").fill("broken")
    card.get_by_role("button", name="Save").click()
    expect(card.locator("#id_email_error")).to_have_text("Invalid email.")
    settled(page)
    take_422(page)

    card.get_by_label("Email").fill("ada@engines.example")
    card.get_by_label("Company").fill("Babbage & Co")
    card.get_by_label("Last name").fill("King")
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("heading", name="Details", exact=True)).to_be_visible()
    settled(page)
    expect(card).to_contain_text("Babbage & Co")
    expect(card).to_contain_text("ada@engines.example")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada King")  # out of band
    expect(page.get_by_text("Lead saved.")).to_be_visible()
    assert_not_reloaded(page)
    lead.refresh_from_db()
    assert (lead.company, lead.last_name) == ("Babbage & Co", "King")


def test_change_the_status_in_place(page_for, users, lead):
    page = page_for(users["salesperson"])
    page.goto(f"/leads/{lead.slug}/")
    badge = page.get_by_test_id("status-badge")
    expect(badge).to_have_text("Prospect")
    mark(page)
    controls = page.locator("#lead-controls")
    controls.get_by_label("Status").select_option(label="Customer")
    controls.get_by_role("button", name="Change status").click()
    expect(badge).to_have_text("Customer")
    expect(page.locator("#lead-timeline li").first).to_contain_text("Status changed")
    expect(page.get_by_text("Status changed to Customer.")).to_be_visible()
    assert_not_reloaded(page)
    assert Event.objects.filter(lead=lead, type=EventType.STATUS_CHANGED).count() == 1
    # The badge keeps the status's colour.
    colour = badge.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(21, 128, 61)"  # #15803d, the seeded colour of "customer"


def test_add_and_delete_a_note_in_place(page_for, users, lead):
    page = page_for(users["salesperson"])
    page.goto(f"/leads/{lead.slug}/")
    mark(page)
    notes = page.locator("#lead-notes")
    notes.get_by_role("button", name="Add note").click()
    expect(notes.locator("#id_note_error")).to_have_text("This field is required.")
    settled(page)
    take_422(page)

    notes.get_by_label("Note").fill("Sent the quote.")
    notes.get_by_role("button", name="Add note").click()
    expect(notes.locator(".note-text").first).to_have_text("Sent the quote.")
    expect(notes.get_by_label("Note")).to_have_value("")
    expect(page.locator("#lead-timeline li").first).to_contain_text("Note added")
    settled(page)
    assert_not_reloaded(page)

    note = LeadNote.objects.get(lead=lead, text="Sent the quote.")
    notes.locator(f"#note-{note.pk}").get_by_role("button", name=re.compile("^Delete")).click()
    expect(notes.locator(".note-text", has_text="Sent the quote.")).to_have_count(0)
    expect(notes.locator(".note-deleted")).to_contain_text("Sent the quote.")  # with "Undo"
    expect(notes.get_by_text("Called; wants a quote by Friday.")).to_be_visible()
    expect(page.locator("#lead-timeline li").first).to_contain_text("Note deleted")
    expect(page.get_by_text("Note deleted.")).to_be_visible()
    assert_not_reloaded(page)
    note.refresh_from_db()
    assert note.deleted_at is not None


@pytest.fixture
def custom_fields(db):
    """One custom field of each widget kind, and one salespeople may read but not change."""
    return {
        "seats": field_create(label="Seats", data_type="number", is_required=True),
        "renewal": field_create(label="Renewal date", data_type="date"),
        "plan": field_create(label="Plan", data_type="picklist", options=["Basic", "Pro"]),
        "vip": field_create(label="VIP", data_type="boolean"),
        "background": field_create(label="Background", data_type="textarea"),
        "region": field_create(label="Sales region", is_editable_in_contact_manager=False),
    }


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_of_the_lead_pages(page_for, users, lead, custom_fields, width):
    values = {"seats": 12, "renewal": "2030-01-31", "plan": "Pro", "vip": True}
    values |= {"region": "North"}
    custom = {custom_fields[key].system_name: value for key, value in values.items()}
    lead_update(actor=Actor(user=users["salesperson"]), lead=lead, data={}, tags=["vip", "demo"])
    Lead.objects.filter(pk=lead.pk).update(custom_fields=custom)  # as if set before "Seats" was
    page = page_for(users["salesperson"], width=width, height=900 if width > 600 else 844)
    page.goto(f"/leads/{lead.slug}/")
    expect(page.get_by_role("heading", level=1, name="Ada Lovelace")).to_be_visible()
    expect(page.locator("#lead-details")).to_contain_text("Sales region\nNorth")
    shoot(page, "lead-page")
    assert_accessible(page)

    page.goto(f"/leads/{lead.slug}/edit/")
    expect(page.get_by_role("heading", level=1, name="Edit Ada Lovelace")).to_be_visible()
    expect(page.get_by_label("Seats")).to_have_value("12")
    expect(page.get_by_label("Renewal date")).to_have_value("2030-01-31")
    expect(page.get_by_label("VIP")).to_be_checked()
    expect(page.get_by_label("Sales region")).to_be_disabled()
    shoot(page, "lead-edit")
    assert_accessible(page)

    page.goto("/leads/new/")
    expect(page.get_by_label("First name")).to_be_visible()
    shoot(page, "lead-create")
    assert_accessible(page)


def test_a_manager_sees_the_owner_and_assignee_selects(page_for, users, lead):
    page = page_for(users["sales_manager"])
    page.goto(f"/leads/{lead.slug}/")
    controls = page.locator("#lead-controls")
    controls.get_by_label("Assignee").select_option(label="sales_manager")
    mark(page)
    controls.get_by_role("button", name="Save people").click()
    expect(page.get_by_text("Assignee: sales_manager.")).to_be_visible()
    assert_not_reloaded(page)
    shoot(page, "lead-page-manager")
    assert_accessible(page)
    lead.refresh_from_db()
    assert lead.assignee == users["sales_manager"]


def test_delete_the_lead_after_confirming(page_for, users, lead):
    page = page_for(users["salesperson"])
    page.goto(f"/leads/{lead.slug}/")
    page.get_by_role("button", name="Delete lead").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete lead").click()
    expect(
        page.get_by_text("Lead Ada Lovelace deleted. An administrator can restore it.")
    ).to_be_visible()
    assert page.url.endswith("/leads/")
    lead.refresh_from_db()
    assert lead.status_id == "deleted"


def test_an_administrator_erases_personal_data_after_confirming(page_for, users, lead):
    status = lead.status_id
    page = page_for(users["administrator"])
    page.goto(f"/leads/{lead.slug}/")
    page.get_by_role("button", name="Erase personal data").click()
    asked = page.get_by_role("alertdialog")
    expect(asked).to_contain_text("cannot be undone")
    asked.get_by_role("button", name="Keep it").click()
    expect(asked).to_be_hidden()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).first_name == "Ada"  # kept: nothing erased

    page.get_by_role("button", name="Erase personal data").click()
    asked.get_by_role("button", name="Erase personal data").click()
    expect(page.get_by_text("Personal data erased.")).to_be_visible()
    expect(page.get_by_role("heading", name="Erased")).to_be_visible()
    shoot(page, "lead-page-erased")
    lead.refresh_from_db()
    assert (lead.first_name, lead.company, lead.status_id) == ("Erased", "", status)
    assert not LeadNote.objects.filter(lead=lead).exclude(text="").exists()
