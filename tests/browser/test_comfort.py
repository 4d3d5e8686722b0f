"""Comfort and pictures (issue 14, items 15 and 16) in a real browser.

A salesperson works in the dark theme (the system's ``prefers-color-scheme``): the dashboard,
the leads list and a lead page stay readable and axe-clean. The keyboard: "/" goes to the
search, "?" lists the shortcuts in a dialog that Escape closes, "j" and "k" walk the leads of
a list, "n" starts a new lead. The dashboard draws its pictures (a funnel, new leads per week,
appointments per week) with a table of each; a sales manager switches them to a salesperson.
Screenshots at 1280 and 390 px, checked with axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment
from appointments.services import appointment_mark
from crm.domain import Actor
from tests.browser.conftest import BROWSER_DB, assert_accessible, settled, shoot
from tests.browser.test_every_page import is_dark
from tests.factories import AppointmentFactory, LeadFactory

pytestmark = BROWSER_DB

WIDTHS = (1280, 390)
# Where the layout does not change what a test checks, it runs at one width.
PHONE = (390,)
DESKTOP = (1280,)


def snap(page: Page, name: str) -> None:
    shoot(page, f"comfort-{name}")


@pytest.fixture
def leads(users):
    """Three leads of the salesperson (one with a kept appointment last week), and one of
    the sales manager's own."""
    manager, seller = users["sales_manager"], users["salesperson"]
    mine = [
        LeadFactory(
            by=manager,
            owner=seller,
            first_name=first,
            last_name="Buyer",
            status=status,
            source=source,
            company="Rhein-Main Handel GmbH",
        )
        for first, status, source in (
            ("Ada", "prospect", "website"),
            ("Bea", "contact", "referral"),
            ("Cem", "prospect", "email"),
        )
    ]
    LeadFactory(by=manager, owner=manager, first_name="Dora", last_name="Seller", source="phone")
    appointment = AppointmentFactory(lead=mine[0], by=manager, host=seller)
    start = timezone.now() - timedelta(days=8)
    Appointment.objects.filter(pk=appointment.pk).update(
        start=start, end=start + timedelta(hours=1)
    )
    appointment.refresh_from_db()
    appointment_mark(actor=Actor(user=manager), appointment=appointment, status="fulfilled")
    return mine


def background_of(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")


# --- item 15: the dark theme ----------------------------------------------------------------


@pytest.mark.parametrize("width", PHONE)
def test_a_salesperson_in_the_dark_theme_reads_every_page(page_for, users, leads, width):
    page = page_for(users["salesperson"], width=width)
    page.emulate_media(color_scheme="dark")
    for path, name in (
        ("/", "dark-dashboard"),
        ("/leads/", "dark-leads"),
        (f"/leads/{leads[0].slug}/", "dark-lead"),
    ):
        page.goto(path)
        assert is_dark(background_of(page, "html")), path
        assert is_dark(background_of(page, ".card, .table-wrap")), path
        assert not is_dark(page.eval_on_selector("h1", "e => getComputedStyle(e).color"))
        assert_accessible(page)
        snap(page, name)
    # The light theme is still the light one.
    page.emulate_media(color_scheme="light")
    page.goto("/")
    assert not is_dark(background_of(page, "html"))


def test_the_dark_theme_keeps_open_panels_and_the_table_alternatives_readable(
    page_for, users, leads
):
    page = page_for(users["salesperson"])
    page.emulate_media(color_scheme="dark")
    page.goto("/")
    for summary in page.locator(".chart-table summary").all():
        summary.click()
    expect(page.locator(".chart-table table").first).to_be_visible()
    assert_accessible(page)
    snap(page, "dark-dashboard-tables")


# --- item 15: keyboard shortcuts --------------------------------------------------------------


def test_slash_goes_to_the_search_but_not_while_typing(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/")
    page.keyboard.press("/")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.type("Ada")
    expect(page.locator("#global-search")).to_have_value("Ada")  # no "/" typed into it
    # On the leads list, "/" goes to the list's own search.
    page.goto("/leads/")
    page.locator("main h1").click()
    page.keyboard.press("/")
    search = page.locator("main input[name='search']")
    expect(search).to_be_focused()
    # While typing in a field, "/" is a character like any other.
    search.fill("a")
    page.keyboard.press("/")
    expect(search).to_have_value("a/")


@pytest.mark.parametrize("width", PHONE)
def test_question_mark_lists_the_shortcuts_and_escape_closes_it(page_for, users, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/leads/")
    page.locator("main h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for key, what in (
        ("/", "Search leads"),
        ("n", "New lead"),
        ("j", "Next item in a list"),
        ("k", "Previous item in a list"),
    ):
        expect(dialog.locator("dt", has_text=key).first).to_be_visible()
        expect(dialog.get_by_text(what)).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    assert_accessible(page)
    snap(page, "shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Again, then the Close button; and in the dark theme.
    page.emulate_media(color_scheme="dark")
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    snap(page, "shortcuts-dark")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize("width", DESKTOP)
def test_j_and_k_walk_the_leads_of_the_list(page_for, users, leads, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/leads/?sort=first_name")
    page.locator("main h1").click()
    names = page.locator("[data-nav-item]").filter(visible=True)
    expect(names).to_have_count(3)
    page.keyboard.press("j")
    expect(names.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(names.nth(1)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last
    expect(names.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(names.nth(1)).to_be_focused()
    # Enter opens the focused lead.
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"/leads/{leads[1].slug}/")


def test_j_and_k_walk_the_appointments_of_the_agenda(page_for, users, leads):
    """The same keys on another list (any row marked data-nav-item): "j" goes to the next
    appointment's lead link, "k" back, Enter opens that lead."""
    seller, manager = users["salesperson"], users["sales_manager"]
    start = timezone.now() + timedelta(days=1)
    for hours, lead in ((0, leads[2]), (2, leads[1]), (4, leads[0])):
        at = start + timedelta(hours=hours)
        AppointmentFactory(
            lead=lead, by=manager, host=seller, start=at, end=at + timedelta(hours=1)
        )
    page = page_for(seller)
    page.goto("/appointments/")
    page.locator("main h1").click()
    rows = page.locator("#agenda [data-nav-item]").filter(visible=True)
    expect(rows).to_have_count(3)
    links = [rows.nth(i).locator(".appt-lead a") for i in range(3)]
    page.keyboard.press("j")
    expect(links[0]).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(links[2]).to_be_focused()
    page.keyboard.press("k")
    expect(links[1]).to_be_focused()
    # A row's own button holding the focus counts as that row: "j" goes on from it.
    rows.nth(0).get_by_role("link", name=".ics").focus()
    page.keyboard.press("j")
    expect(links[1]).to_be_focused()
    snap(page, "agenda-j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"/leads/{leads[1].slug}/")


def test_n_starts_a_new_lead(page_for, users):
    page = page_for(users["jr_salesperson"])
    page.goto("/")
    page.locator("main h1").click()
    page.keyboard.press("n")
    expect(page).to_have_url("/leads/new/")


# --- item 16: the dashboard's pictures ---------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_salesperson_sees_the_pictures_and_their_tables(page_for, users, leads, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/")
    charts = page.locator(".chart-svg")
    expect(charts).to_have_count(3)
    for name in (
        "Leads by status — Your leads",
        "New leads per week by source — Your leads",
        "Appointments per week — Your leads",
    ):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    box = charts.first.bounding_box()
    assert box and box["width"] <= width and box["height"] > 100
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sideways
    funnel = page.locator("#chart-funnel")
    funnel.get_by_text("Show as a table").click()
    table = funnel.get_by_role("table")
    expect(table.get_by_role("row", name="Prospect 2")).to_be_visible()
    expect(table.get_by_role("row", name="Total 3")).to_be_visible()
    appointments = page.locator("#chart-appointments")
    expect(appointments.locator("rect.chart-kept")).to_have_count(1)
    assert_accessible(page)
    snap(page, "dashboard-pictures")


@pytest.mark.parametrize("width", DESKTOP)
def test_a_sales_manager_switches_the_pictures_to_a_salesperson(page_for, users, leads, width):
    page = page_for(users["sales_manager"], width=width)
    page.goto("/")
    expect(page.get_by_role("img", name="Leads by status — Whole team")).to_be_visible()
    total = page.locator("#chart-funnel tbody tr").last
    expect(total).to_contain_text("Total4")
    page.evaluate("window.__sameDocument = true")
    pick = page.get_by_label("Pictures of")
    pick.focus()
    pick.select_option(str(users["salesperson"].pk))
    settled(page)
    label = page.locator("#chart-person option:checked").inner_text()
    expect(page.get_by_role("img", name=f"Leads by status — {label}")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")  # swapped in place
    expect(page).to_have_url(f"/?person={users['salesperson'].pk}")
    expect(page.locator("#chart-funnel tbody tr").last).to_contain_text("Total3")
    expect(page.locator("#chart-appointments rect.chart-kept")).to_have_count(1)
    expect(pick).to_be_focused()  # the choice is not swapped away under the keyboard
    assert_accessible(page)
    snap(page, "dashboard-pictures-manager")
    # The address keeps the choice.
    page.reload()
    expect(page.get_by_role("img", name=f"Leads by status — {label}")).to_be_visible()
