"""Notifications in a real browser, at desktop and phone widths: a salesperson has a page
open, a manager gives him a lead, and the header's bell says so without a reload; the list
leads him to the lead, and the bell goes back to none unread."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm.domain import Actor
from crm.roles import Role
from leads.services import lead_assign
from tests.browser.conftest import BROWSER_DB, SCREENSHOTS, assert_accessible, shoot
from tests.factories import LeadFactory, UserFactory

pytestmark = BROWSER_DB
WIDTHS = [1280, 390]


def bell(page: Page):
    return page.locator("header").get_by_role("link", name=re.compile(r"^Notifications"))


def refresh_the_bell(page: Page) -> None:
    """What the bell listens for besides its 30 s poll: the ``notifications-changed`` event."""
    page.evaluate("document.body.dispatchEvent(new CustomEvent('notifications-changed'))")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_lead_given_rings_the_bell_without_a_reload(page_for, users, width):
    seller = users["salesperson"]
    mia = UserFactory(
        username="mia", first_name="Mia", last_name="Manager", role=Role.SALES_MANAGER
    )
    lead = LeadFactory(by=mia, first_name="Jane", last_name="Roe")

    page = page_for(seller, width=width)
    page.goto("/")
    expect(bell(page)).to_have_accessible_name("Notifications: none unread")
    expect(page.locator(".bell-count")).to_have_count(0)

    lead_assign(actor=Actor(user=mia), lead=lead, people={"owner": seller})
    refresh_the_bell(page)
    expect(bell(page)).to_have_accessible_name("Notifications: 1 unread")
    expect(page.locator(".bell-count")).to_have_text("1")
    expect(bell(page)).to_be_in_viewport()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("header").screenshot(path=SCREENSHOTS / f"notifications-header-{width}.png")
    assert_accessible(page)

    bell(page).click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    item = page.get_by_role("link", name="Unread: Mia Manager gave you the lead Jane Roe.")
    expect(item).to_be_visible()
    expect(bell(page)).to_have_accessible_name("Notifications: 1 unread")
    shoot(page, "notifications-list")
    assert_accessible(page)

    item.click()
    expect(page).to_have_url(re.compile(rf"/leads/{lead.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jane Roe")
    expect(bell(page)).to_have_accessible_name("Notifications: none unread")

    page.goto("/notifications/")
    expect(page.get_by_role("link", name="Mia Manager gave you the lead Jane Roe.")).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator(".messages")).to_contain_text("No unread notifications.")
    shoot(page, "notifications-read")
    assert_accessible(page)


def test_mark_all_read_clears_the_bell(page_for, users):
    seller = users["salesperson"]
    for name in ("Ann", "Bo", "Cy"):
        LeadFactory(by=users["sales_manager"], owner=seller, first_name=name, last_name="Lee")
    page = page_for(seller, width=390)
    page.goto("/notifications/")
    expect(bell(page)).to_have_accessible_name("Notifications: 3 unread")
    expect(page.locator("li.notification-unread")).to_have_count(3)
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator(".messages")).to_contain_text("Marked 3 notifications read.")
    expect(page.locator("li.notification-unread")).to_have_count(0)
    expect(bell(page)).to_have_accessible_name("Notifications: none unread")
