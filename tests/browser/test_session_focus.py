"""Issue 14, items 1, 7 and 11 in a real browser, as the salesperson who found them:

1. an expired session (or a sign-out in another tab) sends the whole browser to the sign-in page
   with ``next`` the page the user was on, and the note typed before is back after signing in;
7. after sorting, paging, adding a note, a Move and a form sent with errors, the focus is on
   what changed (or the first field in error), and the bell's poll never takes it;
11. the message of an action replaces the one of the action before.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from leads.models import Lead, LeadNote
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, take_errors
from tests.factories import PASSWORD, LeadFactory

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]
# Where the layout does not change what a test checks, it runs at one width.
PHONE = [390]
NOTE_BOX = "#lead-notes form.lead-note-form textarea[name=note]"
KEPT_SAYS = "What you typed is back in the form: check it and send it again."


def shot(page: Page, name: str) -> None:
    shoot(page, f"session-focus-{name}")


def settled(page: Page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.wait_for_timeout(50)  # app.js moves the focus just after the settle


def focused(page: Page) -> str:
    """The focused element, as ``tag#id.name`` (``body`` when the focus was lost)."""
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                          + (e.name ? '.' + e.name : ''); }"""
    )


def take_422(page: Page) -> None:
    errors = take_errors(page)
    assert errors and all("status of 422" in error for error in errors), errors


def messages(page: Page) -> list[str]:
    return [
        text.replace("×", "").strip()
        for text in page.locator("#messages .message").all_inner_texts()
    ]


@pytest.fixture
def lead(users):
    salesperson = users["salesperson"]
    return LeadFactory(by=salesperson, owner=salesperson, first_name="Note", last_name="Taker")


def sign_in(page: Page, user) -> None:
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


# --- 1. expired session -----------------------------------------------------------------


@pytest.mark.parametrize("width", PHONE)
def test_a_note_typed_when_the_session_ended_is_back_after_signing_in(page_for, users, lead, width):
    salesperson = users["salesperson"]
    page = page_for(salesperson, width=width)
    lead_page = f"/leads/{lead.slug}/"
    page.goto(lead_page)
    typed = "Wants a quote for 40 seats.\nCall back on Monday."
    page.locator(NOTE_BOX).fill(typed)
    Session.objects.all().delete()  # the session expired, or was signed out in another tab

    page.get_by_role("button", name="Add note").click()
    # The whole browser goes to the sign-in page, not a sign-in form swapped into the card.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?"))
    assert parse_qs(urlsplit(page.url).query)["next"] == [lead_page]
    expect(page.get_by_role("heading", name="Sign in to Lead CRM")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("what you typed is kept")
    shot(page, "signed-out-sign-in")
    assert_accessible(page)
    assert not LeadNote.objects.filter(lead=lead).exists()

    sign_in(page, salesperson)
    expect(page).to_have_url(re.compile(re.escape(lead_page) + "$"))  # not .../notes/ (405)
    expect(page.locator(NOTE_BOX)).to_have_value(typed)
    expect(page.locator(NOTE_BOX)).to_be_focused()
    expect(page.locator("#messages .message-info")).to_contain_text(KEPT_SAYS)
    shot(page, "signed-out-note-kept")
    assert_accessible(page)

    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#lead-notes .note-text").first).to_contain_text(
        "Wants a quote for 40 seats."
    )
    assert LeadNote.objects.get(lead=lead).text.replace("\r\n", "\n") == typed
    # The kept-text message is stale now: gone.
    expect(page.locator("#messages")).not_to_contain_text(KEPT_SAYS)
    # Kept only once: another visit of the page puts nothing back.
    page.reload()
    expect(page.locator(NOTE_BOX)).to_have_value("")


def test_a_sign_out_and_in_in_another_tab_keeps_the_note_of_this_one(page_for, users, lead):
    salesperson = users["salesperson"]
    page = page_for(salesperson)
    lead_page = f"/leads/{lead.slug}/"
    page.goto(lead_page)
    page.locator(NOTE_BOX).fill("Typed before the other tab signed in again")

    other = page.context.new_page()  # the same browser: its cookies are this tab's
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    expect(other).to_have_url(re.compile("/accounts/login/"))
    sign_in(other, salesperson)
    expect(other.get_by_role("heading", name="Dashboard")).to_be_visible()

    # This tab's page holds the security token from before: the page loads again, text kept.
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#messages .message-info")).to_contain_text("The page was out of date")
    expect(page).to_have_url(re.compile(re.escape(lead_page) + "$"))
    expect(page.locator(NOTE_BOX)).to_have_value("Typed before the other tab signed in again")
    assert not LeadNote.objects.filter(lead=lead).exists()
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#lead-notes .note-text").first).to_contain_text("Typed before the other")
    assert LeadNote.objects.filter(lead=lead).count() == 1


def test_the_bell_poll_after_the_session_ended_keeps_the_user_on_the_page(page_for, users, lead):
    page = page_for(users["salesperson"])
    lead_page = f"/leads/{lead.slug}/"
    page.goto(lead_page)
    settled(page)
    page.locator(NOTE_BOX).fill("Half a thought")
    Session.objects.all().delete()
    with page.expect_response(re.compile(r"/notifications/\?bell=1")):
        page.evaluate("htmx.trigger(document.body, 'notifications-changed')")
    settled(page)
    # Not the user's own action: no navigation, a message with a way to sign in instead.
    expect(page).to_have_url(re.compile(re.escape(lead_page) + "$"))
    expect(page.locator(NOTE_BOX)).to_have_value("Half a thought")
    expect(page.locator(NOTE_BOX)).to_be_focused()
    alert = page.locator("#messages .message")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("You have been signed out.")
    link = alert.get_by_role("link", name="Sign in again")
    assert parse_qs(urlsplit(link.get_attribute("href")).query)["next"] == [lead_page]
    assert_accessible(page)


def test_a_plain_page_load_without_a_session_keeps_the_usual_redirect(page_for, users, lead):
    page = page_for(users["salesperson"])
    Session.objects.all().delete()
    page.goto(f"/leads/{lead.slug}/?x=1")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?"))
    assert parse_qs(urlsplit(page.url).query)["next"] == [f"/leads/{lead.slug}/?x=1"]


# --- 7. keyboard and focus --------------------------------------------------------------


@pytest.fixture
def many_leads(users):
    salesperson = users["salesperson"]
    return [
        LeadFactory(by=salesperson, owner=salesperson, first_name=first, last_name="Lead")
        for first in ["Ann", "Bob", "Cat", "Dan", "Eve"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_sorting_and_paging_put_the_focus_on_the_table(
    page_for, users, many_leads, settings, width
):
    settings.CRM = {**settings.CRM, "LEADS_PAGE_SIZE": 2}
    page = page_for(users["salesperson"], width=width)
    page.goto("/leads/")
    in_table = "document.activeElement.closest('#lead-table') !== null"

    page.locator("#lead-table thead").get_by_role("link", name="Name").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lead-table th[aria-sort='ascending']")).to_contain_text("Name")
    settled(page)
    assert focused(page) != "body"
    assert page.evaluate(in_table), focused(page)
    assert page.evaluate("document.activeElement.matches('#lead-table table, #lead-table')")

    page.get_by_role("link", name="Next →").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="← Previous")).to_be_visible()
    settled(page)
    assert page.evaluate("document.activeElement.matches('#lead-table table, #lead-table')"), (
        focused(page)
    )
    shot(page, "focus-leads-paged")
    assert_accessible(page)

    # Typing a search swaps the table too, but the focus stays in the search box.
    page.locator("#id_search").fill("Eve")
    expect(page.locator("#lead-table tbody tr[data-slug]")).to_have_count(1)
    settled(page)
    expect(page.locator("#id_search")).to_be_focused()


@pytest.mark.parametrize("width", PHONE)
def test_adding_a_note_focuses_the_notes_or_the_field_in_error(page_for, users, lead, width):
    page = page_for(users["salesperson"], width=width)
    page.goto(f"/leads/{lead.slug}/")
    page.get_by_role("button", name="Add note").click()  # empty: refused
    expect(page.locator(NOTE_BOX)).to_have_attribute("aria-invalid", "true")
    settled(page)
    take_422(page)
    expect(page.locator(NOTE_BOX)).to_be_focused()

    page.locator(NOTE_BOX).fill("Sent the brochure.")
    page.locator(NOTE_BOX).press("Tab")
    page.keyboard.press("Enter")  # the "Add note" button, from the keyboard
    expect(page.locator("#lead-notes .note-text").first).to_have_text("Sent the brochure.")
    settled(page)
    expect(page.locator("#lead-notes-title")).to_be_focused()
    shot(page, "focus-note-added")
    assert_accessible(page)

    # The bell's poll does not take the focus from what the user is typing.
    page.locator(NOTE_BOX).fill("Next one")
    with page.expect_response(re.compile(r"/notifications/\?bell=1")):
        page.evaluate("htmx.trigger(document.body, 'notifications-changed')")
    settled(page)
    expect(page.locator(NOTE_BOX)).to_be_focused()


@pytest.mark.parametrize("width", PHONE)
def test_an_inline_edit_error_focuses_the_first_field_in_error(page_for, users, lead, width):
    page = page_for(users["salesperson"], width=width)
    page.goto(f"/leads/{lead.slug}/")
    page.locator("#lead-details").get_by_role("link", name=re.compile("Edit")).click()
    email = page.locator("#lead-details #id_email")
    email.fill("not-an-email")
    page.locator("#lead-details #id_phone").fill("12ab")
    page.locator("#lead-details").get_by_role("button", name=re.compile("Save")).click()
    expect(email).to_have_attribute("aria-invalid", "true")
    settled(page)
    take_422(page)
    first_invalid = page.evaluate(
        "document.querySelector('#lead-details [aria-invalid=\"true\"]').id"
    )
    assert focused(page).startswith(f"input#{first_invalid}"), (focused(page), first_invalid)
    shot(page, "focus-inline-edit-error")
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_pipeline_move_keeps_the_focus_on_the_moved_card(page_for, users, lead, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/pipeline/")
    card = page.locator(f'.board-card[data-slug="{lead.slug}"]')
    card.locator("summary").click()
    card.get_by_role("button", name="Closed").click()
    expect(
        page.locator(f'.board-column[data-status="closed"] [data-slug="{lead.slug}"]')
    ).to_be_visible()
    settled(page)
    expect(page.locator(f'.board-card[data-slug="{lead.slug}"] a').first).to_be_focused()
    shot(page, "focus-pipeline-moved")
    assert Lead.objects.get(pk=lead.pk).status_id == "closed"


@pytest.mark.parametrize("width", WIDTHS)
def test_walking_the_weeks_and_the_agenda_focuses_what_is_shown(page_for, users, width):
    page = page_for(users["salesperson"], width=width)
    page.goto("/appointments/week/")
    before = page.locator("#week-title").inner_text()
    page.get_by_role("link", name="Next week").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#week-title")).not_to_have_text(before)
    settled(page)
    expect(page.locator("#week-title")).to_be_focused()
    assert_accessible(page)

    page.goto("/appointments/")
    page.get_by_role("link", name="Earlier").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="From today")).to_be_visible()
    settled(page)
    assert page.evaluate("document.activeElement.closest('#agenda') !== null"), focused(page)
    shot(page, "focus-agenda-earlier")
    assert_accessible(page)


# --- 11. messages -----------------------------------------------------------------------


@pytest.mark.parametrize("width", PHONE)
def test_a_new_message_replaces_the_one_before(page_for, users, lead, width):
    page = page_for(users["salesperson"], width=width)
    page.goto(f"/leads/{lead.slug}/")
    status = page.locator("#lead-controls").get_by_label("Status")
    change = page.get_by_role("button", name="Change status")

    status.select_option(label="Contact")
    change.click()
    expect(page.locator("#messages .message")).to_have_text(
        [re.compile("Status changed to Contact")]
    )
    settled(page)
    status.select_option(label="Potential")
    change.click()
    expect(page.locator("#messages .message")).to_have_text(
        [re.compile("Status changed to Potential")]
    )
    settled(page)
    shot(page, "messages-latest-only")
    assert_accessible(page)

    # An action without a message of its own (a note refused, its error at the field) clears
    # the stale one; the next action's message is the only one.
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(NOTE_BOX)).to_have_attribute("aria-invalid", "true")
    settled(page)
    take_422(page)
    expect(page.locator("#messages .message")).to_have_count(0)
    page.locator(NOTE_BOX).fill("Sent the price list")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#lead-notes .note-text").first).to_have_text("Sent the price list")
    expect(page.locator("#messages .message")).to_have_text(["Note added. ×"])

    # An error the script shows replaces the success before it, too.
    page.locator("#lead-controls").get_by_label("Status").select_option(label="Tentative")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#messages .message")).to_have_text(
        [re.compile("Status changed to Tentative")]
    )
    settled(page)
    Lead.objects.filter(pk=lead.pk).update(owner=users["sales_manager"])  # no longer the user's
    page.locator("#lead-controls").get_by_label("Status").select_option(label="Contact")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#messages .message-error")).to_be_visible()
    take_errors(page)  # chromium logs the refusal (404) as a console error
    assert len(messages(page)) == 1, messages(page)
