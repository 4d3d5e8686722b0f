"""Sign in, the dashboard, the leads list and the pipeline board in a real browser, as a
salesperson and as a sales manager: filters and pages swapped in place (no reload), bulk assign,
CSV export, drag and drop and the keyboard move menu; screenshots at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.domain import Actor
from crm.roles import Role
from leads.models import Event, EventType, Lead
from leads.services import lead_assign, lead_followup_set
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, take_errors
from tests.factories import PASSWORD, AppointmentFactory, LeadFactory

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]


def mark(page: Page) -> None:
    """Set a marker a full page load would wipe out."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.fixture
def leads(users):
    """Leads of the salesperson, one in its pool, and some of the manager's; by first name."""
    manager, sp = users["sales_manager"], users["salesperson"]
    made = {}
    for first, last, owner, status, company in [
        ("Alice", "Archer", sp, "prospect", "Acme"),
        ("Bruno", "Baker", sp, "contact", "Bakery"),
        ("Chloe", "Cook", None, "prospect", "Cookware"),
        ("Dmitri", "Diaz", sp, "tentative", "Diaz & Sons"),
        ("Emma", "Evans", manager, "prospect", "Evans Ltd"),
        ("Farid", "Fox", manager, "closed", "Fox Media"),
        ("Greta", "Gold", sp, "potential", "Gold Mining"),
    ]:
        made[first] = LeadFactory(
            by=manager,
            owner=owner,
            first_name=first,
            last_name=last,
            status=status,
            company=company,
            source="website" if owner == sp else "referral",
            email=f"{first.lower()}@mail.test",
        )
    return made


NAMES = "#lead-table tbody tr[data-slug] td:nth-child(2) a"


def rows(page: Page) -> list[str]:
    """The names in the leads table, top to bottom."""
    return page.locator(NAMES).all_inner_texts()


def expect_rows(page: Page, names: list[str]) -> None:
    """Wait until the table shows exactly these names, in this order."""
    expect(page.locator(NAMES)).to_have_text(names)


# --- sign in ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.SALES_MANAGER])
def test_sign_in_through_the_login_form(anon_page_for, users, leads, role):
    page = anon_page_for()
    page.goto("/leads/")
    assert urlsplit(page.url).path == "/accounts/login/"
    expect(page.get_by_role("heading", name="Sign in to Lead CRM")).to_be_visible()
    page.get_by_label("Username").fill(role.value)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Leads")).to_be_visible()
    assert urlsplit(page.url).path == "/leads/"  # back where the user wanted to go

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Lead CRM")).to_be_visible()
    page.goto("/")
    assert urlsplit(page.url).path == "/accounts/login/"


@pytest.mark.parametrize("width", WIDTHS)
def test_login_page_looks_right(anon_page_for, width):
    page = anon_page_for(width=width)
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()
    shoot(page, "core-login")
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_password_change(page_for, users, width):
    user = users["salesperson"]
    page = page_for(user, width=width)
    page.goto("/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Change your password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    shoot(page, "core-password-change")
    assert_accessible(page)
    new = "a-new-and-better-password-7"
    page.get_by_label("Old password").fill(PASSWORD)
    page.locator("#id_new_password1").fill(new)
    page.get_by_label("New password confirmation").fill(new)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password was changed.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    user.refresh_from_db()
    assert user.check_password(new)


# --- dashboard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "total", "prospects"),
    [(Role.SALESPERSON, 5, 2), (Role.SALES_MANAGER, 7, 3)],
)
@pytest.mark.parametrize("width", WIDTHS)
def test_dashboard_shows_the_counts(page_for, users, leads, role, total, prospects, width):
    sp, manager = users["salesperson"], users["sales_manager"]
    soon = timezone.now() + timedelta(days=2)
    AppointmentFactory(lead=leads["Bruno"], by=sp, start=soon, end=soon + timedelta(hours=1))
    lead_followup_set(
        actor=Actor(user=manager), lead=leads["Greta"], when=timezone.now() - timedelta(hours=3)
    )
    page = page_for(users[role], width=width)
    page.goto("/")
    mine = role == Role.SALESPERSON
    upcoming = page.get_by_role("heading", name="Upcoming").locator("xpath=following-sibling::ul")
    expect(upcoming).to_contain_text("Bruno Baker" if mine else "Nothing booked this week.")
    my_day = page.locator("#my-day-tasks")
    expect(my_day).to_contain_text("Greta Gold" if mine else "Nothing due today.")
    expect(page.get_by_test_id("total-leads")).to_have_text(str(total))
    prospect = page.locator('li[data-status="prospect"]')
    expect(prospect.locator(".count")).to_have_text(str(prospects))
    expect(prospect.get_by_role("link")).to_have_text("Prospect")
    shoot(page, f"core-dashboard-{role.value}")
    assert_accessible(page)
    prospect.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1, name="Leads")).to_be_visible()
    assert len(rows(page)) == prospects


# --- leads list ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_leads_list_filters_in_place(page_for, users, leads, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/leads/")
    expect(page.locator("#lead-table tbody tr[data-slug]")).to_have_count(5)
    shoot(page, "core-leads-list")
    assert_accessible(page)
    mark(page)

    page.locator("#id_search").press_sequentially("er")  # Archer, Baker and Bakery
    expect_rows(page, ["Bruno Baker", "Alice Archer"])  # newest first
    if width == 390:  # on a phone the filters are folded behind "Filters" (issue 14)
        page.get_by_role("button", name="Filters").click()
    page.locator("#id_status").select_option("prospect")
    expect_rows(page, ["Alice Archer"])
    page.locator("#id_search").fill("cook")
    expect_rows(page, ["Chloe Cook"])
    assert_not_reloaded(page)
    expect(page).to_have_url(re.compile(r"search=cook"))
    query = query_of(page)
    assert query["search"] == ["cook"] and query["status"] == ["prospect"]
    assert "source=" not in page.url  # only the filters in use, not every empty field

    # The URL is a bookmark: opened afresh it shows the same list and filters.
    page.reload()
    expect_rows(page, ["Chloe Cook"])
    expect(page.locator("#id_search")).to_have_value("cook")
    expect(page.locator("#id_status")).to_have_value("prospect")


def test_sort_and_walk_the_pages(page_for, users, leads, settings):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 3}
    page = page_for(users["sales_manager"])
    page.goto("/leads/")
    mark(page)
    page.locator("#lead-table thead").get_by_role("link", name="Name").click()
    expect(page.locator("#lead-table th[aria-sort='ascending']")).to_contain_text("Name")
    expect_rows(page, ["Alice Archer", "Bruno Baker", "Chloe Cook"])
    assert query_of(page)["ordering"] == ["last_name"]

    page.get_by_role("link", name="Next →").click()
    expect_rows(page, ["Dmitri Diaz", "Emma Evans", "Farid Fox"])
    assert "after" in query_of(page) and query_of(page)["ordering"] == ["last_name"]
    page.get_by_role("link", name="Next →").click()
    expect_rows(page, ["Greta Gold"])
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)

    page.get_by_role("link", name="← Previous").click()
    expect_rows(page, ["Dmitri Diaz", "Emma Evans", "Farid Fox"])

    page.locator("#lead-table thead").get_by_role("link", name=re.compile("Name")).click()
    expect(page.locator("#lead-table th[aria-sort='descending']")).to_contain_text("Name")
    expect_rows(page, ["Greta Gold", "Farid Fox", "Emma Evans"])
    assert_not_reloaded(page)

    page.go_back()  # htmx restores the previous URL's list
    expect(page.locator("#lead-table th[aria-sort='ascending']")).to_contain_text("Name")
    expect_rows(page, ["Dmitri Diaz", "Emma Evans", "Farid Fox"])


def test_a_filter_chosen_after_sorting_keeps_the_sort(page_for, users, leads):
    page = page_for(users["sales_manager"], width=390)
    page.goto("/leads/")
    mark(page)
    page.locator("#lead-table thead").get_by_role("link", name="Name").click()
    expect(page.locator("#lead-table th[aria-sort='ascending']")).to_contain_text("Name")
    page.get_by_role("button", name="Filters").click()  # folded on a phone (issue 14)
    page.locator("#id_status").select_option("prospect")
    expect_rows(page, ["Alice Archer", "Chloe Cook", "Emma Evans"])  # not newest first
    assert query_of(page)["ordering"] == ["last_name"]
    assert query_of(page)["status"] == ["prospect"]
    assert_not_reloaded(page)


def test_bulk_assign_two_leads_as_the_manager(page_for, users, leads):
    page = page_for(users["sales_manager"])
    page.goto("/leads/?ordering=last_name")
    mark(page)
    for name in ("Chloe Cook", "Emma Evans"):
        page.get_by_role("checkbox", name=f"Select {name}").check()
    page.get_by_label("Bulk action").select_option("assign")
    page.locator("#id_bulk_assignee").select_option("jr_salesperson")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_contain_text("Assigned 2 leads.")
    for name in ("Chloe", "Emma"):
        row = page.locator(f'#lead-table tr[data-slug="{leads[name].slug}"]')
        expect(row.locator("td").last).to_have_text("jr_salesperson")
        assert Lead.objects.get(pk=leads[name].pk).assignee == users["jr_salesperson"]
    assert Lead.objects.filter(assignee=users["jr_salesperson"]).count() == 2
    expect(page.get_by_role("checkbox", name="Select Chloe Cook")).not_to_be_checked()
    assert_not_reloaded(page)
    shoot(page, "core-leads-bulk-assigned")


def test_bulk_refusal_is_shown_where_the_user_looks(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/leads/?ordering=last_name")
    page.get_by_role("checkbox", name="Select Alice Archer").check()
    # A pool lead is not the salesperson's to change: it cannot be ticked (issue 14); a lead
    # given away meanwhile is still refused, and said so.
    expect(page.get_by_role("checkbox", name="Chloe Cook: not yours to change")).to_be_disabled()
    page.get_by_role("checkbox", name="Select Bruno Baker").check()
    lead_assign(
        actor=Actor(user=users["sales_manager"]),
        lead=leads["Bruno"],
        people={"owner": users["sales_manager"], "assignee": users["salesperson"]},
    )
    page.get_by_label("Bulk action").select_option("delete")
    page.get_by_role("button", name="Apply to selected").click()
    page.get_by_role("button", name="Delete 2 leads").click()  # asked first (issue 14)
    expect(page.get_by_role("alert")).to_contain_text("Bruno Baker: You can't delete this lead.")
    expect(page.get_by_role("status")).to_contain_text("Deleted 1 lead.")
    expect_rows(page, ["Bruno Baker", "Chloe Cook", "Dmitri Diaz", "Greta Gold"])
    assert Lead.objects.get(pk=leads["Alice"].pk).is_deleted
    assert not Lead.objects.get(pk=leads["Bruno"].pk).is_deleted


def test_export_csv_of_a_filter(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/leads/")
    page.locator("#id_status").select_option("prospect")
    expect_rows(page, ["Chloe Cook", "Alice Archer"])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV of this filter").click()
    download = download_info.value
    assert re.fullmatch(r"leads-\d{8}-\d{4}\.csv", download.suggested_filename)
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    header, *body = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert header[:3] == ["First name", "Last name", "Email"]
    status = header.index("Status")
    assert sorted((r[0], r[status]) for r in body) == [("Alice", "Prospect"), ("Chloe", "Prospect")]


# --- pipeline -----------------------------------------------------------------------------


def card(page: Page, lead: Lead):
    return page.locator(f'.board-card[data-slug="{lead.slug}"]')


def column(page: Page, status: str):
    return page.locator(f'.board-column[data-status="{status}"]')


@pytest.mark.parametrize("width", WIDTHS)
def test_pipeline_looks_right(page_for, users, leads, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/pipeline/")
    expect(column(page, "prospect").locator(".board-card")).to_have_count(2)
    expect(column(page, "prospect").locator(".count")).to_have_text("2")
    shoot(page, "core-pipeline")
    assert_accessible(page)


def test_drag_a_card_to_another_column(page_for, users, leads):
    page = page_for(users["sales_manager"])
    page.goto("/pipeline/")
    mark(page)
    emma = leads["Emma"]
    card(page, emma).drag_to(column(page, "customer"))
    expect(column(page, "customer").locator(f'[data-slug="{emma.slug}"]')).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Emma Evans moved to Customer.")
    expect(column(page, "customer").locator(".count")).to_have_text("1")
    expect(column(page, "prospect").locator(".count")).to_have_text("2")
    assert_not_reloaded(page)
    assert Lead.objects.get(pk=emma.pk).status_id == "customer"
    event = Event.objects.get(lead=emma, type=EventType.STATUS_CHANGED)
    assert event.data == {"from": "prospect", "to": "customer"}

    # Dropped back on its own column: nothing is sent, nothing changes.
    card(page, emma).drag_to(column(page, "customer"))
    assert Event.objects.filter(lead=emma, type=EventType.STATUS_CHANGED).count() == 1


def test_move_a_card_with_the_keyboard_only(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/pipeline/")
    mark(page)
    alice = leads["Alice"]
    summary = card(page, alice).locator("summary")
    summary.focus()
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(card(page, alice).locator("details")).to_have_attribute("open", "")
    # The menu is fetched as it opens; focus stays on its summary meanwhile.
    expect(card(page, alice).get_by_role("button", name="Closed")).to_be_visible()
    expect(summary).to_be_focused()
    shoot(page, "core-pipeline-move-menu")
    wanted = "Closed"
    for _ in range(10):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused == wanted:
            break
    else:
        pytest.fail(f"Tab never reached the {wanted!r} button")
    page.keyboard.press("Enter")
    expect(column(page, "closed").locator(f'[data-slug="{alice.slug}"]')).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Alice Archer moved to Closed.")
    # The board is drawn anew; the keyboard user goes on from the moved card.
    expect(card(page, alice).get_by_role("link")).to_be_focused()
    assert_not_reloaded(page)
    assert Lead.objects.get(pk=alice.pk).status_id == "closed"


def test_a_card_the_user_may_not_change_offers_no_move(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/pipeline/")
    chloe = leads["Chloe"]  # in the pool: seen, but not the salesperson's to change
    expect(card(page, chloe)).to_be_visible()
    expect(card(page, chloe).locator("summary")).to_have_count(0)
    expect(card(page, chloe)).not_to_have_attribute("draggable", "true")
    expect(card(page, leads["Alice"]).locator("summary")).to_have_count(1)


def test_a_move_menu_opened_too_late_says_why(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/pipeline/")
    alice = leads["Alice"]
    people = {"owner": users["sales_manager"], "assignee": users["salesperson"]}
    lead_assign(actor=Actor(user=users["sales_manager"]), lead=alice, people=people)
    card(page, alice).locator("summary").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "You may not change the status of Alice Archer."
    )
    expect(card(page, alice).get_by_role("button")).to_have_count(0)
    errors = take_errors(page)  # the refusal (403), as htmx and chromium log it: expected
    assert errors and all("403" in error for error in errors), errors


def test_a_refused_move_shows_the_error(page_for, users, leads):
    page = page_for(users["salesperson"])
    page.goto("/pipeline/")
    alice = leads["Alice"]
    card(page, alice).locator("summary").click()
    customer = card(page, alice).get_by_role("button", name="Customer")
    expect(customer).to_be_visible()
    # After the menu was shown, a manager takes the lead over and leaves it assigned to the
    # salesperson: still seen, no longer theirs to change. The move is refused, and says why.
    people = {"owner": users["sales_manager"], "assignee": users["salesperson"]}
    lead_assign(actor=Actor(user=users["sales_manager"]), lead=alice, people=people)
    customer.click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Alice Archer was not moved: You are not the owner of this lead."
    )
    expect(column(page, "prospect").locator(f'[data-slug="{alice.slug}"]')).to_be_visible()
    assert Lead.objects.get(pk=alice.pk).status_id == "prospect"
