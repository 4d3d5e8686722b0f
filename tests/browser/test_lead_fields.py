"""Issue 14, items 2, 3, 7 and 10 in a real browser, as a salesperson at 1280 and 390 px: a lead
with a mobile number, a city and the rest shows them grouped with the empty groups folded; the
edit form edits them and shows every error at once; the leads search finds "München", "Muller"
and the mobile number as people type it; a merge offers the non-empty values."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.browser.conftest import BROWSER_DB, assert_accessible, settled, shoot, take_errors
from tests.factories import LeadFactory

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]
# Where the layout does not change what a test checks, it runs at one width.
DESKTOP = [1280]


def shot(page: Page, name: str, part: str = "") -> None:
    """The full page, and ``part`` (a selector) alone, readable at a phone's width."""
    path = shoot(page, f"lead-fields-{name}")
    if part:
        page.locator(part).screenshot(path=path.with_name(f"{path.stem}-part.png"))


@pytest.fixture
def imported(users):
    """A salesperson's lead as a CSV import fills it: mobile, city, address, company."""
    return LeadFactory(
        by=users["salesperson"],
        first_name="Jürgen",
        last_name="Müller",
        email="jm@example.com",
        phone="",
        mobile_phone="5556079806",
        company="Bäckerei Groß",
        website="baeckerei.example",
        street="Marienplatz 1",
        city="München",
        zipcode="80331",
        country="Germany",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_lead_page_shows_every_field_grouped(page_for, users, imported, width):
    page = page_for(users["salesperson"], width=width)
    page.goto(f"/leads/{imported.slug}/")
    card = page.locator("#lead-details")
    contact = card.locator('details[data-group="contact"]')
    address = card.locator('details[data-group="address"]')
    marketing = card.locator('details[data-group="marketing"]')
    expect(contact).to_have_attribute("open", "")
    expect(contact.locator('[data-field="mobile_phone"]')).to_be_visible()
    expect(contact.locator('[data-field="mobile_phone"]')).to_contain_text("607")
    expect(address).to_have_attribute("open", "")
    expect(address.locator('[data-field="city"]')).to_have_text("München")
    expect(address.locator('[data-field="zipcode"]')).to_have_text("80331")
    expect(
        card.locator('details[data-group="company"] [data-field="website"] a')
    ).to_have_attribute("href", "https://baeckerei.example")
    # Empty groups are folded: their title shows, their fields do not until opened.
    expect(marketing).not_to_have_attribute("open", "")
    expect(marketing.get_by_role("heading", name="Marketing")).to_be_visible()
    expect(marketing.locator('[data-field="lead_score"]')).to_be_hidden()
    marketing.locator("summary").click()
    expect(marketing.locator('[data-field="lead_score"]')).to_be_visible()
    marketing.locator("summary").click()
    # Nothing runs off the side of a phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    shot(page, "lead-fields", "#lead-details")
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_edit_form_edits_them_and_shows_every_error_at_once(page_for, users, imported, width):
    page = page_for(users["salesperson"], width=width)
    page.goto(f"/leads/{imported.slug}/")
    page.get_by_role("link", name="Edit details").click()
    card = page.locator("#lead-details")
    expect(card.get_by_role("heading", name="Edit details")).to_be_visible()
    settled(page)
    expect(card.get_by_label("Mobile phone")).to_have_value("5556079806")
    expect(card.get_by_label("City")).to_have_value("München")
    # A folded, empty group opens to take a value.
    other = card.locator('details[data-group="other"]')
    expect(other).not_to_have_attribute("open", "")
    # Two errors of two kinds: the form's own (a required phone) and the domain's (an email).
    card.get_by_label("Email").fill("not-an-email")
    card.get_by_label("Mobile phone").fill("(555) 607-1111")
    card.get_by_label("City").fill("Köln")
    card.get_by_role("button", name="Save").click()
    expect(card.locator("#id_phone_error")).to_be_visible()
    expect(card.locator("#id_email_error")).to_have_text("Invalid email.")
    settled(page)
    errors = take_errors(page)
    assert errors and all("status of 422" in e for e in errors), errors
    expect(card.get_by_label("City")).to_have_value("Köln")  # nothing typed is lost
    shot(page, "lead-fields-errors", "#lead-details")
    assert_accessible(page)

    card.get_by_label("Email").fill("jm@baeckerei.example")
    card.locator("#id_phone").fill("555 607 2222")
    other.locator("summary").click()
    card.get_by_label("Description").fill("Met at the spring fair.")
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("heading", name="Details", exact=True)).to_be_visible()
    settled(page)
    expect(card.locator('[data-field="city"]')).to_have_text("Köln")
    expect(card.locator('[data-field="description"]')).to_have_text("Met at the spring fair.")
    imported.refresh_from_db()
    assert (imported.mobile_phone, imported.city, imported.phone) == (
        "5556071111",
        "Köln",
        "5556072222",
    )
    shot(page, "lead-fields-saved", "#lead-details")


@pytest.mark.parametrize("width", DESKTOP)
def test_the_search_forgives_accents_and_phone_formats(page_for, users, imported, width):
    LeadFactory(by=users["salesperson"], first_name="Ana", last_name="Costa", city="Lisboa")
    page = page_for(users["salesperson"], width=width)
    page.goto("/leads/")
    search = page.locator("#id_search")
    for term in (
        "München",
        "Muller",
        "munchen",
        "555-607-9806",
        "(555) 607 9806",
        "+1 555 607 9806",
    ):
        search.fill(term)
        search.press("Enter")
        settled(page)
        expect(page.locator("main")).to_contain_text("Müller")
        expect(page.locator("main")).not_to_contain_text("Costa")
        assert "search=" in page.url
    shot(page, "lead-search-phone", "main")
    assert_accessible(page)
    search.fill("Lisboa")
    search.press("Enter")
    settled(page)
    expect(page.locator("main")).to_contain_text("Costa")
    expect(page.locator("main")).not_to_contain_text("Müller")


def test_a_merge_offers_the_non_empty_values(page_for, users):
    manager = users["sales_manager"]
    keep = LeadFactory(by=manager, owner=None, first_name="Ann", last_name="Lee", email="")
    other = LeadFactory(
        by=manager,
        owner=users["salesperson"],
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        city="München",
    )
    Lead.objects.filter(pk=other.pk).update(is_unsubscribed=True)
    page = page_for(manager)
    page.goto(f"/leads/merge/?a={keep.slug}&b={other.slug}")
    for label in ("Email", "City", "Unsubscribed", "Owner"):
        group = page.get_by_role("group", name=label, exact=True)
        expect(group.get_by_role("radio").nth(1)).to_be_checked()
    shot(page, "merge-defaults", ".merge-form")
    assert_accessible(page)
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("heading", level=1, name="Ann Lee")).to_be_visible()
    keep.refresh_from_db()
    assert (keep.email, keep.city, keep.is_unsubscribed, keep.owner) == (
        "ann@example.com",
        "München",
        True,
        users["salesperson"],
    )
