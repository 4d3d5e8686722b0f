"""Tasks in a real browser, as a salesperson and as a sales manager, at desktop and phone
widths: a task added on the lead page in place, an overdue one marked, one snoozed to
tomorrow, and My day on the dashboard, where a task is marked done in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.domain import Actor
from leads.models import Task
from leads.services import task_create
from tests.browser.conftest import BROWSER_DB, assert_accessible, fill_when, settled, shoot
from tests.factories import LeadFactory

pytestmark = BROWSER_DB
WIDTHS = [1280, 390]


def task_item(page: Page, title: str):
    return page.locator("li.task").filter(has_text=title)


@pytest.mark.parametrize("role", ["salesperson", "sales_manager"])
@pytest.mark.parametrize("width", WIDTHS)
def test_work_the_day_with_tasks(page_for, users, role, width):
    user = users[role]
    lead = LeadFactory(
        by=users["sales_manager"], owner=users["salesperson"], first_name="Ada", last_name="Lee"
    )
    now = timezone.localtime()
    me = Actor(user=user)
    task_create(actor=me, title="Call back", due=now - timedelta(days=1), lead=lead)
    task_create(actor=me, title="Send the brochure", due=now + timedelta(minutes=5), lead=lead)

    page = page_for(user, width=width)
    page.goto(f"/leads/{lead.slug}/")
    expect(task_item(page, "Call back").locator(".badge-overdue")).to_have_text("Overdue")
    expect(task_item(page, "Send the brochure").locator(".badge-overdue")).to_have_count(0)

    # Add a task due later today, in place.
    due = min(now + timedelta(minutes=30), now.replace(hour=23, minute=59))
    page.get_by_label("Task").fill("Send the quote")
    fill_when(page, "Due", f"{due:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Add task").click()
    expect(task_item(page, "Send the quote")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Task added: Send the quote.")
    settled(page)
    added = Task.objects.get(title="Send the quote")
    assert (added.lead_id, added.assignee_id) == (lead.pk, user.pk)
    assert_accessible(page)

    # Snooze the brochure to tomorrow, at its own time of day.
    brochure = task_item(page, "Send the brochure")
    brochure.get_by_role("button", name="Snooze").click()
    expect(brochure.get_by_role("button", name="Snooze")).to_have_attribute("aria-expanded", "true")
    expect(brochure.get_by_role("button", name="Tomorrow")).to_be_focused()
    assert_accessible(page)
    brochure.get_by_role("button", name="Tomorrow").click()
    tomorrow = (now + timedelta(days=1)).strftime("%b %-d, %Y")
    expect(task_item(page, "Send the brochure")).to_contain_text(f"Due {tomorrow}")
    settled(page)
    shoot(page, f"tasks-lead-{role}")

    # My day: the overdue task and today's, not the snoozed one; Done takes a task off.
    page.goto("/")
    day = page.locator("#my-day")
    expect(day.locator("li.task")).to_have_count(2)
    expect(task_item(page, "Call back").locator(".badge-overdue")).to_have_text("Overdue")
    expect(task_item(page, "Send the quote")).to_contain_text("Ada Lee")
    expect(day).not_to_contain_text("Send the brochure")
    assert_accessible(page)
    shoot(page, f"tasks-my-day-{role}")
    task_item(page, "Send the quote").get_by_role("button", name="Done").click()
    expect(task_item(page, "Send the quote")).to_have_count(0)
    expect(day.locator("li.task")).to_have_count(1)
    settled(page)
    added.refresh_from_db()
    assert added.done_at is not None


@pytest.mark.parametrize("width", WIDTHS)
def test_a_manager_reassigns_a_task_on_the_lead_page(page_for, users, width):
    manager, salesperson = users["sales_manager"], users["salesperson"]
    lead = LeadFactory(by=manager, owner=salesperson, first_name="Ada", last_name="Lee")
    task = task_create(
        actor=Actor(user=salesperson), title="Call back", due=timezone.now(), lead=lead
    )
    page = page_for(manager, width=width)
    page.goto(f"/leads/{lead.slug}/")
    item = task_item(page, "Call back")
    item.get_by_text("Reassign").click()
    item.get_by_label("Give to").select_option(label=str(manager))
    assert_accessible(page)
    shoot(page, "tasks-reassign")
    item.get_by_role("button", name="Give", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"Task Call back given to {manager}.")
    expect(task_item(page, "Call back")).to_contain_text(str(manager))
    settled(page)
    task.refresh_from_db()
    assert task.assignee_id == manager.pk
