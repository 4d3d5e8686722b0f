"""The team calendar in a real browser: a sales manager opens the week, chooses a host in
"Host" and sees that host's appointments, then everyone's with each host named; moves one
in place without losing the choice, and books for another host. Screenshots at 1280 and
390 px, checked with axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Appointment
from tests import test_team_calendar as team
from tests.browser.conftest import BROWSER_DB, assert_accessible, fill_when, settled, shoot
from tests.factories import AppointmentFactory, LeadFactory
from tests.test_team_calendar import at, typed

# The unit tests' fixtures: another salesperson, and a Tuesday weeks ahead and its Monday.
colleague, day, monday = team.colleague, team.day, team.monday

pytestmark = BROWSER_DB

WIDTHS = (1280, 390)


def keep_watch(page: Page) -> None:
    """Marks the document; ``reloaded(page)`` tells whether it was replaced since."""
    page.evaluate("window.__sameDocument = true")


def reloaded(page: Page) -> bool:
    return not page.evaluate("window.__sameDocument === true")


def host_filter(page: Page):
    """The "Host" select of the filter (the booking form has a "Host" of its own)."""
    return page.locator("form.appt-hosts").get_by_label("Host")


@pytest.fixture
def lead(manager, colleague):
    return LeadFactory(by=manager, owner=colleague, first_name="Ada", last_name="Lovelace")


def book(user, lead, start, note="", **kwargs) -> Appointment:
    return AppointmentFactory(
        lead=lead, by=user, start=start, end=start + timedelta(hours=1), note=note, **kwargs
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_chooses_a_host_then_everyone(
    page_for, manager, colleague, lead, day, monday, width
):
    theirs = book(colleague, lead, at(day, 10), note="Demo by the second salesperson")
    own_lead = LeadFactory(by=manager, owner=manager, first_name="Grace", last_name="Hopper")
    mine = book(manager, own_lead, at(day + timedelta(days=1), 15), note="Mine")
    page = page_for(manager, width=width)
    page.goto(f"/appointments/week/?week={monday.isoformat()}")
    keep_watch(page)
    expect(host_filter(page)).to_have_value("")  # Me
    expect(page.locator(f"#appointment-{mine.pk}")).to_be_visible()
    expect(page.locator(f"#appointment-{theirs.pk}")).to_have_count(0)

    # One host: the colleague's week, in place, the address following.
    host_filter(page).select_option(label="Second Salesperson (salesperson_two)")
    item = page.locator(f"#appointment-{theirs.pk}")
    expect(item).to_be_visible()
    expect(item).to_contain_text("Demo by the second salesperson")
    expect(page.locator(f"#appointment-{mine.pk}")).to_have_count(0)
    settled(page)
    assert page.url.endswith(f"?week={monday.isoformat()}&host={colleague.pk}")
    expect(host_filter(page)).to_have_value(str(colleague.pk))

    # Everyone: both, each naming its host; the week links keep the choice.
    host_filter(page).select_option(label="Everyone")
    expect(page.locator(f"#appointment-{mine.pk}")).to_be_visible()
    expect(item.locator(".appt-host")).to_have_text("Host: Second Salesperson")
    expect(page.locator(f"#appointment-{mine.pk} .appt-host")).to_have_text(f"Host: {manager}")
    settled(page)
    assert page.url.endswith(f"?week={monday.isoformat()}&host=all")
    assert not reloaded(page)
    page.get_by_role("link", name="Next week").click()
    settled(page)
    expect(host_filter(page)).to_have_value("all")
    page.get_by_role("link", name="Previous week").click()
    expect(item).to_be_visible()
    settled(page)
    expect(host_filter(page)).to_have_value("all")
    shoot(page, "team-calendar-week-everyone")
    # Nothing sticks out of the page on a phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    assert_accessible(page)


def test_a_move_in_place_keeps_everyone(page_for, manager, colleague, lead, day, monday):
    theirs = book(colleague, lead, at(day, 10))
    page = page_for(manager)
    page.goto(f"/appointments/week/?week={monday.isoformat()}&host=all")
    keep_watch(page)
    item = page.locator(f"#appointment-{theirs.pk}")
    item.locator("summary", has_text="Move").click()
    form = item.locator("form.appt-move-form")
    expect(form).to_be_visible()
    thursday = day + timedelta(days=2)
    fill_when(form, "Start", typed(at(thursday, 15)))
    fill_when(form, "End", typed(at(thursday, 16)))
    form.get_by_role("button", name="Save new time").click()
    expect(page.locator("#messages")).to_contain_text("Appointment moved to")
    moved = (
        page.locator(f"#week-{thursday.isoformat()}")
        .locator("..")
        .locator(f"#appointment-{theirs.pk}")
    )
    expect(moved).to_contain_text("15:00")
    expect(moved.locator(".appt-host")).to_have_text("Host: Second Salesperson")  # still everyone's
    expect(host_filter(page)).to_have_value("all")
    assert not reloaded(page)
    theirs.refresh_from_db()
    assert theirs.start == at(thursday, 15) and theirs.host == colleague


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_books_for_another_host(page_for, manager, colleague, lead, day, monday, width):
    page = page_for(manager, width=width)
    page.goto(f"/appointments/week/?week={monday.isoformat()}&host=all")
    form = page.locator("#week form").filter(has=page.get_by_label("Lead"))
    expect(form.get_by_label("Host")).to_have_value(str(manager.pk))  # themselves by default
    form.get_by_label("Lead").select_option(label="Ada Lovelace")
    form.get_by_label("Host").select_option(label="Second Salesperson (salesperson_two)")
    fill_when(form, "Start", typed(at(day, 8)))
    fill_when(form, "End", typed(at(day, 9)))
    form.get_by_label("Note").fill("Booked for the colleague")
    form.get_by_role("button", name="Book appointment").click()
    item = page.locator("li.appt", has_text="Booked for the colleague")
    expect(item).to_be_visible()
    expect(item.locator(".appt-host")).to_have_text("Host: Second Salesperson")
    expect(page.locator("#messages")).to_contain_text("(Second Salesperson)")
    settled(page)
    assert page.url.endswith(f"?week={monday.isoformat()}&host=all")
    assert Appointment.objects.get().host == colleague
    assert_accessible(page)


def test_a_salesperson_gets_no_host_choice(page_for, colleague, lead, day, monday, manager):
    theirs = book(manager, lead, at(day, 11), host=manager)
    own = book(colleague, lead, at(day, 9))
    page = page_for(colleague, width=390)
    page.goto(f"/appointments/week/?week={monday.isoformat()}&host=all")
    expect(page.locator(f"#appointment-{own.pk}")).to_be_visible()
    expect(page.locator(f"#appointment-{theirs.pk}")).to_have_count(0)
    expect(page.locator("form.appt-hosts")).to_have_count(0)
    expect(page.get_by_label("Host")).to_have_count(0)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_agenda_of_everyone(page_for, manager, colleague, lead, day, width):
    theirs = book(colleague, lead, at(day, 10), note="Demo by the second salesperson")
    page = page_for(manager, width=width)
    page.goto(f"/appointments/?from={day.isoformat()}")
    expect(page.locator(f"#appointment-{theirs.pk}")).to_have_count(0)
    form = page.locator("#agenda form.inline-form")
    form.get_by_label("Host").select_option(label="Everyone")
    form.get_by_role("button", name="Show").click()
    item = page.locator(f"#appointment-{theirs.pk}")
    expect(item.locator(".appt-host")).to_have_text("Host: Second Salesperson")
    settled(page)
    assert page.url.endswith(f"?from={day.isoformat()}&host=all")
    page.get_by_role("link", name="From today").click()
    expect(item).to_be_visible()  # still everyone's
    settled(page)
    expect(form.get_by_label("Host")).to_have_value("all")
    shoot(page, "team-calendar-agenda-everyone")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    assert_accessible(page)
